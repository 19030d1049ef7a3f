using System.Text.Json;

namespace IoUring.Tests.Capabilities;

/// <summary>
/// The checker tool run under <c>native/seccomp_deny</c>, which denies io_uring the way container runtimes' default
/// seccomp profiles do. The filter applies to the child only; the test process keeps io_uring.
/// </summary>
public sealed class SeccompTests
{
    [Theory]
    [InlineData("EPERM", 1)]
    [InlineData("ENOSYS", 38)]
    public void Under_a_seccomp_filter_the_check_tool_reports_BlockedBySeccomp_and_exits_2(string errnoName, int errno)
    {
        JsonElement root = CheckTool.RunJson(errnoName, reason: "BlockedBySeccomp");
        Assert.Equal(errno, root.GetProperty("errno").GetInt32());
        Assert.Equal(errnoName, root.GetProperty("errnoName").GetString());
        Assert.Equal(2, root.GetProperty("seccompMode").GetInt32());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("probe").ValueKind);
        Assert.Equal(0u, root.GetProperty("features").GetProperty("value").GetUInt32());

        string message = root.GetProperty("message").GetString()!;
        Assert.Contains($"io_uring_setup failed with {errnoName} ({errno})", message, StringComparison.Ordinal);
        Assert.Contains("seccomp filter", message, StringComparison.Ordinal);
        Assert.Contains("allow io_uring_setup/io_uring_enter/io_uring_register", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Under_a_seccomp_filter_the_text_report_says_why_and_what_to_do()
    {
        ProcessResult r = CheckTool.Run("EPERM");

        Assert.True(r.ExitCode == 2, "expected exit code 2 (unavailable): " + r);
        Assert.StartsWith("io_uring is NOT available: BlockedBySeccomp.", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("setup              failed: BlockedBySeccomp, EPERM (1)", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("seccomp            2 (filter", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("container runtimes' default profiles", r.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void The_launcher_rejects_an_unknown_errno_without_running_the_program()
    {
        string launcher = NativeTools.Build("seccomp_deny");
        ProcessResult r = ChildProcess.Run(launcher, ["--errno", "EBADF", "--", "true"]);
        Assert.Equal(125, r.ExitCode);
        Assert.Contains("unsupported errno 'EBADF'", r.StdErr, StringComparison.Ordinal);
    }
}
