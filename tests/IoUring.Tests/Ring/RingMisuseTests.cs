namespace IoUring.Tests.RingTests;

/// <summary>Misuse of the Ring gets a clear exception, never a read of unmapped memory or a corrupted ring.</summary>
public sealed class RingMisuseTests
{
    [UringFact]
    public void Every_ring_state_read_after_Dispose_throws_ObjectDisposedException()
    {
        var ring = new Ring(4);
        ring.Dispose();
        Assert.Throws<ObjectDisposedException>(() => ring.SqDropped);
        Assert.Throws<ObjectDisposedException>(() => ring.CqOverflow);
        Assert.Throws<ObjectDisposedException>(() => ring.IsCqOverflowPending);
        Assert.Throws<ObjectDisposedException>(() => ring.EventFdEnabled);
        Assert.Throws<ObjectDisposedException>(() => ring.BigCqe().Length);
        Assert.Throws<ObjectDisposedException>(() => ring.CqReady);
        Assert.Throws<ObjectDisposedException>(() => ring.SqReady);
        Assert.Throws<ObjectDisposedException>(() => ring.GetSqe());
        Assert.Throws<ObjectDisposedException>(() => ring.Submit());
        Assert.Throws<ObjectDisposedException>(() => ring.TryPeekCqe(out _));
        Assert.Throws<ObjectDisposedException>(() => ring.RegisterRaw(RegisterOpcode.RegisterProbe, 0, 0));
    }

    [UringFact]
    public void DeferTaskRun_alone_is_accepted_because_the_library_adds_SingleIssuer()
    {
        using var ring = new Ring(4, new RingOptions { DeferTaskRun = true });
        Assert.True((ring.SetupFlags & SetupFlags.SingleIssuer) != 0);
        ring.GetSqe().PrepNop();
        ring.SubmitAndWait(1);
        ring.CqeSeen(ring.WaitCqe());
    }

    [Theory]
    [InlineData(SetupFlags.NoMmap)]
    [InlineData(SetupFlags.RegisteredFdOnly)]
    [InlineData(SetupFlags.RDisabled)]
    public void Setup_flags_the_library_cannot_drive_are_refused_up_front(SetupFlags flag)
    {
        var e = Assert.Throws<ArgumentException>(() => new Ring(4, new RingOptions { ExtraFlags = flag }));
        Assert.Contains(flag.ToString(), e.Message, StringComparison.Ordinal);
    }

    [UringFact]
    public void RegisterRaw_reaches_the_kernel_and_reports_its_errors()
    {
        using var ring = new Ring(4);
        // Unregistering buffers that were never registered: the kernel answers ENXIO.
        var e = Assert.Throws<IoUringException>(() => ring.RegisterRaw(RegisterOpcode.UnregisterBuffers, 0, 0));
        Assert.Equal(6, e.Errno);
    }

    [UringFact(Opcode.ProvideBuffers)]
    public void A_buffer_ring_refuses_to_recycle_a_buffer_the_kernel_already_holds()
    {
        using var ring = new Ring(4);
        using BufferRing br = ring.SetupBufferRing(groupId: 3, entries: 4, bufferSize: 64);
        var e = Assert.Throws<InvalidOperationException>(() => br.Recycle(1));
        Assert.Contains("already with the kernel", e.Message, StringComparison.Ordinal);

        // Once a CQE has delivered it, one recycle is allowed, a second is not.
        var delivered = new Cqe(9, 10, CqeFlags.Buffer | (CqeFlags)(1u << SqeConstants.CqeBufferShift));
        br.Recycle(delivered);
        Assert.Throws<InvalidOperationException>(() => br.Recycle(delivered.BufferId));
    }
}
