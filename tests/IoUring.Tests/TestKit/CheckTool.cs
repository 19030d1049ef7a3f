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

    /// <summary>
    /// Runs the tool with <c>--json</c> (under <c>native/seccomp_deny</c> when <paramref name="seccompErrno"/> is set),
    /// asserts the exit code (0 available, 2 not), <c>available</c> and <c>reason</c>, and returns the report's root.
    /// </summary>
    public static System.Text.Json.JsonElement RunJson(string? seccompErrno, string reason)
    {
        ProcessResult r = Run(seccompErrno, "--json");
        bool available = reason == "None";
        int expected = available ? 0 : 2;
        Assert.True(r.ExitCode == expected, $"expected exit code {expected} ({(available ? "available" : "unavailable")}): " + r);
        using var doc = System.Text.Json.JsonDocument.Parse(r.StdOut);
        System.Text.Json.JsonElement root = doc.RootElement.Clone();
        Assert.Equal(available, root.GetProperty("available").GetBoolean());
        Assert.Equal(reason, root.GetProperty("reason").GetString());
        return root;
    }
}
