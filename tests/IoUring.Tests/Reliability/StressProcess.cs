using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace IoUring.Tests.Reliability;

/// <summary>
/// Runs <c>tests/IoUring.Stress</c> (the soak/fuzz runner and child-process probes) as a child process. The runner
/// is found next to the test binaries' configuration (bin/Release or bin/Debug); if it was not built (the test
/// project alone was built), it is built once. Hangs are bounded: the child is killed after a generous timeout.
/// </summary>
internal static class StressProcess
{
    private static readonly Lazy<string> s_dll = new(LocateOrBuild);

    public sealed record Result(int ExitCode, string StdOut, string StdErr)
    {
        public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{StdOut}\n--- stderr ---\n{StdErr}";
    }

    /// <summary>The runner's dll.</summary>
    public static string Dll => s_dll.Value;

    /// <summary>The dotnet host running these tests.</summary>
    public static string DotnetHost()
    {
        string? fromEnv = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(fromEnv) && File.Exists(fromEnv))
        {
            return fromEnv;
        }

        string candidate = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", "..", "dotnet"));
        return File.Exists(candidate) ? candidate : "dotnet";
    }

    /// <summary>Runs <paramref name="fileName"/> with <paramref name="args"/> and waits (killing it after <paramref name="timeout"/>).</summary>
    public static Result Run(string fileName, IEnumerable<string> args, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var process = new Process { StartInfo = psi };
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stdout)
                {
                    stdout.AppendLine(e.Data);
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stderr)
                {
                    stderr.AppendLine(e.Data);
                }
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Assert.Fail($"{fileName} {string.Join(' ', args)} ran past {timeout.TotalSeconds} s and was killed.\n{stdout}\n{stderr}");
        }

        process.WaitForExit();
        return new Result(process.ExitCode, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Runs the runner with <paramref name="args"/> under the dotnet host.</summary>
    public static Result RunStress(IEnumerable<string> args, TimeSpan timeout) => Run(DotnetHost(), [Dll, .. args], timeout);

    /// <summary>Finds a program on PATH, or null.</summary>
    public static string? Which(string name)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin:/usr/sbin:/sbin").Split(':'))
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static string LocateOrBuild()
    {
        // The tests run from tests/IoUring.Tests/bin/<Configuration>/<tfm>/; the runner builds to the same shape.
        var testBin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string tfm = testBin.Name;
        string configuration = testBin.Parent!.Name;
        DirectoryInfo? dir = testBin;
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "IoUring.sln")))
        {
            dir = dir.Parent;
        }

        Assert.NotNull(dir);
        string project = Path.Combine(dir.FullName, "tests", "IoUring.Stress", "IoUring.Stress.csproj");
        string dll = Path.Combine(dir.FullName, "tests", "IoUring.Stress", "bin", configuration, tfm, "IoUring.Stress.dll");
        if (!File.Exists(dll))
        {
            Result build = Run(DotnetHost(), ["build", project, "-c", configuration, "-nologo", "-v", "q"], TimeSpan.FromMinutes(5));
            Assert.True(build.ExitCode == 0, $"building {project} failed: {build}");
        }

        Assert.True(File.Exists(dll), $"{dll} does not exist after building {project}");
        return dll;
    }
}
