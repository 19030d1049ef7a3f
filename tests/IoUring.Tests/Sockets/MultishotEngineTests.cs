using IoUring.Interop;
using Microsoft.Win32.SafeHandles;

namespace IoUring.Tests.Sockets;

/// <summary>
/// The engine's multishot machinery on its own, with a multishot poll on an eventfd: many CQEs for one SQE, stop
/// (ASYNC_CANCEL) and re-arm, close, and an engine that stops under a live request.
/// </summary>
public sealed class MultishotEngineTests
{
    private sealed class PollOp(IoUringEngine engine, int fd) : MultishotOperation(engine)
    {
        private int _cqes;
        private int _submits;

        public int Cqes => Volatile.Read(ref _cqes);

        public int Submits => Volatile.Read(ref _submits);

        public int LastRes;

        public bool SawMore;

        public TaskCompletionSource Closed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource<bool> Stopped { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected internal override bool PrepareSqe(ref Sqe sqe)
        {
            Interlocked.Increment(ref _submits);
            sqe.PrepPollMultishot(fd, 0x1); // POLLIN
            return true;
        }

        protected internal override void OnCqe(int res, CqeFlags flags)
        {
            LastRes = res;
            SawMore |= (flags & CqeFlags.More) != 0;
            if (res > 0)
            {
                // Drain the eventfd so the next write makes it readable again.
                _ = Libc.EventFdRead(fd);
                Interlocked.Increment(ref _cqes);
            }
        }

        protected internal override void OnClosed() => Closed.TrySetResult();

        protected internal override void OnEngineStopped(bool stillInKernel) => Stopped.TrySetResult(stillInKernel);
    }

    private static SafeFileHandle NonBlockingEventFd()
    {
        int fd = Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        Assert.True(fd >= 0);
        return new SafeFileHandle(fd, ownsHandle: true);
    }

    [UringFact]
    public async Task One_request_posts_many_completions_stops_re_arms_and_closes()
    {
        await using var engine = new IoUringEngine();
        using SafeFileHandle efd = NonBlockingEventFd();
        int fd = (int)efd.DangerousGetHandle();
        var op = new PollOp(engine, fd);
        Assert.True(op.RequestArm());

        for (int i = 1; i <= 20; i++)
        {
            await Task.Delay(2, TestContext.Current.CancellationToken);
            _ = Libc.EventFdWrite(fd, 1);
            int expected = i;
            await Wait.UntilAsync(() => op.Cqes >= expected, $"poll completion {expected}");
        }

        Assert.True(op.SawMore);
        Assert.Equal(1, op.Submits); // one SQE for 20 completions
        Assert.Equal(0, engine.OperationsInFlight); // multishot requests are not counted among ordinary ops

        // Stop: the loop cancels the request; writes are no longer seen.
        op.RequestStop();
        await Wait.UntilAsync(() => op.LastRes == -Errno.ECANCELED, "the cancelled final CQE");
        int before = op.Cqes;
        _ = Libc.EventFdWrite(fd, 1);
        await Task.Delay(50, TestContext.Current.CancellationToken);
        Assert.Equal(before, op.Cqes);

        // Re-arm: a new request sees the pending write at once.
        Assert.True(op.RequestArm());
        await Wait.UntilAsync(() => op.Cqes > before, "a completion after re-arming");
        Assert.Equal(2, op.Submits);

        op.RequestClose();
        await op.Closed.Task.Within();
        Assert.False(op.Stopped.Task.IsCompleted);
    }

    [UringFact]
    public async Task A_live_request_is_cancelled_and_told_when_the_engine_stops()
    {
        var engine = new IoUringEngine();
        using SafeFileHandle efd = NonBlockingEventFd();
        var op = new PollOp(engine, (int)efd.DangerousGetHandle());
        Assert.True(op.RequestArm());
        await Wait.UntilAsync(() => op.Submits == 1, "the request submitted");
        await engine.DisposeAsync();
        Assert.False(await op.Stopped.Task.Within()); // the kernel gave it back
        Assert.Equal(0, engine.AbandonedOperations);

        // A request that reaches a stopped engine is refused and told at once.
        var late = new PollOp(engine, (int)efd.DangerousGetHandle());
        Assert.False(late.RequestArm());
        Assert.False(await late.Stopped.Task.Within());
        Assert.Equal(0, late.Submits);
    }
}
