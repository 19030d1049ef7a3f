using Libc = global::IoUring.Interop.Libc;

namespace IoUring.Tests.RingTests;

public sealed class ThreadOwnershipTests
{
    [UringFact]
    public async Task Use_from_a_second_thread_while_the_owner_waits_inside_the_ring_throws_a_clear_exception()
    {
        using var ring = new Ring(4);
        Assert.Equal(0, Libc.Pipe2(out int readFd, out int writeFd, Libc.O_CLOEXEC));
        using var buffer = new NativeBuffer(16);
        try
        {
            ring.NextSqe(7).PrepRead(readFd, buffer, 0);
            ring.Submit();

            using var waiting = new ManualResetEventSlim();
            Task<Cqe> waiter = Task.Factory.StartNew(
                () =>
                {
                    waiting.Set();
                    return ring.WaitCqe();
                },
                TestContext.Current.CancellationToken,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default);
            waiting.Wait(TestContext.Current.CancellationToken);

            // Wait until the waiter is really blocked inside io_uring_enter.
            InvalidOperationException? seen = null;
            for (int i = 0; i < 200 && seen is null; i++)
            {
                await Task.Delay(10, TestContext.Current.CancellationToken);
                seen = Record.Exception(() => _ = ring.SqSpaceLeft) as InvalidOperationException;
            }

            Assert.NotNull(seen);
            Assert.Contains("not thread-safe", seen.Message, StringComparison.Ordinal);
            Assert.Throws<InvalidOperationException>(ring.Dispose);
            Assert.False(ring.IsDisposed);

            // Completing the read releases the waiter; afterwards this thread may use the ring again.
            Assert.Equal(3, Libc.Write(writeFd, "abc"u8));
            Cqe cqe = await waiter;
            Assert.Equal(7UL, cqe.UserData);
            Assert.Equal(3, cqe.Res);
            ring.CqeSeen(cqe);
            Assert.Equal(0, ring.InFlight);
        }
        finally
        {
            _ = Libc.Close(readFd);
            _ = Libc.Close(writeFd);
        }
    }

    [UringFact]
    public async Task Sequential_use_from_different_threads_is_allowed()
    {
        using var ring = new Ring(4);
        ring.GetSqe().PrepNop();
        ring.Submit();
        Cqe cqe = await Task.Run(ring.WaitCqe, TestContext.Current.CancellationToken);
        ring.CqeSeen(cqe);
        Assert.Equal(0, cqe.Res);

        // A batch prepared and submitted elsewhere, reaped here: the ring moves between batches.
        Assert.Equal(1, await RingKit.SubmitNopOnThreadPoolAsync(ring));
        ring.CqeSeen(ring.WaitCqe());
        Assert.Equal(0, ring.InFlight);
    }

    [UringFact]
    public async Task A_registered_ring_fd_works_from_the_creating_thread_and_from_others()
    {
        using var ring = new Ring(4, new RingOptions { RegisterRingFd = true });
        Assert.True(ring.IsRingFdRegistered);
        for (int i = 0; i < 2; i++)
        {
            ring.GetSqe().PrepNop();
            Assert.Equal(1, ring.Submit());
            ring.CqeSeen(ring.WaitCqe());
        }

        // The kernel keeps registered ring fds per task: another thread must fall back to the plain fd.
        int submitted = await Task.Run(
            () =>
            {
                ring.GetSqe().PrepNop();
                int n = ring.SubmitAndWait(1);
                ring.CqeSeen(ring.WaitCqe());
                return n;
            },
            TestContext.Current.CancellationToken);
        Assert.Equal(1, submitted);
        Assert.Equal(0, ring.InFlight);
    }
}
