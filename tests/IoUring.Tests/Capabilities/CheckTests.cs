using System.Text.Json;

namespace IoUring.Tests.Capabilities;

/// <summary>What <see cref="IoUringSupport.Check"/> and the IoUring.Check tool report on this machine.</summary>
public sealed class CheckTests
{
    [UringFact]
    public void Check_reports_available_with_NoDrop_and_ExtArg_and_a_probe_with_the_basic_opcodes()
    {
        IoUringAvailability a = IoUringSupport.Check();

        Assert.True(a.IsAvailable, a.Message);
        Assert.Equal(SetupFailureReason.None, a.Reason);
        Assert.Equal(0, a.Errno);
        Assert.True(a.Features.HasFlag(RingFeatures.NoDrop), $"features: {a.Features}");
        Assert.True(a.Features.HasFlag(RingFeatures.ExtArg), $"features: {a.Features}");
        Assert.False(string.IsNullOrWhiteSpace(a.KernelRelease));

        Probe probe = Probe.Current;
        Assert.True(probe.IsSupported(Opcode.Nop));
        Assert.True(probe.IsSupported(Opcode.Read));
        Assert.True(probe.IsSupported(Opcode.Write));
        Assert.Equal(probe.LastOp, a.LastOpcode);
        Assert.True(a.LastOpcode >= (byte)Opcode.Write, $"last_op {a.LastOpcode}");
        Assert.Contains(Opcode.Read, probe.SupportedOpcodes());
        Assert.DoesNotContain(Opcode.Read, probe.MissingOpcodes());
    }

    [UringFact]
    public void The_check_tool_reports_available_as_json_and_exits_0()
    {
        JsonElement root = CheckTool.RunJson(seccompErrno: null, reason: "None");
        Assert.Equal(IoUringSupport.KernelRelease(), root.GetProperty("kernelRelease").GetString());

        JsonElement features = root.GetProperty("features");
        var featureNames = features.GetProperty("names").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Contains("NoDrop", featureNames);
        Assert.Contains("ExtArg", featureNames);
        Assert.Equal((uint)IoUringSupport.Current.Features, features.GetProperty("value").GetUInt32());

        JsonElement probe = root.GetProperty("probe");
        Assert.Equal(Probe.Current.LastOp, probe.GetProperty("lastOp").GetByte());
        var supported = probe.GetProperty("supported").EnumerateArray().Select(e => e.GetString()).ToList();
        var missing = probe.GetProperty("missing").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Contains("Nop", supported);
        Assert.Contains("Read", supported);
        Assert.Contains("Write", supported);
        Assert.Equal(Enum.GetValues<Opcode>().Length, supported.Count + missing.Count);
    }

    [UringFact]
    public void The_check_tool_prints_a_readable_report()
    {
        ProcessResult r = CheckTool.Run(null);

        Assert.True(r.ExitCode == 0, "expected exit code 0 (available): " + r);
        Assert.StartsWith("io_uring is available.", r.StdOut, StringComparison.Ordinal);
        Assert.Contains($"kernel release     {IoUringSupport.KernelRelease()}", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("setup              ok", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("NoDrop", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("probe last_op", r.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void The_check_tool_rejects_an_unknown_option_with_exit_code_1()
    {
        ProcessResult r = CheckTool.Run(null, "--bogus");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("unknown option '--bogus'", r.StdErr, StringComparison.Ordinal);
        Assert.Contains("usage: IoUring.Check", r.StdErr, StringComparison.Ordinal);
    }
}
