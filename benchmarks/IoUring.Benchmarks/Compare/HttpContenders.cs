using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace IoUring.Benchmarks.Compare;

/// <summary>
/// The <c>http</c> scenario: a plaintext HTTP/1.1 server from <c>samples/</c> runs in a child process and wrk loads
/// it over loopback. Throughput and p99 latency come from wrk; CPU time, context switches and allocations per request
/// are the server process's own, read in a window inside the measured wrk run (after every connection is open and
/// before any closes), so they describe the steady state and leave out the runner, wrk and connection setup.
/// </summary>
internal static partial class HttpContenders
{
    public const string SocketsIoUring = "sockets-iouring";
    public const string SocketsIoUringInline = "sockets-iouring-inline";
    public const string SocketsDotnet = "sockets-dotnet";
    public const string KestrelIoUring = "kestrel-iouring";
    public const string KestrelDotnet = "kestrel-dotnet";

    /// <summary>
    /// Kestrel's socket transport with inline socket completions (<c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1</c>
    /// in the server's environment): epoll completions run on the socket engine's thread instead of being queued to
    /// the thread pool, the setting TechEmpower's .NET entries use.
    /// </summary>
    public const string KestrelDotnetInline = "kestrel-dotnet-inline";

    /// <summary>
    /// <c>UseIoUring()</c> with one engine (<c>IoUringTransportOptions.EngineCount = 1</c>): an A/B of the default's one
    /// engine per core; only when named in --contenders.
    /// </summary>
    public const string KestrelIoUringOneEngine = "kestrel-iouring-1engine";

    public static readonly string[] All = [SocketsIoUring, SocketsIoUringInline, SocketsDotnet, KestrelIoUring, KestrelDotnet, KestrelDotnetInline];

    /// <summary>Contenders run only when named in --contenders.</summary>
    public static readonly string[] OptIn = [KestrelIoUringOneEngine];

    /// <summary>The Kestrel contenders: they also get the pipelined and the many-connection rows by default.</summary>
    public static bool IsKestrel(string contender) => contender.StartsWith("kestrel-", StringComparison.Ordinal);

    /// <summary>The sample, its arguments and extra environment for a contender.</summary>
    public static HttpServer ServerOf(string contender) => contender switch
    {
        SocketsIoUring => new("HttpPlaintext", ["--transport", "iouring"]),
        // The handler never blocks, so it may run on the engine's loop thread: no hand-off to the thread pool.
        SocketsIoUringInline => new("HttpPlaintext", ["--transport", "iouring", "--continuations", "inline"]),
        SocketsDotnet => new("HttpPlaintext", ["--transport", "dotnet"]),
        KestrelIoUring => new("AspNetCorePlaintext", ["--transport", "iouring"]),
        KestrelIoUringOneEngine => new("AspNetCorePlaintext", ["--transport", "iouring", "--engines", "1"]),
        KestrelDotnet => new("AspNetCorePlaintext", ["--transport", "dotnet"]),
        KestrelDotnetInline => new("AspNetCorePlaintext", ["--transport", "dotnet"]) { Environment = new Dictionary<string, string> { ["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"] = "1" } },
        _ => throw new ArgumentException($"unknown http contender {contender}"),
    };

    /// <summary>
    /// The sample's built dll: <c>samples/NAME/</c> plus the runner's own output suffix (<c>bin/Release/net10.0</c>),
    /// built before the runner through a project reference; null when it is not there.
    /// </summary>
    public static string? SampleDll(string sample)
    {
        string? root = NativeTwin.RepoRoot();
        if (root is null)
        {
            return null;
        }

        string suffix = Path.GetRelativePath(Path.Combine(root, "benchmarks", "IoUring.Benchmarks"), AppContext.BaseDirectory);
        string dll = Path.Combine(root, "samples", sample, suffix, sample + ".dll");
        return File.Exists(dll) ? dll : null;
    }

    /// <summary>Whether the ASP.NET Core shared framework is installed beside the running runtime.</summary>
    public static bool AspNetCoreInstalled()
    {
        // .../dotnet/shared/Microsoft.NETCore.App/<version>/ -> .../dotnet/shared/Microsoft.AspNetCore.App/
        string shared = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", ".."));
        string dir = Path.Combine(shared, "Microsoft.AspNetCore.App");
        return Directory.Exists(dir) && Directory.EnumerateDirectories(dir, Environment.Version.Major + ".*").Any();
    }

    public static RunResult Run(RunSpec spec, Wrk wrk, HttpOptions http, TextWriter log)
    {
        HttpServer s = ServerOf(spec.Contender);
        string dll = SampleDll(s.Sample) ?? throw new InvalidOperationException($"samples/{s.Sample} is not built (build benchmarks/IoUring.Benchmarks, which builds it)");
        string[] extra = s.Sample == "HttpPlaintext" ? ["--pool", http.ServerPool] : [];
        using var server = ServerProcess.Start(dll, [.. s.Args, .. extra], s.Environment);
        string url = $"http://127.0.0.1:{server.Port}/plaintext";

        // Warm-up: JIT and tiering of the server's request path, its thread pool grown to the load; not measured.
        _ = wrk.Run(url, http, http.WarmupSeconds);

        int seconds = http.Seconds;
        // The window opens once wrk has had time to connect and closes before it stops.
        double margin = Math.Min(1.0, seconds * 0.2);
        var measured = Task.Run(() => wrk.Run(url, http, seconds));
        Thread.Sleep(TimeSpan.FromSeconds(margin));
        ServerSample begin = server.Sample();
        Thread.Sleep(TimeSpan.FromSeconds(seconds - (2 * margin)));
        ServerSample end = server.Sample();
        WrkResult w = measured.GetAwaiter().GetResult();
        if (w.Requests == 0)
        {
            // Intermittent stalls must leave evidence: whether the server answers now, its queues, threads and meter.
            throw new InvalidOperationException($"wrk completed no request: {w.Summary}{(w.SocketErrors > 0 ? $" (socket errors: {w.SocketErrorsText})" : string.Empty)}{Environment.NewLine}{ServerDiagnosis.Gather(server)}");
        }

        if (w.Non2xx > 0)
        {
            throw new InvalidOperationException($"{w.Non2xx} non-2xx responses: {w.Summary}");
        }

        if (w.SocketErrors > 0)
        {
            log.WriteLine($"warning: {spec.Contender}: wrk reported socket errors: {w.SocketErrorsText}");
        }

        long serverOps = end.Requests - begin.Requests;
        return new RunResult
        {
            Ops = w.Requests,
            ElapsedSeconds = w.Seconds,
            ServerOps = serverOps,
            CpuMicroseconds = (end.ProcCpuTicks - begin.ProcCpuTicks) * 1_000_000 / ServerProcess.ClockTicksPerSecond,
            UserMicroseconds = (end.ProcUserTicks - begin.ProcUserTicks) * 1_000_000 / ServerProcess.ClockTicksPerSecond,
            VoluntarySwitches = end.VoluntarySwitches - begin.VoluntarySwitches,
            InvoluntarySwitches = end.InvoluntarySwitches - begin.InvoluntarySwitches,
            AllocatedBytes = end.Allocated - begin.Allocated,
            Threads = server.Threads(),
            P99Milliseconds = w.P99Milliseconds,
        };
    }
}

/// <summary>A contender's server: a sample, its arguments, and variables added to its environment.</summary>
internal sealed record HttpServer(string Sample, string[] Args)
{
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();
}

/// <summary>Settings of the http scenario (one load shape: connections and pipelining depth).</summary>
internal sealed record HttpOptions(int Connections, int WrkThreads, int Pipeline, int Seconds, int WarmupSeconds, string ServerPool = "default");

/// <summary>One reading of the server's counters.</summary>
internal readonly record struct ServerSample(long Requests, long Allocated, long VoluntarySwitches, long InvoluntarySwitches, long ProcCpuTicks, long ProcUserTicks);

/// <summary>A sample server in a child process, driven over its <c>--control stdin</c> channel.</summary>
internal sealed partial class ServerProcess : IDisposable
{
    /// <summary>USER_HZ, the unit of utime and stime in /proc/PID/stat (100 on every mainstream Linux build).</summary>
    public const long ClockTicksPerSecond = 100;

    private readonly Process _process;

    private ServerProcess(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The server's process id.</summary>
    public int Pid => _process.Id;

    public static ServerProcess Start(string dll, string[] args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach ((string name, string value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[name] = value;
        }

        foreach (string a in new[] { dll, "--port", "0", "--control", "stdin" }.Concat(args))
        {
            psi.ArgumentList.Add(a);
        }

        Process p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {dll}");
        var stderr = new System.Text.StringBuilder();
        p.ErrorDataReceived += (_, e) => { lock (stderr) { stderr.AppendLine(e.Data); } };
        p.BeginErrorReadLine();
        Task<string?> first = ReadListeningLine(p);
        if (!first.Wait(TimeSpan.FromSeconds(60)) || first.Result is not string line)
        {
            Kill(p);
            string err;
            lock (stderr)
            {
                err = stderr.ToString().Trim();
            }

            throw new InvalidOperationException($"{Path.GetFileName(dll)} {string.Join(' ', args)} did not start: {(err.Length > 0 ? err.ReplaceLineEndings(" ") : "no output")}");
        }

        Match m = ListeningRegex().Match(line);
        return new ServerProcess(p, int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
    }

    private static async Task<string?> ReadListeningLine(Process p)
    {
        string? line;
        while ((line = await p.StandardOutput.ReadLineAsync()) is not null)
        {
            if (ListeningRegex().IsMatch(line))
            {
                return line;
            }
        }

        return null;
    }

    /// <summary>The server's counters now: its own (requests, allocations, context switches) and its /proc CPU time.</summary>
    public ServerSample Sample()
    {
        (long user, long system) = ProcCpu(_process.Id);
        Match m = StatsRegex().Match(Ask("stats", static line => StatsRegex().IsMatch(line), TimeSpan.FromSeconds(30)));
        long G(int i) => long.Parse(m.Groups[i].Value, CultureInfo.InvariantCulture);
        return new ServerSample(G(1), G(2), G(4), G(5), user + system, user);
    }

    /// <summary>The server's answer to <c>diag</c>: its <c>IoUring</c> meter's observable instruments now.</summary>
    public string Diagnostics() => Ask("diag", static line => line.StartsWith("diag", StringComparison.Ordinal), TimeSpan.FromSeconds(10));

    /// <summary>
    /// Sends <paramref name="command"/> on the control channel and returns the first line <paramref name="isAnswer"/>
    /// accepts, skipping anything else the server printed (a log line); throws when none comes within <paramref name="patience"/>.
    /// </summary>
    private string Ask(string command, Func<string, bool> isAnswer, TimeSpan patience)
    {
        _process.StandardInput.WriteLine(command);
        _process.StandardInput.Flush();
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < patience)
        {
            Task<string?> read = _process.StandardOutput.ReadLineAsync();
            if (!read.Wait(patience) || read.Result is not string line)
            {
                break;
            }

            if (isAnswer(line))
            {
                return line;
            }
        }

        throw new TimeoutException($"the server did not answer '{command}'");
    }

    /// <summary>Threads of the server process now.</summary>
    public int Threads()
    {
        try
        {
            return Directory.GetDirectories($"/proc/{_process.Id}/task").Length;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>utime and stime (fields 14 and 15) of /proc/PID/stat, in clock ticks, all threads included.</summary>
    public static (long User, long System) ProcCpu(int pid)
    {
        ProcStat stat = ProcStat.Read($"/proc/{pid}/stat");
        return (stat.User, stat.System);
    }

    public void Dispose()
    {
        try
        {
            // End of input stops the server cleanly.
            _process.StandardInput.Close();
            if (!_process.WaitForExit(TimeSpan.FromSeconds(15)))
            {
                Kill(_process);
            }
        }
        finally
        {
            _process.Dispose();
        }
    }

    private static void Kill(Process p)
    {
        try
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit(TimeSpan.FromSeconds(10));
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    /// <summary>The <c>dotnet</c> host running the runner.</summary>
    private static string DotnetHost()
    {
        string? fromEnv = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(fromEnv) && File.Exists(fromEnv))
        {
            return fromEnv;
        }

        string candidate = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", "..", "dotnet"));
        return File.Exists(candidate) ? candidate : "dotnet";
    }

    [GeneratedRegex(@"^listening on http://[^\s]*:(\d+)")]
    private static partial Regex ListeningRegex();

    [GeneratedRegex(@"^stats requests=(\d+) allocated=(\d+) cpu_us=(\d+) vcsw=(\d+) ivcsw=(\d+)")]
    private static partial Regex StatsRegex();
}

/// <summary>The fields of a <c>/proc/PID/stat</c> (or <c>/proc/PID/task/TID/stat</c>) line the runner reads.</summary>
internal readonly record struct ProcStat(string Name, char State, long User, long System)
{
    public static ProcStat Read(string path)
    {
        string stat = File.ReadAllText(path);
        // The command name (field 2) is in parentheses and may hold spaces and parentheses: fields resume after the last ')'.
        int close = stat.LastIndexOf(')');
        string name = stat[(stat.IndexOf('(', StringComparison.Ordinal) + 1)..close];
        string[] f = stat[(close + 2)..].Split(' ');
        // f[0] is field 3 (state), so field N is f[N - 3]: utime is field 14, stime 15 (clock ticks).
        return new ProcStat(name, f[0][0], long.Parse(f[11], CultureInfo.InvariantCulture), long.Parse(f[12], CultureInfo.InvariantCulture));
    }
}

/// <summary>What wrk reported for one run.</summary>
internal sealed record WrkResult(long Requests, double Seconds, double RequestsPerSecond, double P99Milliseconds, long SocketErrors, string SocketErrorsText, long Non2xx, string Summary);

/// <summary>The wrk HTTP load generator (apt package <c>wrk</c>, installed by native/install-deps.sh).</summary>
internal sealed partial class Wrk
{
    private Wrk(string? binary, string? version)
    {
        Binary = binary;
        Version = version;
    }

    public string? Binary { get; }

    public string? Version { get; }

    public static Wrk Find()
    {
        string? binary = Exec.Which("wrk");
        if (binary is null)
        {
            return new Wrk(null, null);
        }

        string? version = null;
        try
        {
            // wrk has no --version; its usage text starts with the version line.
            (_, string stdout, string stderr) = Exec.Run(binary, ["-v"], TimeSpan.FromSeconds(10));
            Match m = VersionRegex().Match(stdout + stderr);
            version = m.Success ? "wrk " + m.Groups[1].Value : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
        }

        return new Wrk(binary, version);
    }

    public WrkResult Run(string url, HttpOptions o, int seconds)
    {
        var args = new List<string>
        {
            "-t", o.WrkThreads.ToString(CultureInfo.InvariantCulture),
            "-c", o.Connections.ToString(CultureInfo.InvariantCulture),
            "-d", seconds.ToString(CultureInfo.InvariantCulture) + "s",
            "--latency",
        };
        string? script = null;
        if (o.Pipeline > 1)
        {
            // wrk pipelines through a Lua script that sends several requests per write, as TechEmpower's plaintext
            // test does (depth 16): the script is written here, not downloaded. wrk counts one response per request
            // (its response parser runs once per response), so requests/s counts every pipelined request.
            script = Path.Combine(Path.GetTempPath(), $"wrk-pipeline-{Environment.ProcessId}.lua");
            File.WriteAllText(script, string.Create(CultureInfo.InvariantCulture, $$"""
                init = function(args)
                  local r = {}
                  for i = 1, {{o.Pipeline}} do r[i] = wrk.format(nil) end
                  req = table.concat(r)
                end
                request = function() return req end
                """));
            args.Add("-s");
            args.Add(script);
        }

        args.Add(url);
        try
        {
            (int rc, string stdout, string stderr) = Exec.Run(Binary!, args, TimeSpan.FromSeconds(seconds + 60));
            if (rc != 0)
            {
                throw new InvalidOperationException($"wrk exited with {rc}: {(stderr + stdout).Trim().ReplaceLineEndings(" ")}");
            }

            return Parse(stdout);
        }
        finally
        {
            if (script is not null)
            {
                File.Delete(script);
            }
        }
    }

    /// <summary>Reads wrk's <c>--latency</c> report.</summary>
    public static WrkResult Parse(string output)
    {
        Match total = TotalRegex().Match(output);
        Match rps = RpsRegex().Match(output);
        Match p99 = P99Regex().Match(output);
        if (!total.Success || !rps.Success || !p99.Success)
        {
            throw new InvalidOperationException($"unexpected wrk output: {output.Trim().ReplaceLineEndings(" ")}");
        }

        Match errors = SocketErrorsRegex().Match(output);
        long socketErrors = 0;
        if (errors.Success)
        {
            for (int g = 1; g <= 4; g++)
            {
                socketErrors += long.Parse(errors.Groups[g].Value, CultureInfo.InvariantCulture);
            }
        }

        Match non2xx = Non2xxRegex().Match(output);
        return new WrkResult(
            long.Parse(total.Groups[1].Value, CultureInfo.InvariantCulture),
            Seconds(total.Groups[2].Value, total.Groups[3].Value),
            double.Parse(rps.Groups[1].Value, CultureInfo.InvariantCulture),
            Seconds(p99.Groups[1].Value, p99.Groups[2].Value) * 1000,
            socketErrors,
            errors.Success ? errors.Value.Trim() : string.Empty,
            non2xx.Success ? long.Parse(non2xx.Groups[1].Value, CultureInfo.InvariantCulture) : 0,
            total.Value.Trim());
    }

    private static double Seconds(string value, string unit)
    {
        double v = double.Parse(value, CultureInfo.InvariantCulture);
        return unit switch
        {
            "us" => v / 1e6,
            "ms" => v / 1e3,
            "s" => v,
            "m" => v * 60,
            "h" => v * 3600,
            _ => throw new InvalidOperationException($"unknown wrk time unit '{unit}'"),
        };
    }

    [GeneratedRegex(@"wrk\s+(\S+)")]
    private static partial Regex VersionRegex();

    [GeneratedRegex(@"(\d+) requests in ([\d.]+)(us|ms|s|m|h)")]
    private static partial Regex TotalRegex();

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex RpsRegex();

    [GeneratedRegex(@"^\s*99(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", RegexOptions.Multiline)]
    private static partial Regex P99Regex();

    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex SocketErrorsRegex();

    [GeneratedRegex(@"Non-2xx or 3xx responses: (\d+)")]
    private static partial Regex Non2xxRegex();
}
