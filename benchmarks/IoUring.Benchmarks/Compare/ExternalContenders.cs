using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace IoUring.Benchmarks.Compare;

/// <summary>Runs a helper program and returns its standard output, or throws with its standard error.</summary>
internal static class Exec
{
    public static (int ExitCode, string Stdout, string Stderr) Run(string file, IEnumerable<string> args, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using Process p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            throw new TimeoutException($"{file} did not finish within {timeout.TotalSeconds:F0} s");
        }

        return (p.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }

    /// <summary>The full path of <paramref name="name"/> on PATH, or null.</summary>
    public static string? Which(string name)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}

/// <summary>
/// The C twin, <c>native/bench_liburing.c</c>: built with gcc and liburing into <c>native/build/</c> by the runner.
/// When it cannot be built, <see cref="Unavailable"/> says why and its rows are left out.
/// </summary>
internal sealed class NativeTwin
{
    private NativeTwin(string? binary, string? unavailable, string? version)
    {
        Binary = binary;
        Unavailable = unavailable;
        Version = version;
    }

    public string? Binary { get; }

    public string? Unavailable { get; }

    public string? Version { get; }

    public static NativeTwin Build(TextWriter log)
    {
        string? root = RepoRoot();
        if (root is null)
        {
            return new NativeTwin(null, "native/bench_liburing.c was not found above the runner's directory (run from the repository)", null);
        }

        string source = Path.Combine(root, "native", "bench_liburing.c");
        string outDir = Path.Combine(root, "native", "build");
        string binary = Path.Combine(outDir, "bench_liburing");
        string? gcc = Exec.Which("gcc") ?? Exec.Which("cc");
        if (gcc is null)
        {
            return new NativeTwin(null, "gcc is not installed (run native/install-deps.sh)", null);
        }

        if (!File.Exists("/usr/include/liburing.h") && !File.Exists("/usr/local/include/liburing.h"))
        {
            return new NativeTwin(null, "liburing-dev is not installed: liburing.h is missing (run native/install-deps.sh)", null);
        }

        string? version = LiburingVersion();
        if (File.Exists(binary) && File.GetLastWriteTimeUtc(binary) >= File.GetLastWriteTimeUtc(source))
        {
            return new NativeTwin(binary, null, version);
        }

        Directory.CreateDirectory(outDir);
        (int rc, _, string err) = Exec.Run(gcc, ["-O2", "-Wall", "-Wextra", "-o", binary, source, "-luring"], TimeSpan.FromMinutes(2));
        if (rc != 0)
        {
            string first = err.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? $"exit code {rc}";
            return new NativeTwin(null, $"gcc failed to build native/bench_liburing.c: {first}", version);
        }

        log.WriteLine($"built {Path.GetRelativePath(root, binary)} with {gcc} -O2 -luring");
        return new NativeTwin(binary, null, version);
    }

    public RunResult Run(RunSpec spec, bool registered)
    {
        var args = new List<string>
        {
            "--scenario", spec.Scenario,
            "--qd", spec.Qd.ToString(CultureInfo.InvariantCulture),
            "--seconds", spec.Seconds.ToString("R", CultureInfo.InvariantCulture),
            "--warmup", spec.Warmup.ToString("R", CultureInfo.InvariantCulture),
            "--evict-every", spec.EvictEvery.ToString(CultureInfo.InvariantCulture),
            "--seed", spec.Seed.ToString(CultureInfo.InvariantCulture),
        };
        if (spec.File is DataFile f)
        {
            args.Add("--file");
            args.Add(f.Path);
        }

        if (registered)
        {
            args.Add("--registered");
        }

        (int rc, string stdout, string stderr) = Exec.Run(Binary!, args, TimeSpan.FromSeconds(spec.Seconds + spec.Warmup + 60));
        if (rc != 0)
        {
            throw new InvalidOperationException($"bench_liburing exited with {rc}: {stderr.Trim()}");
        }

        using JsonDocument doc = JsonDocument.Parse(stdout);
        JsonElement r = doc.RootElement;
        long misses = r.GetProperty("misses").GetInt64();
        return new RunResult
        {
            Ops = r.GetProperty("ops").GetInt64(),
            ElapsedSeconds = r.GetProperty("elapsed_ns").GetInt64() / 1e9,
            CpuMicroseconds = r.GetProperty("utime_us").GetInt64() + r.GetProperty("stime_us").GetInt64(),
            UserMicroseconds = r.GetProperty("utime_us").GetInt64(),
            VoluntarySwitches = r.GetProperty("nvcsw").GetInt64(),
            InvoluntarySwitches = r.GetProperty("nivcsw").GetInt64(),
            Syscalls = r.GetProperty("enters").GetInt64(),
            AllocatedBytes = 0, // no allocation in the C loop, by construction
            Misses = misses >= 0 ? misses : null,
            Threads = r.GetProperty("threads").GetInt32(),
        };
    }

    private static string? LiburingVersion()
    {
        try
        {
            (int rc, string stdout, _) = Exec.Run("dpkg-query", ["-W", "-f=${Version}", "liburing-dev"], TimeSpan.FromSeconds(10));
            return rc == 0 && stdout.Length > 0 ? stdout.Trim() : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    internal static string? RepoRoot()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "native", "bench_liburing.c")))
            {
                return d.FullName;
            }
        }

        for (DirectoryInfo? d = new(Environment.CurrentDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "native", "bench_liburing.c")))
            {
                return d.FullName;
            }
        }

        return null;
    }
}

/// <summary>
/// fio, when installed: <c>ioengine=io_uring</c> (one job, iodepth QD, batched submit and reap) and
/// <c>ioengine=psync</c> (QD jobs as threads, each blocking on pread). Its CPU time, context switches and runtime
/// come from fio's own JSON report; hot runs use <c>invalidate=0</c>, cold runs <c>invalidate=1</c> and no ramp.
/// </summary>
internal sealed class Fio
{
    private Fio(string? binary, string? version)
    {
        Binary = binary;
        Version = version;
    }

    public string? Binary { get; }

    public string? Version { get; }

    public static Fio Find()
    {
        string? fio = Exec.Which("fio");
        if (fio is null)
        {
            return new Fio(null, null);
        }

        (int rc, string stdout, _) = Exec.Run(fio, ["--version"], TimeSpan.FromSeconds(10));
        return new Fio(fio, rc == 0 ? stdout.Trim() : "fio");
    }

    public RunResult Run(RunSpec spec, bool uring)
    {
        DataFile file = spec.File!;
        int ms = (int)Math.Max(1, Math.Round(spec.Seconds * 1000));
        int rampMs = spec.IsCold ? 0 : (int)Math.Round(spec.Warmup * 1000);
        var args = new List<string>
        {
            "--name=bench", $"--filename={file.Path}", "--rw=randread", "--bs=4k", "--direct=0",
            $"--size={file.Size}", "--norandommap", "--randrepeat=0", "--thread", "--time_based",
            $"--runtime={ms}ms", "--output-format=json", $"--randseed={spec.Seed}",
            spec.IsCold ? "--invalidate=1" : "--invalidate=0", "--fadvise_hint=1",
        };
        if (rampMs > 0)
        {
            args.Add($"--ramp_time={rampMs}ms");
        }

        if (uring)
        {
            args.AddRange(["--ioengine=io_uring", $"--iodepth={spec.Qd}", $"--iodepth_batch_submit={spec.Qd}",
                $"--iodepth_batch_complete_min=1", $"--iodepth_batch_complete_max={spec.Qd}"]);
        }
        else
        {
            args.AddRange(["--ioengine=psync", "--iodepth=1", $"--numjobs={spec.Qd}"]);
        }

        if (spec.IsCold)
        {
            file.Evict();
        }

        long residentBefore = file.Resident();
        (int rc, string stdout, string stderr) = Exec.Run(Binary!, args, TimeSpan.FromSeconds(spec.Seconds + spec.Warmup + 60));
        long residentAfter = file.Resident();
        if (rc != 0)
        {
            throw new InvalidOperationException($"fio exited with {rc}: {stderr.Trim()}");
        }

        // fio may print warnings before the JSON object.
        int start = stdout.IndexOf('{', StringComparison.Ordinal);
        using JsonDocument doc = JsonDocument.Parse(stdout[start..]);
        long ops = 0, ctx = 0;
        double cpuUs = 0, runtimeMs = 0;
        int jobs = 0;
        foreach (JsonElement job in doc.RootElement.GetProperty("jobs").EnumerateArray())
        {
            jobs++;
            JsonElement read = job.GetProperty("read");
            ops += read.GetProperty("total_ios").GetInt64();
            double jobMs = read.GetProperty("runtime").GetDouble();
            runtimeMs = Math.Max(runtimeMs, jobMs);
            cpuUs += (job.GetProperty("usr_cpu").GetDouble() + job.GetProperty("sys_cpu").GetDouble()) / 100.0 * jobMs * 1000.0;
            ctx += job.GetProperty("ctx").GetInt64();
        }

        return new RunResult
        {
            Ops = ops,
            ElapsedSeconds = runtimeMs / 1000.0,
            CpuMicroseconds = (long)cpuUs,
            VoluntarySwitches = ctx, // fio reports voluntary + involuntary as one figure
            InvoluntarySwitches = 0,
            Syscalls = uring ? null : ops, // psync: one pread per read by construction; io_uring: fio does not count its enters
            AllocatedBytes = null,
            Misses = spec.IsCold && residentAfter >= 0 ? residentAfter - Math.Max(0, residentBefore) : null,
            Threads = uring ? 1 : jobs,
        };
    }
}
