namespace IoUring.Tests.Preps;

/// <summary>timeout, timeout_remove, timeout update, link_timeout and async_cancel (by user data, fd, any, all).</summary>
public sealed class TimeoutCancelPrepTests
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(5);

    [UringFact(Opcode.Timeout)]
    public void A_pure_timeout_fires_with_ETIME()
    {
        using var ring = new Ring(4);
        ring.PrepTimeout(TimeSpan.FromMilliseconds(5)).UserData = 1;
        Cqe cqe = RingKit.Run(ring);
        Assert.Equal(1UL, cqe.UserData);
        Assert.Equal(-E.ETIME, cqe.Res);
    }

    [UringFact(Opcode.Timeout)]
    public void A_timeout_from_caller_memory_with_a_completion_count_ends_after_that_many_completions()
    {
        using var ring = new Ring(4);
        var ts = new Pinned<KernelTimespec>([KernelTimespec.FromTimeSpan(Long)]);
        ring.NextSqe(1).PrepTimeout(ts.Address, count: 1, TimeoutFlags.None);
        ring.NextSqe(2).PrepNop();
        Cqe[] cqes = RingKit.RunMany(ring, 2);

        Assert.Equal(0, cqes.With(2).Res);
        Assert.Equal(0, cqes.With(1).Res); // satisfied by the count, not expired
        Pinned.KeepAlive(ts);
    }

    [UringFact(Opcode.TimeoutRemove)]
    public void Timeout_remove_cancels_a_pending_timeout()
    {
        using var ring = new Ring(4);
        ring.PrepTimeout(Long).UserData = 1;
        Assert.Equal(1, ring.Submit());

        ring.NextSqe(2).PrepTimeoutRemove(1);
        Cqe[] cqes = RingKit.RunMany(ring, 2);
        Assert.Equal(0, cqes.With(2).Res);
        Assert.Equal(-E.ECANCELED, cqes.With(1).Res);
    }

    [UringFact(Opcode.TimeoutRemove)]
    public void Timeout_update_from_the_ring_and_from_caller_memory_shortens_pending_timeouts()
    {
        using var ring = new Ring(8);
        ring.PrepTimeout(Long).UserData = 1;
        ring.PrepTimeout(Long).UserData = 2;
        Assert.Equal(2, ring.Submit());

        ring.PrepTimeoutUpdate(1, TimeSpan.FromMilliseconds(1)).UserData = 11;
        var ts = new Pinned<KernelTimespec>([KernelTimespec.FromTimeSpan(TimeSpan.FromMilliseconds(1))]);
        ring.NextSqe(12).PrepTimeoutUpdate(2, ts.Address);
        Cqe[] cqes = RingKit.RunMany(ring, 4);

        Assert.Equal(0, cqes.With(11).Res);
        Assert.Equal(0, cqes.With(12).Res);
        Assert.Equal(-E.ETIME, cqes.With(1).Res);
        Assert.Equal(-E.ETIME, cqes.With(2).Res);
        Pinned.KeepAlive(ts);
    }

    [UringFact(Opcode.LinkTimeout)]
    public void A_linked_timeout_cancels_a_read_that_never_completes()
    {
        using var pipe = new TestPipe();
        using var ring = new Ring(4);
        var buf = new Pinned<byte>(8);
        ring.NextSqe(1, SqeFlags.IoLink).PrepRead(pipe.ReadFd, buf.Address, 8, 0);
        ring.PrepLinkTimeout(TimeSpan.FromMilliseconds(5)).UserData = 2;
        Cqe[] cqes = RingKit.RunMany(ring, 2);

        Assert.Equal(-E.ECANCELED, cqes.With(1).Res);
        Assert.Equal(-E.ETIME, cqes.With(2).Res);
        Pinned.KeepAlive(buf);
    }

    [UringFact(Opcode.LinkTimeout)]
    public void A_linked_timeout_from_caller_memory_is_disarmed_when_the_request_finishes_first()
    {
        using var ring = new Ring(4);
        var ts = new Pinned<KernelTimespec>([KernelTimespec.FromTimeSpan(Long)]);
        ring.NextSqe(1, SqeFlags.IoLink).PrepNop();
        ring.NextSqe(2).PrepLinkTimeout(ts.Address);
        Cqe[] cqes = RingKit.RunMany(ring, 2);

        Assert.Equal(0, cqes.With(1).Res);
        Assert.Equal(-E.ECANCELED, cqes.With(2).Res);
        Pinned.KeepAlive(ts);
    }

    [UringFact(Opcode.AsyncCancel)]
    public void Cancel_by_user_data_cancels_that_request_only()
    {
        using var pipe = new TestPipe();
        using var ring = new Ring(8);
        var a = new Pinned<byte>(4);
        var b = new Pinned<byte>(4);
        ring.NextSqe(1).PrepRead(pipe.ReadFd, a.Address, 4, 0);
        ring.NextSqe(2).PrepRead(pipe.ReadFd, b.Address, 4, 0);
        Assert.Equal(2, ring.Submit());

        ring.NextSqe(3).PrepCancel(1);
        Cqe[] cqes = RingKit.RunMany(ring, 2);
        Assert.Equal(0, cqes.With(3).Res);
        Assert.Equal(-E.ECANCELED, cqes.With(1).Res);

        // The other read is still armed and completes with data.
        Fds.WriteAll(pipe.WriteFd, [1, 2, 3, 4]);
        Cqe other = RingKit.Next(ring);
        Assert.Equal(2UL, other.UserData);
        Assert.Equal(4, other.Res);
        Pinned.KeepAlive(a, b);
    }

    [UringFact(Opcode.AsyncCancel)]
    public void Cancel_of_an_unknown_user_data_reports_ENOENT()
    {
        using var ring = new Ring(4);
        ring.GetSqe().PrepCancel(999);
        Assert.Equal(-E.ENOENT, RingKit.Run(ring).Res);
    }

    [UringFact(Opcode.AsyncCancel)]
    public void Cancel_by_fd_with_ALL_cancels_every_request_on_that_fd_and_no_other()
    {
        using var pipe1 = new TestPipe();
        using var pipe2 = new TestPipe();
        using var ring = new Ring(8);
        var buf = new Pinned<byte>(12);
        for (int i = 0; i < 2; i++)
        {
            ring.NextSqe((ulong)(10 + i)).PrepRead(pipe1.ReadFd, buf.AddressOf(i * 4), 4, 0);
        }

        ring.NextSqe(20).PrepRead(pipe2.ReadFd, buf.AddressOf(8), 4, 0);
        Assert.Equal(3, ring.Submit());

        ring.NextSqe(30).PrepCancelFd(pipe1.ReadFd, AsyncCancelFlags.All);
        Cqe[] cqes = RingKit.RunMany(ring, 3);
        Assert.Equal(2, cqes.With(30).Res);
        Assert.Equal(-E.ECANCELED, cqes.With(10).Res);
        Assert.Equal(-E.ECANCELED, cqes.With(11).Res);

        Fds.WriteAll(pipe2.WriteFd, [5, 6, 7, 8]);
        Cqe other = RingKit.Next(ring);
        Assert.Equal(20UL, other.UserData);
        Assert.Equal(4, other.Res);
        Pinned.KeepAlive(buf);
    }

    [UringFact(Opcode.AsyncCancel)]
    public void Cancel_any_cancels_everything_in_flight()
    {
        using var pipe = new TestPipe();
        using var ring = new Ring(8);
        var buf = new Pinned<byte>(4);
        ring.NextSqe(1).PrepRead(pipe.ReadFd, buf.Address, 4, 0);
        ring.PrepTimeout(Long).UserData = 2;
        ring.NextSqe(3).PrepPollAdd(pipe.ReadFd, Posix.POLLIN);
        Assert.Equal(3, ring.Submit());

        ring.NextSqe(4).PrepCancelAny();
        Cqe[] cqes = RingKit.RunMany(ring, 4);
        Assert.Equal(3, cqes.With(4).Res);
        Assert.All(cqes.Where(c => c.UserData != 4), c => Assert.Equal(-E.ECANCELED, c.Res));
        Assert.Equal(0, ring.InFlight);
        Pinned.KeepAlive(buf);
    }
}
