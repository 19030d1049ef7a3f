namespace IoUring.Tests.RingTests;

/// <summary>What happens at the edges of the two queues: a full SQ, and a CQ that overflows into the kernel's backlog.</summary>
public sealed class QueueLimitTests
{
    [UringFact]
    public void A_full_SQ_throws_a_useful_exception_and_loses_nothing()
    {
        using var ring = new Ring(8);
        Assert.Equal(8u, ring.SqEntries);
        Assert.Equal(8u, ring.SqSpaceLeft);

        for (uint i = 0; i < 8; i++)
        {
            Assert.Equal(i, ring.SqPending);
            Assert.Equal(i, ring.SqReady);
            Assert.Equal(8 - i, ring.SqSpaceLeft);
            ring.NextSqe(100 + i).PrepNop();
        }

        Assert.Equal(0u, ring.SqSpaceLeft);
        Assert.Equal(8u, ring.SqPending);
        Assert.Equal(8u, ring.SqReady);

        var e = Assert.Throws<SubmissionQueueFullException>(() => ring.GetSqe());
        Assert.Contains("all 8 SQEs are taken", e.Message, StringComparison.Ordinal);
        Assert.Contains("8 prepared but not submitted", e.Message, StringComparison.Ordinal);
        Assert.Contains("Submit()", e.Message, StringComparison.Ordinal);
        // The failed GetSqe took no slot.
        Assert.Equal(8u, ring.SqPending);

        Assert.Equal(8, ring.Submit());
        Assert.Equal(0u, ring.SqPending);
        Assert.Equal(0u, ring.SqReady);
        Assert.Equal(8u, ring.SqSpaceLeft);

        // The slots are back: a second full round fits.
        for (uint i = 0; i < 8; i++)
        {
            ring.NextSqe(200 + i).PrepNop();
        }

        Assert.Equal(8, ring.Submit());
        Dictionary<ulong, Cqe> done = RingKit.ReapByUserData(ring, 16);
        Assert.Equal(
            Enumerable.Range(100, 8).Concat(Enumerable.Range(200, 8)).Select(i => (ulong)i).Order(),
            done.Keys.Order());
        Assert.All(done.Values, c => Assert.Equal(0, c.Res));
        Assert.Equal(0, ring.InFlight);
    }

    [UringFact]
    public void The_message_counts_both_unsubmitted_and_unconsumed_SQEs()
    {
        using var ring = new Ring(4);
        for (int i = 0; i < 4; i++)
        {
            ring.GetSqe().PrepNop();
        }

        var e = Assert.Throws<SubmissionQueueFullException>(() => ring.GetSqe());
        Assert.Contains("4 prepared but not submitted, 0 submitted but not yet consumed", e.Message, StringComparison.Ordinal);
        Assert.Equal(4, ring.Submit());
        _ = RingKit.Reap(ring, 4);
    }

    [UringFact]
    public void CQ_overflow_with_NODROP_delivers_every_completion_exactly_once()
    {
        using var ring = new Ring(16, new RingOptions { CqEntries = 16 });
        Assert.Equal(16u, ring.CqEntries);
        Assert.True((ring.Features & RingFeatures.NoDrop) != 0, "every io_uring kernel since 5.5 has NODROP");

        const int rounds = 8;
        int total = 0;
        for (int r = 0; r < rounds; r++)
        {
            for (int i = 0; i < 16; i++)
            {
                ring.NextSqe((ulong)total++).PrepNop();
            }

            // Round 0 fills the CQ; every later round is submitted while completions wait in the overflow backlog.
            // Linux 5.19+ keeps accepting submissions here (older kernels answered EBUSY).
            Assert.Equal(16, ring.Submit());
            Assert.Equal(16u, ring.CqReady);
            Assert.Equal(r > 0, ring.IsCqOverflowPending);
        }

        Assert.Equal(128, ring.InFlight);
        Assert.Equal(0u, ring.CqOverflow);

        var seen = new bool[total];
        for (int i = 0; i < total; i++)
        {
            Cqe cqe = ring.WaitCqe();
            Assert.Equal(0, cqe.Res);
            Assert.False(seen[cqe.UserData], $"user_data {cqe.UserData} completed twice");
            seen[cqe.UserData] = true;
            ring.CqeSeen(cqe);
        }

        Assert.All(seen, Assert.True);
        Assert.False(ring.IsCqOverflowPending);
        Assert.Equal(0u, ring.CqOverflow);
        Assert.Equal(0u, ring.CqReady);
        Assert.Equal(0, ring.InFlight);
        Assert.False(ring.TryPeekCqe(out _));
        Assert.Throws<WaitWouldBlockForeverException>(() => ring.WaitCqe());
    }

    [UringFact]
    public void CQ_overflow_backlog_drains_through_PeekBatchCqe_and_ReadyCqes_too()
    {
        using var ring = new Ring(8, new RingOptions { CqEntries = 8 });
        for (int r = 0; r < 4; r++)
        {
            for (int i = 0; i < 8; i++)
            {
                ring.NextSqe((ulong)((r * 8) + i)).PrepNop();
            }

            Assert.Equal(8, ring.Submit());
        }

        Assert.True(ring.IsCqOverflowPending);
        var seen = new HashSet<ulong>();
        Span<Cqe> batch = new Cqe[5];
        bool usePeek = true;
        int guard = 0;
        while (seen.Count < 32)
        {
            Assert.True(guard++ < 100, "the backlog did not drain");
            if (usePeek)
            {
                int n = ring.PeekBatchCqe(batch);
                foreach (Cqe c in batch[..n])
                {
                    Assert.True(seen.Add(c.UserData), $"user_data {c.UserData} twice");
                }

                ring.CqAdvance((uint)n);
            }
            else
            {
                CompletionBatch ready = ring.ReadyCqes;
                foreach (ref readonly Cqe c in ready)
                {
                    Assert.True(seen.Add(c.UserData), $"user_data {c.UserData} twice");
                }

                ring.CqAdvance(ready.Count);
            }

            usePeek = !usePeek;
        }

        Assert.Equal(32, seen.Count);
        Assert.False(ring.IsCqOverflowPending);
        Assert.Equal(0, ring.InFlight);
        Assert.Equal(0, ring.PeekBatchCqe(batch));
        Assert.Equal(0u, ring.ReadyCqes.Count);
    }

    [UringFact]
    public void CqAdvance_refuses_more_than_are_ready()
    {
        using var ring = new Ring(4);
        ring.GetSqe().PrepNop();
        Assert.Equal(1, ring.SubmitAndWait(1));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ring.CqAdvance(2));
        Assert.Contains("Only 1 CQEs are ready", e.Message, StringComparison.Ordinal);
        ring.CqAdvance(1);
        Assert.Equal(0, ring.InFlight);
    }
}
