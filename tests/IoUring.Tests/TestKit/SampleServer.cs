using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace IoUring.Tests;

/// <summary>
/// A sample server from <c>samples/</c> run as a child process with <c>--port 0 --control stdin</c>: started, its
/// port read from its <c>listening on</c> line, and stopped by closing its standard input (a clean shutdown that
/// <see cref="StopAsync"/> asserts).
/// </summary>
internal sealed partial class SampleServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stderr;

    private SampleServer(Process process, int port, StringBuilder stderr)
    {
        _process = process;
        Port = port;
        _stderr = stderr;
    }

    public int Port { get; }

    /// <summary>What the server wrote to standard error so far (its log lines).</summary>
    public string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");

    /// <summary>
    /// The sample's dll: <c>samples/NAME/</c> plus this test assembly's own output suffix (<c>bin/Release/net10.0</c>).
    /// The test project references the samples only to build them first.
    /// </summary>
    public static string Dll(string sample)
    {
        string root = NativeTools.RepoRoot;
        string suffix = Path.GetRelativePath(Path.Combine(root, "tests", "IoUring.Tests"), AppContext.BaseDirectory);
        string dll = Path.Combine(root, "samples", sample, suffix, sample + ".dll");
        Assert.True(File.Exists(dll), $"samples/{sample} is not built at {dll}");
        return dll;
    }

    /// <summary>Whether the ASP.NET Core shared framework of this runtime's major version is installed.</summary>
    public static bool AspNetCoreInstalled()
    {
        string dir = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", "Microsoft.AspNetCore.App"));
        return Directory.Exists(dir) && Directory.EnumerateDirectories(dir, Environment.Version.Major + ".*").Any();
    }

    public static Task<SampleServer> StartAsync(string sample, params string[] args) => StartAsync(sample, args, new SampleLaunch());

    /// <summary>Starts the sample through <see cref="SampleLaunch.Launcher"/> (for example native/seccomp_deny) and with extra environment.</summary>
    public static async Task<SampleServer> StartAsync(string sample, string[] args, SampleLaunch launch)
    {
        var psi = new ProcessStartInfo(launch.Launcher ?? ChildProcess.DotnetHost())
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (launch.Launcher is not null)
        {
            foreach (string a in launch.LauncherArgs)
            {
                psi.ArgumentList.Add(a);
            }

            psi.ArgumentList.Add(ChildProcess.DotnetHost());
        }

        foreach ((string name, string value) in launch.Environment)
        {
            psi.Environment[name] = value;
        }

        psi.ArgumentList.Add(Dll(sample));
        foreach (string a in args.Concat(["--port", "0", "--control", "stdin"]))
        {
            psi.ArgumentList.Add(a);
        }

        Process p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {sample}");
        var stderr = new StringBuilder();
        p.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }
        };
        p.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            while (await p.StandardOutput.ReadLineAsync(timeout.Token) is string line)
            {
                Match m = ListeningRegex().Match(line);
                if (m.Success)
                {
                    return new SampleServer(p, int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), stderr);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        p.Kill(entireProcessTree: true);
        await p.WaitForExitAsync();
        string err;
        lock (stderr)
        {
            err = stderr.ToString();
        }

        p.Dispose();
        Assert.Fail($"{sample} {string.Join(' ', args)} did not start listening within 60 s. stderr:\n{err}");
        return null!;
    }

    /// <summary>Asks for the server's counters (its <c>stats</c> line).</summary>
    public async Task<string> StatsAsync()
    {
        await _process.StandardInput.WriteLineAsync("stats");
        await _process.StandardInput.FlushAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await _process.StandardOutput.ReadLineAsync(timeout.Token) is string line)
        {
            if (line.StartsWith("stats ", StringComparison.Ordinal))
            {
                return line;
            }
        }

        Assert.Fail("the server closed its output without answering 'stats'");
        return null!;
    }

    /// <summary>Closes the server's input and asserts that it exits cleanly (exit code 0) within a generous bound.</summary>
    public async Task StopAsync()
    {
        _process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            Assert.Fail("the server did not stop within 60 s of its input closing");
        }

        string err;
        lock (_stderr)
        {
            err = _stderr.ToString();
        }

        Assert.True(_process.ExitCode == 0, $"the server exited with {_process.ExitCode}; stderr:\n{err}");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    [GeneratedRegex(@"^listening on http://[^\s]*:(\d+)")]
    private static partial Regex ListeningRegex();
}

/// <summary>How a sample is started: through a launcher program with its arguments (the sample's command follows them), with extra environment variables.</summary>
internal sealed record SampleLaunch
{
    public string? Launcher { get; init; }

    public IReadOnlyList<string> LauncherArgs { get; init; } = [];

    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();
}
