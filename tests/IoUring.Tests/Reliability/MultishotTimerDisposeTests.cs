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

    private static RingOptions Options(string flavour) => flavour switch
    {
        "coop" => new RingOptions { DisposeDrainTimeout = LongDrain, CoopTaskRun = true, TaskRunFlag = true },
        "defer" => new RingOptions { DisposeDrainTimeout = LongDrain, SingleIssuer = true, DeferTaskRun = true },
        _ => new RingOptions { DisposeDrainTimeout = LongDrain },
    };

    [Theory]
    [MemberData(nameof(Flavours))]
    public void Dispose_returns_promptly_and_drained_when_a_short_multishot_timeout_outruns_every_cancel(string flavour, long periodTicks)
    {
        Kernel.RequireIoUring();
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

    [Theory]
    [InlineData("plain")]
    [InlineData("coop")]
    [InlineData("defer")]
    public void A_pipe_read_beside_an_uncancellable_timer_is_still_cancelled_and_drained_before_Dispose_returns(string flavour)
    {
        Kernel.RequireIoUring();
        int pinnedBefore = PinnedForever.Count;
        using var pipe = new TestPipe();
        using var canary = new NativeBuffer(256);
        canary.Span.Fill(0xC5);
        var ring = new Ring(8, Options(flavour));
        ring.PrepTimeout(TimeSpan.FromTicks(10), count: 0, TimeoutFlags.Multishot).UserData = 7;
        ring.GetSqe().PrepPipeRead(pipe.ReadFd, canary, userData: 8);
        ring.Submit();
        Assert.Equal(2, ring.InFlight);

        TimeSpan took = RingKit.Time(ring.Dispose);

        Assert.True(took < TimeSpan.FromSeconds(5), $"Dispose took {took}");
        Assert.Equal(0, ring.InFlight);
        pipe.AssertNobodyReads(canary, 0xC5);
        Assert.Equal(pinnedBefore, PinnedForever.Count);
    }

    [Fact]
    public void A_multishot_timeout_with_a_long_period_is_cancelled_normally_by_Dispose()
    {
        Kernel.RequireIoUring();
        var ring = new Ring(8, new RingOptions { DisposeDrainTimeout = LongDrain });
        ring.PrepTimeout(TimeSpan.FromSeconds(10), count: 0, TimeoutFlags.Multishot).UserData = 7;
        ring.Submit();

        TimeSpan took = RingKit.Time(ring.Dispose);

        Assert.True(took < TimeSpan.FromSeconds(2), $"Dispose took {took}");
        Assert.Equal(0, ring.InFlight);
    }
}
