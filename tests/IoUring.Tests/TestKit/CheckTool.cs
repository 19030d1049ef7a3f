namespace IoUring.Tests;

/// <summary>Runs the IoUring.Check tool (copied next to the tests by the project reference) in a child process.</summary>
internal static class CheckTool
{
    public static string DllPath
    {
        get
        {
            string path = Path.Combine(AppContext.BaseDirectory, "IoUring.Check.dll");
            Assert.True(File.Exists(path), $"{path} is missing: the test project references src/IoUring.Check, which should copy it here.");
            return path;
        }
    }

    /// <summary>Runs the tool, optionally under <c>native/seccomp_deny</c> with the given errno.</summary>
    public static ProcessResult Run(string? seccompErrno, params string[] toolArgs)
    {
        List<string> args = [DllPath, .. toolArgs];
        if (seccompErrno is null)
        {
            return ChildProcess.Run(ChildProcess.DotnetHost(), args);
        }

        string launcher = NativeTools.Build("seccomp_deny");
        return ChildProcess.Run(launcher, ["--errno", seccompErrno, "--", ChildProcess.DotnetHost(), .. args]);
    }
}
