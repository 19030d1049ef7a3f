using System.Diagnostics;
using System.Runtime.InteropServices;

namespace IoUring.Tests;

/// <summary>Runs child processes with their output captured and a bound on how long they may run.</summary>
internal static class ChildProcess
{
    /// <summary>
    /// Runs <paramref name="fileName"/> to completion, with <paramref name="environment"/> added to its environment.
    /// Kills it and fails the test if it runs past <paramref name="timeout"/> (default 2 min).
    /// </summary>
    public static ProcessResult Run(string fileName, IEnumerable<string> args, TimeSpan? timeout = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        ProcessStartInfo psi = IoUring.DocSnippets.Tool.StartInfo(fileName, args, environment);

        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        TimeSpan limit = timeout ?? TimeSpan.FromMinutes(2);
        if (!p.WaitForExit(limit))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            Assert.Fail($"{fileName} {string.Join(' ', psi.ArgumentList)} did not finish within {limit} and was killed.\n--- stdout\n{stdout.GetAwaiter().GetResult()}\n--- stderr\n{stderr.GetAwaiter().GetResult()}");
        }

        p.WaitForExit();
        return new ProcessResult(p.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }

    /// <summary>The <c>dotnet</c> host running these tests, to start managed child processes with.</summary>
    public static string DotnetHost()
    {
        string? fromEnv = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(fromEnv) && File.Exists(fromEnv))
        {
            return fromEnv;
        }

        // .../dotnet/shared/Microsoft.NETCore.App/<version>/ -> .../dotnet/dotnet
        string candidate = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", "..", "dotnet"));
        return File.Exists(candidate) ? candidate : "dotnet";
    }

    /// <summary>Finds a program on PATH, or null.</summary>
    public static string? Which(string program)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin:/usr/sbin:/sbin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, program);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}

/// <summary>The outcome of <see cref="ChildProcess.Run"/>.</summary>
internal sealed record ProcessResult(int ExitCode, string StdOut, string StdErr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{StdOut}\n--- stderr\n{StdErr}";
}
