using static IoUring.Tests.RingKit;

namespace IoUring.Tests.RingTests;

/// <summary>SQPOLL: a kernel thread consumes the SQ, so submission races with it by design.</summary>
public sealed class SqPollTests
{
    [UringFact]
    public void SubmitAndWait_never_refuses_a_request_the_awake_poller_already_took()
    {
        // An awake poller can consume the SQE between Submit publishing it and reading sq.head back; the request must
        // still count as in flight, or the deadlock guard refuses a legitimate wait and InFlight stays one short.
        // (That window is a few nanoseconds, so this loop rarely hits it; it checks the accounting on every round.)
        using var ring = new Ring(4, new RingOptions { SqPoll = true, SqPollIdle = TimeSpan.FromMilliseconds(500) });
        Assert.True((ring.SetupFlags & SetupFlags.SqPoll) != 0);
        for (int i = 0; i < 500; i++)
        {
            ring.NextSqe((ulong)i).PrepNop();
            _ = ring.SubmitAndWait(1);
            Cqe cqe = ring.WaitCqe();
            Assert.Equal((ulong)i, cqe.UserData);
            ring.CqeSeen(cqe);
            Assert.Equal(0, ring.InFlight);
        }
    }

    [UringFact]
    public void Submission_works_after_the_poller_went_to_sleep()
    {
        using var file = new TempFile(8192, seed: 3);
        using var handle = file.Open();
        int fd = (int)handle.DangerousGetHandle();
        using var buffer = new NativeBuffer(4096);
        using var ring = new Ring(4, new RingOptions { SqPoll = true, SqPollIdle = TimeSpan.FromMilliseconds(10) });

        for (int round = 0; round < 3; round++)
        {
            // Let the poller idle out: it sets IORING_SQ_NEED_WAKEUP and sleeps, so Submit must wake it.
            long deadline = Environment.TickCount64 + (long)Wait.Patience.TotalMilliseconds;
            while (!ring.SqNeedsWakeup && Environment.TickCount64 < deadline)
            {
                Thread.Sleep(10);
            }

            Assert.True(ring.SqNeedsWakeup, "the SQPOLL thread never went to sleep");
            buffer.Span.Clear();
            ring.NextSqe((ulong)round).PrepRead(fd, buffer, (ulong)(round % 2) * 4096);
            _ = ring.Submit();
            Cqe cqe = ring.WaitCqe(Wait.Patience);
            ring.CqeSeen(cqe);
            Assert.Equal((ulong)round, cqe.UserData);
            Assert.Equal(4096, cqe.Res);
            Assert.Equal(file.Content.AsSpan((round % 2) * 4096, 4096).ToArray(), buffer.Span.ToArray());
        }
    }
}
