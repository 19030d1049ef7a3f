using static IoUring.Tests.RingKit;

namespace IoUring.Tests.RingTests;

/// <summary>Timeout requests: pure timers, completion counts, removal, update and linked timeouts.</summary>
public sealed class TimeoutTests
{
    [UringFact]
    public void A_timeout_fires_with_ETIME_after_its_time()
    {
        using var ring = new Ring(4);
        ring.PrepTimeout(TimeSpan.FromMilliseconds(150)).UserData = 7;

        // Timed from before the submit that arms the timer (as every lower bound here), so a thread descheduled
        // after Submit cannot make the timer look early.
        Cqe cqe = default;
        TimeSpan took = Time(() =>
        {
            Assert.Equal(1, ring.Submit());
            cqe = ring.WaitCqe();
        });
        ring.CqeSeen(cqe);
        Assert.Equal(7UL, cqe.UserData);
        Assert.Equal(-E.ETIME, cqe.Res);
        Assert.True(took >= TimeSpan.FromMilliseconds(140) || Wait.TimeScale > 1, $"fired after {took.TotalMilliseconds} ms");
        Assert.True(took < Wait.Patience, $"fired after {took.TotalMilliseconds} ms");
        Assert.Equal(0, ring.InFlight);
    }

    [UringFact]
    public void A_count_timeout_completes_with_0_after_that_many_completions()
    {
        using var ring = new Ring(8);
        ring.PrepTimeout(TimeSpan.FromSeconds(30), count: 2).UserData = 100;
        for (ulong i = 1; i <= 2; i++)
        {
            ring.NextSqe(i).PrepNop();
        }

        Assert.Equal(3, ring.Submit());
        Dictionary<ulong, Cqe> done = null!;
        TimeSpan took = Time(() => done = ReapByUserData(ring, 3));
        Assert.Equal(0, done[100].Res);
        Assert.Equal(0, done[1].Res);
        Assert.Equal(0, done[2].Res);
        Assert.True(took < Wait.Patience, $"took {took.TotalMilliseconds} ms: the count did not end the 30 s timeout");
    }

    [UringFact]
    public void TimeoutRemove_cancels_the_timeout()
    {
        using var ring = new Ring(4);
        ring.PrepTimeout(TimeSpan.FromSeconds(30)).UserData = 1;
        Assert.Equal(1, ring.Submit());

        // The removal ends the timeout with ECANCELED; removing it again finds nothing.
        AssertStopsOnlyOnce(ring, static (ref Sqe s) => s.PrepTimeoutRemove(1));
    }

    [UringFact]
    public void TimeoutUpdate_moves_the_expiry()
    {
        using var ring = new Ring(4);
        ring.PrepTimeout(TimeSpan.FromSeconds(30)).UserData = 1;
        Assert.Equal(1, ring.Submit());
        ring.PrepTimeoutUpdate(1, TimeSpan.FromMilliseconds(50)).UserData = 2;

        Cqe[] done = null!;
        TimeSpan took = Time(() =>
        {
            Assert.Equal(1, ring.Submit());
            done = Reap(ring, 2);
        });
        Assert.Equal(2UL, done[0].UserData);
        Assert.Equal(0, done[0].Res);
        Assert.Equal(1UL, done[1].UserData);
        Assert.Equal(-E.ETIME, done[1].Res);
        Assert.True(took >= TimeSpan.FromMilliseconds(40) || Wait.TimeScale > 1, $"fired after {took.TotalMilliseconds} ms");
        Assert.True(took < Wait.Patience, $"fired after {took.TotalMilliseconds} ms: the update did not shorten the 30 s timeout");
    }

    [UringFact]
    public void TimeoutUpdate_of_an_unknown_timeout_is_ENOENT()
    {
        using var ring = new Ring(4);
        ring.PrepTimeoutUpdate(12345, TimeSpan.FromMilliseconds(50)).UserData = 2;
        Assert.Equal(1, ring.Submit());
        Assert.Equal(-E.ENOENT, Reap(ring, 1)[0].Res);
    }

    [UringFact]
    public void A_link_timeout_cancels_a_read_blocked_on_an_empty_pipe()
    {
        using var pipe = new TestPipe();
        using var buffer = new NativeBuffer(16);
        buffer.Span.Fill(0xAA);
        using var ring = new Ring(4);

        ref Sqe read = ref ring.GetSqe();
        read.PrepPipeRead(pipe.ReadFd, buffer, 1);
        read.Flags = SqeFlags.IoLink;
        ring.PrepLinkTimeout(TimeSpan.FromMilliseconds(100)).UserData = 2;

        // Timed from before the submit that arms the timer: a thread descheduled between Submit and the start of a
        // later stopwatch (a loaded machine) would see the timer fire early.
        Dictionary<ulong, Cqe> done = null!;
        TimeSpan took = Time(() =>
        {
            Assert.Equal(2, ring.Submit());
            done = ReapByUserData(ring, 2);
        });
        Assert.Equal(-E.ECANCELED, done[1].Res);
        Assert.Equal(-E.ETIME, done[2].Res);
        // An emulated guest's clock (the kernel matrix) is not exact enough for the lower bound.
        Assert.True(took >= TimeSpan.FromMilliseconds(90) || Wait.TimeScale > 1, $"cancelled after {took.TotalMilliseconds} ms");
        Assert.True(took < Wait.Patience, $"cancelled after {took.TotalMilliseconds} ms");
        Assert.All(buffer.Span.ToArray(), b => Assert.Equal(0xAA, b));

        // The cancelled read consumed nothing: what is written now is still all there.
        pipe.Put("xyz"u8);
        Assert.Equal("xyz"u8.ToArray(), pipe.ReadAvailable());
    }

    [UringFact]
    public void A_link_timeout_whose_request_finishes_first_is_cancelled()
    {
        using var pipe = new TestPipe();
        using var buffer = new NativeBuffer(16);
        using var ring = new Ring(4);
        pipe.Put("data"u8);

        ring.NextSqe(0, SqeFlags.IoLink).PrepPipeRead(pipe.ReadFd, buffer, 1);
        ring.PrepLinkTimeout(TimeSpan.FromSeconds(30)).UserData = 2;
        Assert.Equal(2, ring.Submit());

        Dictionary<ulong, Cqe> done = ReapByUserData(ring, 2);
        Assert.Equal(4, done[1].Res);
        Assert.Equal(-E.ECANCELED, done[2].Res);
        Assert.Equal("data"u8.ToArray(), buffer.Span[..4].ToArray());
    }

    [UringFact]
    public void A_multishot_timeout_stays_in_flight_until_its_last_CQE()
    {
        using var ring = new Ring(4);
        ring.PrepTimeout(TimeSpan.FromMilliseconds(20), count: 3, TimeoutFlags.Multishot).UserData = 9;
        Assert.Equal(1, ring.Submit());

        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(1, ring.InFlight);
            Cqe cqe = ring.WaitCqe();
            if (i == 0 && cqe.Res == -E.EINVAL)
            {
                ring.CqeSeen(cqe);
                Assert.Skip($"This kernel ({IoUringSupport.KernelRelease()}) has no IORING_TIMEOUT_MULTISHOT (6.4+).");
            }

            Assert.Equal(9UL, cqe.UserData);
            Assert.Equal(-E.ETIME, cqe.Res);
            Assert.Equal(i < 2, cqe.HasMore);
            ring.CqeSeen(cqe);
        }

        Assert.Equal(0, ring.InFlight);
        Assert.Throws<WaitWouldBlockForeverException>(() => ring.WaitCqe());
    }
}
