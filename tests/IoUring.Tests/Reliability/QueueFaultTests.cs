namespace IoUring.Tests.Reliability;

/// <summary>
/// Full queues lose nothing. A full SQ is a clear <see cref="SubmissionQueueFullException"/> that leaves every SQE
/// already prepared intact for the next Submit. A full CQ (the kernel has NODROP) parks completions in the kernel's
/// overflow list, including asynchronous ones that finish while the CQ is full, and hands every one of them over,
/// with its data, exactly once as the CQ drains; <see cref="Ring.CqOverflow"/> (dropped CQEs) stays 0.
/// </summary>
public sealed class QueueFaultTests
{
    [UringFact]
    public void Asynchronous_completions_that_arrive_while_the_CQ_is_full_are_all_delivered_with_their_data()
    {
        const int pipes = 8;
        using var ring = new Ring(8, new RingOptions { CqEntries = 8 });
        Assert.True((ring.Features & RingFeatures.NoDrop) != 0);
        var pipeList = new List<TestPipe>();
        var buffers = new List<NativeBuffer>();
        try
        {
            for (int i = 0; i < pipes; i++)
            {
                pipeList.Add(new TestPipe());
                buffers.Add(new NativeBuffer(64));
                ring.NextSqe((ulong)i).PrepRead(pipeList[i].ReadFd, buffers[i], ulong.MaxValue);
            }

            Assert.Equal(pipes, ring.Submit());

            // Fill the CQ with 16 NOPs (8 fit, 8 go to the overflow list) while the reads wait.
            for (int round = 0; round < 2; round++)
            {
                for (int i = 0; i < 8; i++)
                {
                    ring.NextSqe(1000UL + (ulong)((round * 8) + i)).PrepNop();
                }

                Assert.Equal(8, ring.Submit());
            }

            Assert.Equal(8u, ring.CqReady);
            Assert.True(ring.IsCqOverflowPending);

            // Now the reads complete, into a CQ that has no room.
            for (int i = 0; i < pipes; i++)
            {
                pipeList[i].Put(System.Text.Encoding.ASCII.GetBytes($"pipe {i}"));
            }

            Dictionary<ulong, Cqe> cqes = RingKit.ReapByUserData(ring, pipes + 16);
            for (int i = 0; i < pipes; i++)
            {
                Assert.Equal(6, cqes[(ulong)i].Res);
                Assert.Equal($"pipe {i}", System.Text.Encoding.ASCII.GetString(buffers[i].Span[..6]));
            }

            for (int n = 0; n < 16; n++)
            {
                Assert.Equal(0, cqes[1000UL + (ulong)n].Res);
            }

            Assert.Equal(0u, ring.CqOverflow);
            Assert.False(ring.IsCqOverflowPending);
            RingKit.AssertQuiet(ring);
        }
        finally
        {
            pipeList.ForEach(p => p.Dispose());
            buffers.ForEach(b => b.Dispose());
        }
    }

    [UringFact]
    public void File_reads_overflowing_the_CQ_round_after_round_each_complete_once_with_the_right_bytes()
    {
        const int rounds = 6;
        const int perRound = 4;
        const int chunk = 512;
        using var file = new TempFile(rounds * perRound * chunk, seed: 41);
        using var handle = file.Open();
        int fd = (int)handle.DangerousGetHandle();
        using var ring = new Ring(4, new RingOptions { CqEntries = 4 });
        using var buffer = new NativeBuffer(rounds * perRound * chunk);

        for (int r = 0; r < rounds; r++)
        {
            for (int i = 0; i < perRound; i++)
            {
                int index = (r * perRound) + i;
                ring.NextSqe((ulong)index).PrepRead(fd, buffer.Address + (index * chunk), chunk, (ulong)(index * chunk));
            }

            Assert.Equal(perRound, ring.Submit());
        }

        Dictionary<ulong, Cqe> cqes = RingKit.ReapByUserData(ring, rounds * perRound);
        Assert.All(cqes.Values, c => Assert.Equal(chunk, c.Res));
        Assert.True(buffer.Span.SequenceEqual(file.Content));
        Assert.Equal(0u, ring.CqOverflow);
        RingKit.AssertQuiet(ring);
    }

    [UringFact]
    public void A_full_SQ_throws_a_clear_exception_and_the_prepared_SQEs_are_submitted_once_afterwards()
    {
        using var pipe = new TestPipe();
        using var buffer = new NativeBuffer(64);
        using var ring = new Ring(4);

        for (int i = 0; i < 4; i++)
        {
            ring.NextSqe((ulong)i).PrepNop();
        }

        SubmissionQueueFullException full = Assert.Throws<SubmissionQueueFullException>(() => ring.GetSqe());
        Assert.Contains("Submit()", full.Message, StringComparison.Ordinal);
        Assert.Equal(4u, ring.SqPending);
        Assert.Equal(0u, ring.SqSpaceLeft);

        Assert.Equal(4, ring.Submit());
        Dictionary<ulong, Cqe> cqes = RingKit.ReapByUserData(ring, 4);
        Assert.Equal(new ulong[] { 0, 1, 2, 3 }, cqes.Keys.Order());

        // The ring is fully usable again.
        ring.GetSqe().PrepPipeRead(pipe.ReadFd, buffer, 9);
        Assert.Equal(1, ring.Submit());
        pipe.Put("ok"u8);
        Assert.Equal(2, RingKit.ReapByUserData(ring, 1)[9].Res);
        RingKit.AssertQuiet(ring);
    }
}
