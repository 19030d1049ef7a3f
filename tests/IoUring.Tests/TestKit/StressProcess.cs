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
