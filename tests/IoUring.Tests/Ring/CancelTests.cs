using static IoUring.Tests.RingKit;

namespace IoUring.Tests.RingTests;

/// <summary>IORING_OP_ASYNC_CANCEL by user data, by fd and for everything.</summary>
public sealed class CancelTests
{
    [UringFact]
    public void Cancel_by_user_data_stops_a_blocked_read_which_never_touches_its_buffer()
    {
        using var blocked = new BlockedPipeRead(fill: 0xAA);
        (TestPipe pipe, NativeBuffer buffer, Ring ring) = blocked;
        AssertNoCompletion(ring, TimeSpan.FromMilliseconds(20));

        ring.NextSqe(2).PrepCancel(1);
        Assert.Equal(1, ring.Submit());
        Dictionary<ulong, Cqe> done = ReapByUserData(ring, 2);
        Assert.Equal(-E.ECANCELED, done[1].Res);
        Assert.Equal(0, done[2].Res);
        Assert.Equal(0, ring.InFlight);

        pipe.Put("late"u8);
        Assert.Equal("late"u8.ToArray(), pipe.ReadAvailable());
        Assert.All(buffer.Span.ToArray(), b => Assert.Equal(0xAA, b));
    }

    [UringFact]
    public void Cancelling_an_unknown_user_data_is_ENOENT()
    {
        using var ring = new Ring(4);
        ring.NextSqe(2).PrepCancel(424242);
        Assert.Equal(1, ring.Submit());
        Cqe cqe = Reap(ring, 1)[0];
        Assert.Equal(2UL, cqe.UserData);
        Assert.Equal(-E.ENOENT, cqe.Res);
    }

    [UringFact]
    public void Cancelling_twice_finds_the_request_only_once()
    {
        using var blocked = new BlockedPipeRead();
        (TestPipe pipe, NativeBuffer buffer, Ring ring) = blocked;
        AssertStopsOnlyOnce(ring, static (ref Sqe s) => s.PrepCancel(1));
        Assert.Equal(0, ring.InFlight);
    }

    [UringFact]
    public void Two_cancels_in_one_batch_both_succeed_but_the_target_completes_once()
    {
        using var blocked = new BlockedPipeRead();
        (TestPipe pipe, NativeBuffer buffer, Ring ring) = blocked;
        for (ulong ud = 2; ud <= 3; ud++)
        {
            ring.NextSqe(ud).PrepCancel(1);
        }

        // Within one submission the poll-armed read is only marked for cancellation (task work finishes it at the
        // end of io_uring_enter), so the second cancel still finds it: Linux 6.x answers 0 twice.
        Assert.Equal(2, ring.Submit());
        Dictionary<ulong, Cqe> done = ReapByUserData(ring, 3);
        Assert.Equal(-E.ECANCELED, done[1].Res);
        Assert.Equal(0, done[2].Res);
        Assert.Contains(done[3].Res, new[] { 0, -E.ENOENT, -E.EALREADY });
        Assert.Equal(0, ring.InFlight);
        Assert.False(ring.TryPeekCqe(out _));
    }

    [UringFact]
    public void Cancelling_a_completed_request_is_ENOENT()
    {
        using var ring = new Ring(4);
        ring.NextSqe(1).PrepNop();
        Assert.Equal(1, ring.Submit());
        Assert.Equal(0, Reap(ring, 1)[0].Res);

        ring.NextSqe(2).PrepCancel(1);
        Assert.Equal(1, ring.Submit());
        Assert.Equal(-E.ENOENT, Reap(ring, 1)[0].Res);
    }

    [UringFact]
    public void Cancel_with_All_cancels_every_request_with_that_user_data_and_counts_them()
    {
        using var pipe = new TestPipe();
        using var a = new NativeBuffer(16);
        using var b = new NativeBuffer(16);
        using var ring = new Ring(4);

        ring.GetSqe().PrepPipeRead(pipe.ReadFd, a, 5);
        ring.GetSqe().PrepPipeRead(pipe.ReadFd, b, 5);
        Assert.Equal(2, ring.Submit());
        ring.NextSqe(6).PrepCancel(5, AsyncCancelFlags.All);
        Assert.Equal(1, ring.Submit());

        Cqe[] done = Reap(ring, 3);
        Assert.Equal(2, done.Single(c => c.UserData == 6).Res);
        Assert.Equal([-E.ECANCELED, -E.ECANCELED], done.Where(c => c.UserData == 5).Select(c => c.Res));
    }

    [UringFact(Opcode.AsyncCancel)]
    public void CancelFd_cancels_the_requests_on_that_fd_only()
    {
        using var target = new TestPipe();
        using var other = new TestPipe();
        using var b1 = new NativeBuffer(16);
        using var b2 = new NativeBuffer(16);
        using var b3 = new NativeBuffer(16);
        using var ring = new Ring(8);

        ring.GetSqe().PrepPipeRead(target.ReadFd, b1, 1);
        ring.GetSqe().PrepPipeRead(target.ReadFd, b2, 2);
        ring.GetSqe().PrepPipeRead(other.ReadFd, b3, 3);
        Assert.Equal(3, ring.Submit());

        ring.NextSqe(10).PrepCancelFd(target.ReadFd, AsyncCancelFlags.All);
        Assert.Equal(1, ring.Submit());

        Dictionary<ulong, Cqe> done = ReapByUserData(ring, 3);
        Assert.Equal(2, done[10].Res);
        Assert.Equal(-E.ECANCELED, done[1].Res);
        Assert.Equal(-E.ECANCELED, done[2].Res);
        Assert.Equal(1, ring.InFlight);

        // The read on the other pipe is untouched and still works.
        other.Put("ok"u8);
        Cqe last = Reap(ring, 1)[0];
        Assert.Equal(3UL, last.UserData);
        Assert.Equal(2, last.Res);
        Assert.Equal("ok"u8.ToArray(), b3.Span[..2].ToArray());
        Assert.Equal(0, ring.InFlight);
    }

    [UringFact]
    public void CancelFd_without_All_cancels_one_request()
    {
        using var pipe = new TestPipe();
        using var b1 = new NativeBuffer(16);
        using var b2 = new NativeBuffer(16);
        using var ring = new Ring(8);

        ring.GetSqe().PrepPipeRead(pipe.ReadFd, b1, 1);
        ring.GetSqe().PrepPipeRead(pipe.ReadFd, b2, 2);
        Assert.Equal(2, ring.Submit());
        ring.NextSqe(10).PrepCancelFd(pipe.ReadFd);
        Assert.Equal(1, ring.Submit());

        Dictionary<ulong, Cqe> done = ReapByUserData(ring, 2);
        Assert.Equal(0, done[10].Res);
        Cqe cancelled = done.Values.Single(c => c.UserData != 10);
        Assert.Equal(-E.ECANCELED, cancelled.Res);
        Assert.Equal(1, ring.InFlight);

        pipe.Put("z"u8);
        Cqe survivor = Reap(ring, 1)[0];
        Assert.NotEqual(cancelled.UserData, survivor.UserData);
        Assert.Equal(1, survivor.Res);
    }

    [UringFact]
    public void CancelAny_cancels_every_blocked_read_and_counts_them()
    {
        using var ring = new Ring(8);
        var pipes = new TestPipe[3];
        var buffers = new NativeBuffer[3];
        try
        {
            for (int i = 0; i < 3; i++)
            {
                pipes[i] = new TestPipe();
                buffers[i] = new NativeBuffer(16);
                ring.GetSqe().PrepPipeRead(pipes[i].ReadFd, buffers[i], (ulong)(i + 1));
            }

            ring.PrepTimeout(TimeSpan.FromSeconds(30)).UserData = 4;
            Assert.Equal(4, ring.Submit());

            ring.NextSqe(10).PrepCancelAny();
            Assert.Equal(1, ring.Submit());

            Dictionary<ulong, Cqe> done = ReapByUserData(ring, 5);
            Assert.Equal(4, done[10].Res);
            for (ulong ud = 1; ud <= 4; ud++)
            {
                Assert.Equal(-E.ECANCELED, done[ud].Res);
            }

            Assert.Equal(0, ring.InFlight);
        }
        finally
        {
            foreach (TestPipe? p in pipes)
            {
                p?.Dispose();
            }

            foreach (NativeBuffer? b in buffers)
            {
                b?.Dispose();
            }
        }
    }
}
