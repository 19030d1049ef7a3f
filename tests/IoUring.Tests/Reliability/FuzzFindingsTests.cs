using System.Diagnostics;

namespace IoUring.Tests.Reliability;

/// <summary>
/// Misuse that the fuzzer found mishandled, each now a clear exception or the documented behaviour. One test per
/// finding, so that each fix stays fixed.
/// </summary>
public sealed class FuzzFindingsTests
{
    [UringFact]
    public void SubmitAndWait_for_more_CQEs_than_the_CQ_holds_throws_instead_of_hanging()
    {
        using var ring = new Ring(4, new RingOptions { CqEntries = 8 });
        ring.GetSqe().PrepNop();
        ArgumentOutOfRangeException e = Assert.Throws<ArgumentOutOfRangeException>(() => ring.SubmitAndWait(9));
        Assert.Contains("8", e.Message, StringComparison.Ordinal);

        // Nothing was submitted by the refused call; the NOP goes with the next one.
        Assert.Equal(1u, ring.SqPending);
        Assert.Equal(1, ring.SubmitAndWait(1));
        ring.CqeSeen(ring.WaitCqe());
        RingKit.AssertQuiet(ring);
    }

    [UringFact]
    public void CqeSeen_with_no_CQE_ready_throws_and_the_CQ_stays_consistent()
    {
        using var ring = new Ring(4);
        Assert.Throws<InvalidOperationException>(() => ring.CqeSeen(default));
        Assert.Equal(0u, ring.CqReady);

        ring.GetSqe().PrepNop();
        ring.Submit();
        Cqe cqe = ring.WaitCqe();
        ring.CqeSeen(cqe);
        Assert.Throws<InvalidOperationException>(() => ring.CqeSeen(cqe));
        Assert.Equal(0u, ring.CqReady);
        Assert.False(ring.TryPeekCqe(out _));

        // The ring still works normally afterwards.
        ring.NextSqe(5).PrepNop();
        ring.Submit();
        Assert.Equal(5UL, RingKit.ReapByUserData(ring, 1).Keys.Single());
        RingKit.AssertQuiet(ring);
    }

    [UringFact]
    public void TryWaitCqe_with_TimeSpan_MaxValue_waits_instead_of_returning_false_at_once()
    {
        using var ring = new Ring(4);
        ring.PrepTimeout(TimeSpan.FromMilliseconds(100)).UserData = 1;
        ring.Submit();

        long start = Stopwatch.GetTimestamp();
        Assert.True(ring.TryWaitCqe(TimeSpan.MaxValue, out Cqe cqe));
        Assert.True(Stopwatch.GetElapsedTime(start) >= TimeSpan.FromMilliseconds(90));
        Assert.Equal(-E.ETIME, cqe.Res);
        ring.CqeSeen(cqe);
    }

    [UringFact]
    public void A_negative_DisposeDrainTimeout_is_refused_before_any_ring_is_created()
    {
        ArgumentOutOfRangeException e = Assert.Throws<ArgumentOutOfRangeException>(
            () => new Ring(4, new RingOptions { DisposeDrainTimeout = TimeSpan.FromSeconds(-1) }));
        Assert.Contains("DisposeDrainTimeout", e.Message, StringComparison.Ordinal);
    }

    [UringFact]
    public void SetupBufferRing_over_2_GiB_is_an_ArgumentOutOfRangeException_not_an_OverflowException()
    {
        using var ring = new Ring(4);
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.SetupBufferRing(1, 32768, 1 << 20));
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.SetupBufferRing(1, 3, 64));
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.SetupBufferRing(1, 4, 0));
    }

    [UringFact]
    public void A_ring_created_disabled_is_refused_because_it_could_never_be_enabled()
    {
        ArgumentException e = Assert.Throws<ArgumentException>(
            () => new Ring(4, new RingOptions { SqPoll = true, ExtraFlags = SetupFlags.RDisabled }));
        Assert.Contains("RDisabled", e.Message, StringComparison.Ordinal);
    }
}
