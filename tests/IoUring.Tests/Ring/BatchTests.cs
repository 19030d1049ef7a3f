namespace IoUring.Tests.RingTests;

/// <summary>Batches of NOPs: one Submit per batch, every user_data back exactly once, by each of the three reaping styles.</summary>
public sealed class BatchTests
{
    public enum Reaping
    {
        WaitCqeSeen,
        PeekBatchAdvance,
        ForEachAdvance,
    }

    private const ulong Tag = 0xC0FF_EE00_0000_0000;

    public static TheoryData<int, Reaping> Sizes()
    {
        var data = new TheoryData<int, Reaping>();
        foreach (int n in new[] { 1, 2, 31, 32, 33, 1000, 4096 })
        {
            foreach (Reaping r in Enum.GetValues<Reaping>())
            {
                data.Add(n, r);
            }
        }

        return data;
    }

    [UringTheory]
    [MemberData(nameof(Sizes))]
    public void A_batch_sized_to_the_ring_goes_in_one_Submit_and_every_user_data_comes_back_once(int n, Reaping reaping)
    {
        using var ring = new Ring((uint)n);
        Assert.True(ring.SqEntries >= n);

        for (int i = 0; i < n; i++)
        {
            ring.NextSqe(Tag | (uint)i).PrepNop();
        }

        Assert.Equal((uint)n, ring.SqPending);
        Assert.Equal(n, ring.Submit());
        Assert.Equal(0u, ring.SqPending);
        Assert.Equal(n, ring.InFlight);

        bool[] seen = new bool[n];
        Reap(ring, n, reaping, seen);
        Assert.All(seen, Assert.True);
        Assert.Equal(0, ring.InFlight);
        Assert.Equal(0u, ring.CqReady);
        Assert.Equal(0u, ring.CqOverflow);
    }

    [UringTheory]
    [InlineData(1000, Reaping.WaitCqeSeen)]
    [InlineData(1000, Reaping.PeekBatchAdvance)]
    [InlineData(4096, Reaping.ForEachAdvance)]
    public void A_batch_larger_than_the_ring_goes_in_rounds_of_SqEntries(int n, Reaping reaping)
    {
        using var ring = new Ring(32);
        bool[] seen = new bool[n];
        int next = 0;
        int submits = 0;
        while (next < n)
        {
            Assert.Equal(32u, ring.SqSpaceLeft);
            int round = Math.Min(32, n - next);
            for (int i = 0; i < round; i++)
            {
                ring.NextSqe(Tag | (uint)next++).PrepNop();
            }

            Assert.Equal(round, ring.Submit());
            submits++;
            Reap(ring, round, reaping, seen);
        }

        Assert.Equal((n + 31) / 32, submits);
        Assert.All(seen, Assert.True);
        Assert.Equal(0, ring.InFlight);
    }

    private static void Reap(Ring ring, int count, Reaping reaping, bool[] seen)
    {
        int reaped = 0;
        Span<Cqe> batch = new Cqe[64];
        while (reaped < count)
        {
            switch (reaping)
            {
                case Reaping.WaitCqeSeen:
                {
                    Cqe cqe = ring.WaitCqe();
                    Mark(cqe, seen);
                    ring.CqeSeen(cqe);
                    reaped++;
                    break;
                }

                case Reaping.PeekBatchAdvance:
                {
                    int got = ring.PeekBatchCqe(batch);
                    if (got == 0)
                    {
                        _ = ring.WaitCqe(Wait.Patience);
                        continue;
                    }

                    foreach (Cqe cqe in batch[..got])
                    {
                        Mark(cqe, seen);
                    }

                    ring.CqAdvance((uint)got);
                    reaped += got;
                    break;
                }

                case Reaping.ForEachAdvance:
                {
                    CompletionBatch ready = ring.ReadyCqes;
                    if (ready.Count == 0)
                    {
                        _ = ring.WaitCqe(Wait.Patience);
                        continue;
                    }

                    uint walked = 0;
                    foreach (ref readonly Cqe cqe in ready)
                    {
                        Mark(cqe, seen);
                        walked++;
                    }

                    Assert.Equal(ready.Count, walked);
                    ring.CqAdvance(ready.Count);
                    reaped += (int)ready.Count;
                    break;
                }
            }
        }
    }

    private static void Mark(in Cqe cqe, bool[] seen)
    {
        Assert.Equal(0, cqe.Res);
        Assert.Equal(CqeFlags.None, cqe.Flags);
        Assert.Equal(Tag, cqe.UserData & 0xFFFF_FFFF_0000_0000);
        int i = (int)(cqe.UserData & 0xFFFF_FFFF);
        Assert.InRange(i, 0, seen.Length - 1);
        Assert.False(seen[i], $"user_data {i} completed twice");
        seen[i] = true;
    }
}
