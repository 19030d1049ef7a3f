using System.Net;
using System.Text.RegularExpressions;

namespace IoUring.Tests.Samples;

/// <summary>
/// <c>UseIoUring()</c> where io_uring cannot be used: the AspNetCorePlaintext sample runs under native/seccomp_deny
/// (a container-style seccomp profile, or an imitated <c>kernel.io_uring_disabled = 2</c> in a private mount
/// namespace) and with <c>IOURING_DISABLE=1</c>. Each time the transport logs the reason once and Kestrel answers on
/// its socket transport; with <c>RequireIoUring</c> the application refuses to start instead.
/// </summary>
public sealed partial class KestrelFallbackTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string, string[], string, string> Failures() => new()
    {
        // name, launcher args (before the sample's command; empty: no launcher), IOURING_DISABLE, expected reason
        { "seccomp EPERM", ["--errno", "EPERM", "--"], "", "BlockedBySeccomp" },
        { "seccomp ENOSYS", ["--errno", "ENOSYS", "--"], "", "BlockedBySeccomp" },
        { "sysctl 2", ["--sysctl", "2", "--"], "", "DisabledBySysctl" },
        { "IOURING_DISABLE=1", [], "1", "DisabledByEnvironment" },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task Where_io_uring_is_unavailable_UseIoUring_logs_why_once_and_Kestrel_serves_on_sockets(string name, string[] launcherArgs, string disable, string reason)
    {
        RequireAspNetCore();
        _ = name;
        RequireSysctlImitation(launcherArgs);
        SampleLaunch launch = Launch(launcherArgs, disable);
        await using SampleServer server = await SampleServer.StartAsync("AspNetCorePlaintext", ["--transport", "iouring"], launch);
        using var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

        // Several requests on several connections: answered by Kestrel's socket transport (its ids have no "uring-").
        for (int i = 0; i < 3; i++)
        {
            using HttpResponseMessage r = await client.GetAsync(new Uri("plaintext", UriKind.Relative), Ct);
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Equal("Hello, World!", await r.Content.ReadAsStringAsync(Ct));
        }

        Task<string>[] many = [.. Enumerable.Range(0, 16).Select(_ => client.GetStringAsync(new Uri("plaintext", UriKind.Relative), Ct))];
        Assert.All(await Task.WhenAll(many), b => Assert.Equal("Hello, World!", b));
        string id = await client.GetStringAsync(new Uri("transport", UriKind.Relative), Ct);
        Assert.False(id.StartsWith("uring-", StringComparison.Ordinal), $"connection {id} was accepted by io_uring");

        // One log line, through the app's ILogger (category IoUring.AspNetCore), naming the reason.
        string log = server.StandardError;
        MatchCollection lines = LogLineRegex().Matches(log);
        Assert.True(lines.Count == 1, $"expected one UseIoUring line, got {lines.Count}:\n{log}");
        string line = lines[0].Value;
        Assert.Contains("IoUring.AspNetCore", line, StringComparison.Ordinal);
        Assert.Contains($"reason {reason}", line, StringComparison.Ordinal);
        Assert.Contains("Kestrel serves TCP endpoints on its socket transport", line, StringComparison.Ordinal);
        Assert.StartsWith(reason == "DisabledByEnvironment" ? "info:" : "warn:", line, StringComparison.Ordinal);
        await server.StopAsync();
    }

    [Theory]
    [InlineData("--errno", "EPERM", "BlockedBySeccomp")]
    [InlineData("--sysctl", "2", "DisabledBySysctl")]
    public void With_RequireIoUring_the_application_fails_at_startup_and_says_why(string option, string value, string reason)
    {
        RequireAspNetCore();
        RequireSysctlImitation([option]);
        string launcher = NativeTools.Build("seccomp_deny");
        ProcessResult r = ChildProcess.Run(launcher,
            [option, value, "--", ChildProcess.DotnetHost(), SampleServer.Dll("AspNetCorePlaintext"), "--transport", "iouring", "--require-iouring", "--port", "0"],
            TimeSpan.FromSeconds(90));

        Assert.True(r.ExitCode == 3, "expected exit code 3 (startup refused): " + r);
        Assert.DoesNotContain("listening on", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("io_uring is required (IoUringTransportOptions.RequireIoUring)", r.StdErr, StringComparison.Ordinal);
        Assert.Contains($"reason {reason}", r.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void IOURING_DISABLE_turns_io_uring_off_for_the_whole_library_and_the_check_tool_says_so()
    {
        // Rings (and so engines, files, sockets) refuse before any system call; the checker reports it.
        ProcessResult r = ChildProcess.Run(ChildProcess.DotnetHost(), [CheckTool.DllPath],
            environment: new Dictionary<string, string> { [IoUringSupport.DisableVariable] = "1" });
        Assert.True(r.ExitCode == 2, "expected exit code 2 (unavailable): " + r);
        Assert.StartsWith("io_uring is NOT available: DisabledByEnvironment.", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("setup              not tried: DisabledByEnvironment", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("IOURING_DISABLE=1", r.StdOut, StringComparison.Ordinal);

        // 0 leaves io_uring on.
        ProcessResult on = ChildProcess.Run(ChildProcess.DotnetHost(), [CheckTool.DllPath],
            environment: new Dictionary<string, string> { [IoUringSupport.DisableVariable] = "0" });
        Assert.True(on.ExitCode == 0, "IOURING_DISABLE=0 must leave io_uring on: " + on);
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("", false)]
    [InlineData("0", false)]
    [InlineData(" false ", false)]
    [InlineData("No", false)]
    [InlineData("off", false)]
    [InlineData("1", true)]
    [InlineData("true", true)]
    [InlineData("YES", true)]
    [InlineData("anything", true)]
    public void The_kill_switch_reads_off_values_as_off_and_anything_else_as_on(string? value, bool disabled) =>
        Assert.Equal(disabled, IoUringSupport.ParseDisableVariable(value));

    private static SampleLaunch Launch(string[] launcherArgs, string disable) => new()
    {
        Launcher = launcherArgs.Length == 0 ? null : NativeTools.Build("seccomp_deny"),
        LauncherArgs = launcherArgs,
        Environment = disable.Length == 0 ? new Dictionary<string, string>() : new Dictionary<string, string> { [IoUringSupport.DisableVariable] = disable },
    };

    /// <summary>--sysctl needs a private mount namespace (CAP_SYS_ADMIN): probed by running <c>true</c> under it.</summary>
    private static void RequireSysctlImitation(IEnumerable<string> launcherArgs)
    {
        if (!launcherArgs.Contains("--sysctl"))
        {
            return;
        }

        ProcessResult probe = ChildProcess.Run(NativeTools.Build("seccomp_deny"), ["--sysctl", "2", "--", "true"]);
        if (probe.ExitCode == 0)
        {
            return;
        }

        string why = "seccomp_deny --sysctl cannot imitate the sysctl here (it needs CAP_SYS_ADMIN for a mount namespace): " + probe.StdErr.Trim();
        if (Kernel.IsCi)
        {
            Assert.Fail("CI runs as root and must imitate the sysctl: " + why);
        }

        Assert.Skip(why);
    }

    private static void RequireAspNetCore()
    {
        if (!SampleServer.AspNetCoreInstalled())
        {
            if (Kernel.IsCi)
            {
                Assert.Fail("CI must have the ASP.NET Core shared framework (Microsoft.AspNetCore.App).");
            }

            Assert.Skip("The ASP.NET Core shared framework (Microsoft.AspNetCore.App) is not installed.");
        }
    }

    [GeneratedRegex(@"^\w+: IoUring\.AspNetCore\[\d+\] UseIoUring: .*$", RegexOptions.Multiline)]
    private static partial Regex LogLineRegex();
}
