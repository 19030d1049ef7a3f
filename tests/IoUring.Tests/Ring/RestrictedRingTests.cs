namespace IoUring.Tests.RingTests;

/// <summary>Disabled rings, restrictions and enabling (5.10): a denied opcode, flag or registration fails with EACCES.</summary>
public sealed class RestrictedRingTests
{
    [UringFact]
    public void A_restricted_ring_runs_allowed_opcodes_and_refuses_others_with_EACCES()
    {
        using var file = new TempFile(64);
        using var handle = file.Open();
        using var buffer = new NativeBuffer(64);
        using var ring = new Ring(8, new RingOptions { StartDisabled = true });
        Assert.False(ring.IsEnabled);

        ring.GetSqe().PrepNop();
        IoUringException disabled = Assert.Throws<IoUringException>(() => ring.Submit());
        Assert.Equal(E.EBADFD, disabled.Errno);
        Assert.Contains("EnableRings", disabled.Message, StringComparison.Ordinal);

        ring.RegisterRestrictions(new RingRestrictions()
            .AllowOperation(Opcode.Nop)
            .AllowOperation(Opcode.AsyncCancel)
            .AllowSqeFlags(SqeFlags.IoLink)
            .AllowRegister(RegisterOpcode.RegisterProbe));
        Assert.Throws<IoUringException>(() => ring.RegisterRestrictions(new RingRestrictions().AllowOperation(Opcode.Read)));
        ring.EnableRings();
        Assert.True(ring.IsEnabled);

        Assert.Equal(0, RingKit.Run(ring).Res); // the NOP queued while disabled

        ring.GetSqe().PrepRead((int)handle.DangerousGetHandle(), buffer, 0);
        Assert.Equal(-E.EACCES, RingKit.Run(ring).Res);

        ref Sqe drained = ref ring.GetSqe();
        drained.PrepNop();
        drained.Flags |= SqeFlags.IoDrain; // a flag not allowed
        Assert.Equal(-E.EACCES, RingKit.Run(ring).Res);

        ring.NextSqe(0, SqeFlags.IoLink).PrepNop();
        ring.GetSqe().PrepNop();
        Assert.All(RingKit.RunMany(ring, 2), c => Assert.Equal(0, c.Res));

        Assert.True(ring.GetProbe().IsSupported(Opcode.Nop)); // an allowed registration
        IoUringException denied = Assert.Throws<IoUringException>(() => ring.RegisterFilesSparse(4));
        Assert.Equal(E.EACCES, denied.Errno);
    }

    [UringFact]
    public void Restrictions_need_a_disabled_ring()
    {
        using var ring = new Ring(4);
        Assert.True(ring.IsEnabled);
        Assert.Throws<InvalidOperationException>(() => ring.RegisterRestrictions(new RingRestrictions().AllowOperation(Opcode.Nop)));
        ring.EnableRings(); // a no-op on an enabled ring
    }

    [Fact]
    public void ExtraFlags_with_a_flag_that_has_its_own_option_is_refused()
    {
        Assert.Throws<ArgumentException>(() => new Ring(4, new RingOptions { ExtraFlags = SetupFlags.RDisabled }));
        Assert.Throws<ArgumentException>(() => new Ring(4, new RingOptions { RegisteredFdOnly = true }));
    }
}
