namespace IoUring.Tests.Reliability;

/// <summary>
/// Timeouts that fire and timeouts that are removed each yield exactly one CQE (-ETIME when fired, -ECANCELED when
/// removed, with the remove's own CQE 0), never a second one, and never disturb unrelated requests. Removing or
/// updating a timeout that already fired finds nothing (-ENOENT). A link timeout that fires cancels its request,
/// whose buffer is then never written.
/// </summary>
public sealed class TimeoutFaultTests
{
    [UringFact]
    public void A_timeout_that_fires_completes_once_with_ETIME_and_leaves_a_pending_read_alone()
    {
        using var pipe = new TestPipe();
        using var buffer = new NativeBuffer(64);
        using var ring = new Ring(8);

        ring.GetSqe().PrepPipeRead(pipe.ReadFd, buffer, 1);
        ring.PrepTimeout(TimeSpan.FromMilliseconds(20)).UserData = 2;
        ring.Submit();

        Assert.Equal(-E.ETIME, RingKit.ReapByUserData(ring, 1)[2].Res);
        Assert.Equal(1, ring.InFlight);

        // Removing or updating it now finds nothing.
        ring.NextSqe(3).PrepTimeoutRemove(2);
        ring.PrepTimeoutUpdate(2, TimeSpan.FromSeconds(1)).UserData = 4;
        ring.Submit();
        Dictionary<ulong, Cqe> cqes = RingKit.ReapByUserData(ring, 2);
        Assert.Equal(-E.ENOENT, cqes[3].Res);
        Assert.Equal(-E.ENOENT, cqes[4].Res);

        pipe.Put("ok"u8);
        Assert.Equal(2, RingKit.ReapByUserData(ring, 1)[1].Res);
        RingKit.AssertQuiet(ring);
    }

    [UringFact]
    public void A_removed_timeout_completes_once_with_ECANCELED_and_never_fires()
    {
        using var ring = new Ring(8);
        ring.PrepTimeout(TimeSpan.FromSeconds(30)).UserData = 1;
        ring.Submit();

        ring.NextSqe(2).PrepTimeoutRemove(1);
        ring.Submit();
        Dictionary<ulong, Cqe> cqes = RingKit.ReapByUserData(ring, 2);
        Assert.Equal(-E.ECANCELED, cqes[1].Res);
        Assert.Equal(0, cqes[2].Res);
        RingKit.AssertQuiet(ring);

        ring.ExpectExternalCompletions = true;
        RingKit.AssertNoCompletion(ring, TimeSpan.FromMilliseconds(300));
    }

    [UringFact]
    public void A_link_timeout_that_fires_cancels_the_read_whose_buffer_then_stays_untouched()
    {
        using var pipe = new TestPipe();
        using var buffer = new NativeBuffer(64);
        buffer.Span.Fill(0x99);
        using var ring = new Ring(8);

        ring.NextSqe(1, SqeFlags.IoLink).PrepRead(pipe.ReadFd, buffer, ulong.MaxValue);
        ring.PrepLinkTimeout(TimeSpan.FromMilliseconds(20)).UserData = 2;
        ring.Submit();

        Dictionary<ulong, Cqe> cqes = RingKit.ReapByUserData(ring, 2);
        Assert.Equal(-E.ECANCELED, cqes[1].Res);
        Assert.Equal(-E.ETIME, cqes[2].Res);

        pipe.Put("late"u8);
        Assert.Equal("late"u8.ToArray(), pipe.ReadAvailable());
        Assert.True(TestData.AllEqual(buffer.Span, 0x99));
        RingKit.AssertQuiet(ring);
    }

    [UringFact]
    public void Many_timeouts_half_removed_half_fired_each_complete_exactly_once()
    {
        const int n = 32;
        using var ring = new Ring(64);
        for (int i = 0; i < n; i++)
        {
            ring.PrepTimeout(TimeSpan.FromMilliseconds(i % 2 == 0 ? 10 : 30_000)).UserData = (ulong)i;
        }

        ring.Submit();
        for (int i = 1; i < n; i += 2)
        {
            ring.NextSqe(1000UL + (ulong)i).PrepTimeoutRemove((ulong)i);
        }

        ring.Submit();
        Dictionary<ulong, Cqe> cqes = RingKit.ReapByUserData(ring, n + (n / 2));
        for (int i = 0; i < n; i++)
        {
            Assert.Equal(i % 2 == 0 ? -E.ETIME : -E.ECANCELED, cqes[(ulong)i].Res);
            if (i % 2 == 1)
            {
                Assert.Equal(0, cqes[1000UL + (ulong)i].Res);
            }
        }

        RingKit.AssertQuiet(ring);
    }
}
