namespace IoUring.Tests.Reliability;

/// <summary>
/// Issue 16, seed 12 of the Ring fuzzer: a multishot timeout with a period of microseconds and no repeat count cannot
/// be cancelled reliably (the kernel takes it off its timeout list each time it fires and puts it back only when the
/// re-arming task work runs, and ASYNC_CANCEL looks only at that list), so <see cref="Ring.Dispose()"/> used to reap
/// its endless <c>-ETIME</c> CQEs for the whole <see cref="RingOptions.DisposeDrainTimeout"/> (30 s in the fuzzer) and
/// then keep registered memory pinned forever. Now the drain recognises the timer stream and closes the ring promptly,
/// while everything that can touch memory is still drained first.
/// </summary>
[Collection(nameof(PinnedForeverCollection))]
public sealed class MultishotTimerDisposeTests
{
    private static readonly TimeSpan LongDrain = TimeSpan.FromSeconds(30);

    /// <summary>Whether the kernel refused a multishot timeout (<c>EINVAL</c> before 6.4), found once with an hour-long timer.</summary>
    private static readonly Lazy<bool> s_multishotRefused = new(() =>
    {
        using var ring = new Ring(4);
        ring.PrepTimeout(TimeSpan.FromHours(1), count: 0, TimeoutFlags.Multishot).UserData = 1;
        _ = ring.Submit();
        return ring.TryPeekCqe(out Cqe cqe) && cqe.UserData == 1 && cqe.Res == -E.EINVAL;
    });

    /// <summary>Every test here arms a multishot timeout: skips before 6.4 when the kernel refuses one, fails after.</summary>
    private static void RequireMultishotTimeouts() =>
        Kernel.RequireRefusalMeansOldKernel(s_multishotRefused.Value, 6, 4, "IORING_TIMEOUT_MULTISHOT");

    /// <summary>The ring flavours: plain (task work signalled), COOP_TASKRUN, and DEFER_TASKRUN, where task work runs
    /// only inside io_uring_enter, after the submitted cancel has already looked for the timer.</summary>
    public static TheoryData<string, long> Flavours()
    {
        var data = new TheoryData<string, long>();
        foreach (string flavour in new[] { "plain", "coop", "defer" })
        {
            data.Add(flavour, 0); // fires as soon as it is armed
            data.Add(flavour, 10); // 1 µs
            data.Add(flavour, 1_000); // 100 µs
        }

        return data;
    }

    /// <summary>
    /// Disposes <paramref name="ring"/> (its drain timeout is <see cref="LongDrain"/>) and asserts the drain ended
    /// promptly with nothing left: no request in flight, the pipe read whose buffer is <paramref name="canary"/>
    /// (filled with 0xC5) gone without writing it, nothing pinned for ever.
    /// </summary>
    private static void DisposePromptlyAndDrained(Ring ring, TestPipe pipe, NativeBuffer canary, int pinnedBefore)
    {
        TimeSpan took = RingKit.Time(ring.Dispose);

        Assert.True(took < TimeSpan.FromSeconds(5), $"Dispose took {took} with a {LongDrain} drain timeout and left {ring.InFlight} requests undrained");
        Assert.Equal(0, ring.InFlight);
        pipe.AssertNobodyReads(canary, 0xC5);
        Assert.Equal(pinnedBefore, PinnedForever.Count);
    }

    private static RingOptions Options(string flavour) => flavour switch
    {
        "coop" => new RingOptions { DisposeDrainTimeout = LongDrain, CoopTaskRun = true, TaskRunFlag = true },
        "defer" => new RingOptions { DisposeDrainTimeout = LongDrain, SingleIssuer = true, DeferTaskRun = true },
        _ => new RingOptions { DisposeDrainTimeout = LongDrain },
    };

    [UringTheory]
    [MemberData(nameof(Flavours))]
    public void Dispose_returns_promptly_and_drained_when_a_short_multishot_timeout_outruns_every_cancel(string flavour, long periodTicks)
    {
        RequireMultishotTimeouts();
        int pinnedBefore = PinnedForever.Count;
        byte[] registered = new byte[4096];
        var ring = new Ring(8, Options(flavour));
        ring.RegisterBuffers([registered]);
        ref Sqe timer = ref ring.PrepTimeout(TimeSpan.FromTicks(periodTicks), count: 0, TimeoutFlags.Multishot | TimeoutFlags.EtimeSuccess);
        timer.UserData = 7;
        ring.Submit();
        Cqe first = RingKit.Next(ring);
        Assert.Equal(-62, first.Res); // -ETIME
        Assert.True(first.HasMore, "a multishot timeout's CQEs carry IORING_CQE_F_MORE");

        TimeSpan took = RingKit.Time(ring.Dispose);

        Assert.True(took < TimeSpan.FromSeconds(5), $"Dispose took {took} with a {LongDrain} drain timeout (it waited for a timer it cannot cancel)");
        Assert.Equal(0, ring.InFlight);
        Assert.Equal(pinnedBefore, PinnedForever.Count);
    }

    [UringTheory]
    [InlineData("plain")]
    [InlineData("coop")]
    [InlineData("defer")]
    public void A_pipe_read_beside_an_uncancellable_timer_is_still_cancelled_and_drained_before_Dispose_returns(string flavour)
    {
        RequireMultishotTimeouts();
        int pinnedBefore = PinnedForever.Count;
        using var pipe = new TestPipe();
        using var canary = new NativeBuffer(256);
        canary.Span.Fill(0xC5);
        var ring = new Ring(8, Options(flavour));
        ring.PrepTimeout(TimeSpan.FromTicks(10), count: 0, TimeoutFlags.Multishot).UserData = 7;
        ring.GetSqe().PrepPipeRead(pipe.ReadFd, canary, userData: 8);
        ring.Submit();
        Assert.Equal(2, ring.InFlight);

        DisposePromptlyAndDrained(ring, pipe, canary, pinnedBefore);
    }

    /// <summary>The link kinds a request can hang behind a timer with, with and without IORING_TIMEOUT_ETIME_SUCCESS.</summary>
    public static TheoryData<string, SqeFlags, bool> LinkedFlavours()
    {
        var data = new TheoryData<string, SqeFlags, bool>();
        foreach (string flavour in new[] { "plain", "coop", "defer" })
        {
            data.Add(flavour, SqeFlags.IoLink, false); // the timer's -ETIME fails the link: the read gets -ECANCELED
            data.Add(flavour, SqeFlags.IoLink, true); // ETIME_SUCCESS: the read is issued, then cancelled
            data.Add(flavour, SqeFlags.IoHardLink, false); // a hard link issues the read whatever the timer's result
        }

        return data;
    }

    /// <summary>
    /// Issue 16, Ring fuzz seed 61: a request linked behind a short multishot timeout is not issued until the timer
    /// completes for good, and no cancel can find it meanwhile (only its link head knows it); the timer never completes
    /// by itself and outruns every cancel, so Dispose waited its whole 30 s and left 2 requests undrained (the
    /// uncancellable-timer rule applied only when every request left was such a timer). Now the drain lets the CQ
    /// fill, the kernel ends the timer (a multishot post that finds no room completes it), and the linked read is
    /// failed or issued and cancelled: drained, its buffer never written, nothing pinned for ever.
    /// </summary>
    [UringTheory]
    [MemberData(nameof(LinkedFlavours))]
    public void A_read_linked_behind_an_uncancellable_timer_is_released_cancelled_and_drained_before_Dispose_returns(string flavour, SqeFlags link, bool etimeSuccess)
    {
        RequireMultishotTimeouts();
        int pinnedBefore = PinnedForever.Count;
        using var pipe = new TestPipe();
        using var canary = new NativeBuffer(256);
        canary.Span.Fill(0xC5);
        byte[] registered = new byte[4096];
        var ring = new Ring(8, Options(flavour));
        ring.RegisterBuffers([registered]);
        TimeoutFlags flags = TimeoutFlags.Multishot | (etimeSuccess ? TimeoutFlags.EtimeSuccess : TimeoutFlags.None);
        ref Sqe timer = ref ring.PrepTimeout(TimeSpan.FromTicks(10), count: 0, flags);
        timer.UserData = 7;
        timer.Flags |= link;
        ring.GetSqe().PrepPipeRead(pipe.ReadFd, canary, userData: 8);
        ring.Submit();
        Cqe first = RingKit.Next(ring);
        Assert.Equal(7ul, first.UserData);
        Assert.True(first.HasMore, "the timer fires and stays armed");
        Assert.Equal(2, ring.InFlight);

        DisposePromptlyAndDrained(ring, pipe, canary, pinnedBefore);
    }

    /// <summary>
    /// Issue 16, Ring fuzz seed 59: the same link on a DEFER_TASKRUN ring whose DisposeDrainTimeout is infinite made
    /// Dispose reap the timer's CQEs for ever (the fuzzer's watchdog killed the process after 90 s). The ring is used
    /// on a thread of its own (DEFER_TASKRUN needs SINGLE_ISSUER: only the creating thread may enter it), so a hang
    /// fails the test instead of blocking it.
    /// </summary>
    [UringFact]
    public void Dispose_with_an_infinite_drain_timeout_returns_when_a_request_waits_behind_an_uncancellable_timer()
    {
        RequireMultishotTimeouts();
        int pinnedBefore = PinnedForever.Count;
        using var pipe = new TestPipe();

        // Not disposed by the test when Dispose hangs: the read may still be in the kernel then.
        var canary = new NativeBuffer(256);
        canary.Span.Fill(0xC5);
        Ring? ring = null;
        Exception? failure = null;
        var disposed = new ManualResetEventSlim();
        var owner = new Thread(() =>
        {
            try
            {
                ring = new Ring(8, new RingOptions { DisposeDrainTimeout = Timeout.InfiniteTimeSpan, SingleIssuer = true, DeferTaskRun = true });
                ref Sqe timer = ref ring.PrepTimeout(TimeSpan.Zero, count: 0, TimeoutFlags.Multishot | TimeoutFlags.EtimeSuccess);
                timer.UserData = 7;
                timer.Flags |= SqeFlags.IoLink;
                ring.GetSqe().PrepPipeRead(pipe.ReadFd, canary, userData: 8);
                ring.Submit();
                Assert.True(RingKit.Next(ring).HasMore, "the timer fires and stays armed");
                ring.Dispose();
            }
            catch (Exception e)
            {
                failure = e;
            }
            finally
            {
                disposed.Set();
            }
        })
        {
            IsBackground = true,
            Name = "seed 59 ring",
        };
        owner.Start();

        Assert.True(disposed.Wait(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken), "Dispose with an infinite drain timeout did not return within 10 s");
        Assert.Null(failure);
        Assert.Equal(0, ring!.InFlight);
        pipe.AssertNobodyReads(canary, 0xC5);
        Assert.Equal(pinnedBefore, PinnedForever.Count);
        canary.Dispose();
        disposed.Dispose();
    }

    /// <summary>
    /// Ring fuzz seed 9 of the final sweep (issue 16): a multishot timeout with a period of ~20 ms, issued after the
    /// drain's first cancel had passed (here: hard-linked behind a read that cancel fails), fires during the round,
    /// and a read waits linked behind it. The drain ends such a timer by letting the CQ fill, and it used to wait for
    /// the timer itself to fill it: 8,192 entries at one CQE per 20 ms is nearly three minutes (the fuzzer's watchdog
    /// called it a hang). Now the drain fills the CQ with NOPs to one short of full and the timer ends within two of
    /// its periods.
    /// </summary>
    [UringTheory]
    [InlineData("plain")]
    [InlineData("defer")]
    public void A_slow_timer_issued_after_the_first_cancel_with_a_read_behind_it_is_ended_quickly_on_a_large_CQ(string flavour)
    {
        RequireMultishotTimeouts();
        int pinnedBefore = PinnedForever.Count;
        using var pipe = new TestPipe();
        using var head = new NativeBuffer(256);
        using var canary = new NativeBuffer(256);
        head.Span.Fill(0xC5);
        canary.Span.Fill(0xC5);
        var ring = new Ring(4096, Options(flavour));
        Assert.Equal(8192u, ring.CqEntries);
        ref Sqe first = ref ring.GetSqe();
        first.PrepPipeRead(pipe.ReadFd, head, userData: 6);
        first.Flags |= SqeFlags.IoHardLink;
        ref Sqe timer = ref ring.PrepTimeout(TimeSpan.FromMilliseconds(20), count: 0, TimeoutFlags.Multishot | TimeoutFlags.EtimeSuccess);
        timer.UserData = 7;
        timer.Flags |= SqeFlags.IoLink;
        ring.GetSqe().PrepPipeRead(pipe.ReadFd, canary, userData: 8);
        ring.Submit();
        Assert.Equal(3, ring.InFlight);

        TimeSpan took = RingKit.Time(ring.Dispose);

        Assert.True(took < TimeSpan.FromSeconds(5), $"Dispose took {took} with a {LongDrain} drain timeout and left {ring.InFlight} requests undrained");
        Assert.Equal(0, ring.InFlight);
        pipe.AssertNobodyReads(head, 0xC5);
        pipe.AssertNobodyReads(canary, 0xC5);
        Assert.Equal(pinnedBefore, PinnedForever.Count);
    }

    [UringFact]
    public void A_multishot_timeout_with_a_long_period_is_cancelled_normally_by_Dispose()
    {
        RequireMultishotTimeouts();
        var ring = new Ring(8, new RingOptions { DisposeDrainTimeout = LongDrain });
        ring.PrepTimeout(TimeSpan.FromSeconds(10), count: 0, TimeoutFlags.Multishot).UserData = 7;
        ring.Submit();

        TimeSpan took = RingKit.Time(ring.Dispose);

        Assert.True(took < TimeSpan.FromSeconds(2), $"Dispose took {took}");
        Assert.Equal(0, ring.InFlight);
    }
}
