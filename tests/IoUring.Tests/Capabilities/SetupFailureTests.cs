namespace IoUring.Tests.Capabilities;

/// <summary>Bad setup arguments: rejected before the kernel when the library can tell, classified when the kernel refuses.</summary>
public sealed class SetupFailureTests
{
    [Theory]
    [InlineData(0u)]
    [InlineData(Ring.MaxEntries + 1)]
    [InlineData(100000u)]
    public void Invalid_entries_without_clamp_throw_ArgumentOutOfRangeException(uint entries)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Ring(entries));
        Assert.Equal("entries", e.ParamName);
        Assert.Contains("Clamp", e.Message, StringComparison.Ordinal);
    }

    [UringFact]
    public void Too_many_entries_with_clamp_are_clamped_by_the_kernel()
    {
        using var ring = new Ring(100000, new RingOptions { Clamp = true });
        Assert.Equal(Ring.MaxEntries, ring.SqEntries);
        Assert.True(ring.CqEntries >= ring.SqEntries, $"CQ {ring.CqEntries} < SQ {ring.SqEntries}");
    }

    [UringFact]
    public void SqAff_without_SqPoll_is_rejected_by_the_kernel_as_invalid_arguments_naming_the_flag()
    {
        var e = Assert.Throws<IoUringSetupException>(() => new Ring(4, new RingOptions { ExtraFlags = SetupFlags.SqAff }));
        Assert.Equal(SetupFailureReason.InvalidArguments, e.Reason);
        Assert.Equal(22, e.Errno); // EINVAL
        Assert.Contains("EINVAL", e.Message, StringComparison.Ordinal);
        Assert.Contains("entries=4", e.Message, StringComparison.Ordinal);
        Assert.Contains("flags=SqAff", e.Message, StringComparison.Ordinal);
    }

    [UringFact]
    public void An_undefined_setup_flag_bit_is_rejected_as_invalid_arguments_with_its_hex_value()
    {
        var undefined = (SetupFlags)(1u << 31);
        var e = Assert.Throws<IoUringSetupException>(() => new Ring(4, new RingOptions { ExtraFlags = undefined }));
        Assert.Equal(SetupFailureReason.InvalidArguments, e.Reason);
        Assert.Equal(22, e.Errno);
        Assert.Contains("0x80000000", e.Message, StringComparison.Ordinal);
        Assert.Contains("known to this kernel", e.Message, StringComparison.Ordinal);
    }

    [UringFact]
    public void A_cq_smaller_than_the_sq_is_rejected_as_invalid_arguments_naming_CqSize()
    {
        var e = Assert.Throws<IoUringSetupException>(() => new Ring(64, new RingOptions { CqEntries = 2 }));
        Assert.Equal(SetupFailureReason.InvalidArguments, e.Reason);
        Assert.Contains("CqSize", e.Message, StringComparison.Ordinal);
    }

    [UringFact]
    public void A_rejected_setup_leaves_io_uring_usable()
    {
        Assert.Throws<IoUringSetupException>(() => new Ring(4, new RingOptions { ExtraFlags = SetupFlags.SqAff }));
        using var ring = new Ring(4);
        ring.GetSqe().PrepNop();
        Assert.Equal(1, ring.Submit());
        Cqe cqe = ring.WaitCqe();
        ring.CqeSeen(cqe);
        Assert.Equal(0, cqe.Res);
    }
}
