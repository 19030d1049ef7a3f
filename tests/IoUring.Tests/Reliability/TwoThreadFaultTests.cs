namespace IoUring.Tests.Reliability;

/// <summary>
/// A Ring is not thread-safe (documented, like liburing). Use from a second thread while the owner is inside
/// io_uring_enter is refused with <see cref="InvalidOperationException"/> before it changes anything: no SQE is
/// taken, nothing is submitted or registered, and the owner's wait still returns its CQE. (The detection itself is
/// covered by Ring/ThreadOwnershipTests; this is the "loses nothing" side.)
/// </summary>
public sealed class TwoThreadFaultTests
{
    [UringFact]
    public async Task Calls_from_a_second_thread_during_a_wait_are_refused_and_change_nothing()
    {
        using var pipe = new TestPipe();
        using var buffer = new NativeBuffer(64);
        using var ring = new Ring(4);
        ring.GetSqe().PrepPipeRead(pipe.ReadFd, buffer, 1);
        ring.Submit();
        uint sqPendingBefore = ring.SqPending;

        Task<Cqe> waiter = Background.RunAsync(() => ring.WaitCqe());

        // Wait until the owner is really inside io_uring_enter: then every call from here is refused.
        InvalidOperationException? first = null;
        for (int i = 0; i < 500 && first is null; i++)
        {
            await Task.Delay(10, TestContext.Current.CancellationToken);
            first = Record.Exception(() => _ = ring.SqSpaceLeft) as InvalidOperationException;
        }

        Assert.NotNull(first);
        Assert.IsNotType<SubmissionQueueFullException>(first);
        Assert.Throws<InvalidOperationException>(() => ring.Submit());
        Assert.Throws<InvalidOperationException>(() => ring.SubmitAndWait(1));
        Assert.Throws<InvalidOperationException>(() => ring.RegisterFiles([pipe.ReadFd]));
        Assert.Throws<InvalidOperationException>(() => ring.RegisterBuffers([new byte[64]]));
        Assert.Throws<InvalidOperationException>(() => ring.TryPeekCqe(out _));
        Assert.Throws<InvalidOperationException>(ring.Dispose);
        Assert.False(ring.IsDisposed);

        pipe.Put("owner"u8);
        Cqe cqe = await waiter.WaitAsync(Wait.Patience, TestContext.Current.CancellationToken);
        Assert.Equal(1UL, cqe.UserData);
        Assert.Equal(5, cqe.Res);

        // Back on one thread: nothing was taken, submitted or registered by the refused calls.
        ring.CqeSeen(cqe);
        Assert.Equal(sqPendingBefore, ring.SqPending);
        Assert.Equal(0, ring.RegisteredBufferCount);
        RingKit.AssertQuiet(ring);
        ring.RegisterFiles([pipe.ReadFd]);
    }
}
