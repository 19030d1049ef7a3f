using System.Globalization;

namespace IoUring.Tests;

/// <summary>
/// Runs <c>tests/IoUring.Stress</c> (the soak/fuzz runner and child-process probes) as a child process. The runner
/// is found next to the test binaries' configuration (bin/Release or bin/Debug); if it was not built (the test
/// project alone was built), it is built once. Hangs are bounded: the child is killed after a generous timeout.
/// </summary>
internal static class StressProcess
{
    private static readonly Lazy<string> s_dll = new(LocateOrBuild);

    /// <summary>The runner's dll.</summary>
    public static string Dll => s_dll.Value;

    /// <summary>Runs the runner with <paramref name="args"/> under the dotnet host.</summary>
    public static ProcessResult RunStress(IEnumerable<string> args, TimeSpan timeout) => ChildProcess.Run(ChildProcess.DotnetHost(), [Dll, .. args], timeout);

    /// <summary>
    /// A short seeded fuzz run of <paramref name="layer"/> (ring, async or sockets) in a child process, so a crash or a
    /// hang fails the test with the fuzzer's output instead of taking the test host down; it must report PASSED.
    /// </summary>
    public static void AssertFuzzPasses(string layer, int seed, int iterations, int seconds)
    {
        Kernel.RequireIoUring();
        ProcessResult r = RunStress(
            ["fuzz", "--layer", layer, "--seed", seed.ToString(CultureInfo.InvariantCulture), "--iterations", iterations.ToString(CultureInfo.InvariantCulture), "--seconds", seconds.ToString(CultureInfo.InvariantCulture)],
            TimeSpan.FromMinutes(4));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("fuzz: PASSED", r.StdOut, StringComparison.Ordinal);
    }

    /// <summary>A short seeded soak of <paramref name="driver"/> (ring, async or sockets) in a child process; it must pass with no failure.</summary>
    public static void AssertSoakPasses(string driver, int seconds, int files)
    {
        Kernel.RequireIoUring();
        ProcessResult r = RunStress(
            ["--driver", driver, "--seconds", seconds.ToString(CultureInfo.InvariantCulture), "--files", files.ToString(CultureInfo.InvariantCulture), "--seed", "3", "--file-mb", "1"],
            TimeSpan.FromMinutes(3));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains($"soak ({driver}): PASSED", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("failures: 0", r.StdOut, StringComparison.Ordinal);
    }

    private static string LocateOrBuild()
    {
        // The tests run from tests/IoUring.Tests/bin/<Configuration>/<tfm>/; the runner builds to the same shape.
        var testBin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string tfm = testBin.Name;
        string configuration = testBin.Parent!.Name;
        string root = NativeTools.RepoRoot;
        string project = Path.Combine(root, "tests", "IoUring.Stress", "IoUring.Stress.csproj");
        string dll = Path.Combine(root, "tests", "IoUring.Stress", "bin", configuration, tfm, "IoUring.Stress.dll");
        if (!File.Exists(dll))
        {
            ProcessResult build = ChildProcess.Run(ChildProcess.DotnetHost(), ["build", project, "-c", configuration, "-nologo", "-v", "q"], TimeSpan.FromMinutes(5));
            Assert.True(build.ExitCode == 0, $"building {project} failed: {build}");
        }

        Assert.True(File.Exists(dll), $"{dll} does not exist after building {project}");
        return dll;
    }
}
