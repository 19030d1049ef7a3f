using IoUring.Interop;

namespace IoUring.Tests.Preps;

/// <summary>epoll_ctl (5.6) and epoll_wait (6.15) through the ring.</summary>
public sealed class EpollPrepTests
{
    [UringFact([Opcode.EpollCtl, Opcode.EpollWait])]
    public void Epoll_ctl_adds_a_pipe_and_epoll_wait_reports_it_readable_with_its_data()
    {
        int ep = Libc.EpollCreate();
        Assert.True(ep >= 0, $"epoll_create1 failed: {ep}");
        using var pipe = new TestPipe();
        using var events = new EpollEventBuffer(4);
        using var ring = new Ring(4);
        using var closeAtEnd = Fds.CloseAtEnd(ep);
        ring.PrepEpollCtl(ep, pipe.ReadFd, EpollOp.Add, EpollEvents.In, 0xFEED_BEEF_0000_0077).UserData = 1;
        Assert.Equal(0, RingKit.Run(ring).Res);

        ring.NextSqe(2).PrepEpollWait(ep, events);
        Assert.Equal(1, ring.Submit());
        Assert.True(RingKit.Quiet(ring), "epoll_wait completed before the pipe had data.");

        pipe.Put([42]);
        Cqe done = RingKit.Next(ring);
        Assert.Equal(1, done.Res);
        (EpollEvents ready, ulong data) = events.Get(0);
        Assert.Equal(EpollEvents.In, ready);
        Assert.Equal(0xFEED_BEEF_0000_0077UL, data);

        ring.PrepEpollCtl(ep, pipe.ReadFd, EpollOp.Delete, EpollEvents.None, 0);
        Assert.Equal(0, RingKit.Run(ring).Res);
        ring.PrepEpollCtl(ep, pipe.ReadFd, EpollOp.Delete, EpollEvents.None, 0);
        Assert.Equal(-E.ENOENT, RingKit.Run(ring).Res);
    }
}
