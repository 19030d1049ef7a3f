using IoUring.Interop;

namespace IoUring.Tests.Registration;

/// <summary>eventfd notification and the opcode probe.</summary>
public sealed class EventFdAndProbeTests
{
    private static int NewEventFd()
    {
        int efd = Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        Assert.True(efd >= 0, $"eventfd failed: {efd}");
        return efd;
    }

    private static void Nop(Ring ring)
    {
        ring.GetSqe().PrepNop();
        _ = RingKit.Run(ring);
    }

    [UringFact]
    public void A_registered_eventfd_is_signalled_per_completion_unless_disabled_or_unregistered()
    {
        int efd = NewEventFd();
        using var closeAtEnd = Fds.CloseAtEnd(efd);
        using var ring = new Ring(4);
        ring.RegisterEventFd(efd);

        Nop(ring);
        Assert.True(Libc.EventFdRead(efd) >= 1);

        ring.EventFdEnabled = false;
        Assert.False(ring.EventFdEnabled);
        Nop(ring);
        Assert.Equal(-E.EAGAIN, Libc.EventFdRead(efd));

        ring.EventFdEnabled = true;
        Nop(ring);
        Assert.True(Libc.EventFdRead(efd) >= 1);

        Assert.Equal(E.EBUSY, Assert.Throws<IoUringException>(() => ring.RegisterEventFd(efd)).Errno);

        ring.UnregisterEventFd();
        Nop(ring);
        Assert.Equal(-E.EAGAIN, Libc.EventFdRead(efd));
        Assert.Equal(E.ENXIO, Assert.Throws<IoUringException>(ring.UnregisterEventFd).Errno);
    }

    [UringFact]
    public void An_async_only_eventfd_is_signalled_for_a_worker_completion_and_not_for_an_inline_one()
    {
        int efd = NewEventFd();
        using var closeAtEnd = Fds.CloseAtEnd(efd);
        using var ring = new Ring(4);
        ring.RegisterEventFd(efd, asyncOnly: true);

        Nop(ring); // completes inline during submit
        Assert.Equal(-E.EAGAIN, Libc.EventFdRead(efd));

        ref Sqe sqe = ref ring.GetSqe();
        sqe.PrepNop();
        sqe.Flags |= SqeFlags.Async; // punted to an io-wq worker, which posts the CQE
        Assert.Equal(0, RingKit.Run(ring).Res);
        Assert.True(Libc.EventFdRead(efd) >= 1);
    }

    [UringFact]
    public void Registering_something_that_is_not_an_eventfd_fails()
    {
        using var pipe = new TestPipe();
        using var ring = new Ring(4);
        Assert.Throws<IoUringException>(() => ring.RegisterEventFd(pipe.ReadFd));
    }

    [UringFact]
    public void The_probe_lists_the_basic_opcodes_and_partitions_the_known_ones()
    {
        Probe probe = Probe.Current;
        foreach (Opcode op in new[] { Opcode.Nop, Opcode.Readv, Opcode.Writev, Opcode.Read, Opcode.Write, Opcode.Timeout })
        {
            Assert.True(probe.IsSupported(op), $"{op} should be supported by any kernel with a probe.");
        }

        IReadOnlyList<Opcode> supported = probe.SupportedOpcodes();
        IReadOnlyList<Opcode> missing = probe.MissingOpcodes();
        Assert.Empty(supported.Intersect(missing));
        Assert.Equal(Enum.GetValues<Opcode>().Order(), supported.Concat(missing).Order());
        Assert.All(supported, op => Assert.True((byte)op <= probe.LastOp, $"{op} is beyond last_op {probe.LastOp}"));
    }

    [UringFact]
    public void A_rings_own_probe_matches_the_cached_one_and_a_disposed_ring_refuses()
    {
        var ring = new Ring(2);
        Probe mine = ring.GetProbe();
        Assert.Equal(Probe.Current.LastOp, mine.LastOp);
        Assert.Equal(Probe.Current.SupportedOpcodes(), mine.SupportedOpcodes());
        ring.Dispose();
        Assert.Throws<ObjectDisposedException>(() => ring.GetProbe());
    }
}
