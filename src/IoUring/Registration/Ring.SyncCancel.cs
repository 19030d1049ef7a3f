using IoUring.Interop;

namespace IoUring;

// Synchronous cancellation (IORING_REGISTER_SYNC_CANCEL, 6.0): cancel and wait for the cancellation in one call.
public sealed partial class Ring
{
    /// <summary>
    /// Cancels the request(s) with user data <paramref name="userData"/> and returns once they are cancelled
    /// (<c>IORING_REGISTER_SYNC_CANCEL</c>, 6.0; liburing <c>io_uring_register_sync_cancel</c>): unlike
    /// <see cref="Sqe.PrepCancel"/> it needs no SQE and no CQE of its own, and when a request is already running it waits
    /// (up to <paramref name="timeout"/>) until it stopped. The cancelled requests still post their CQEs
    /// (<c>-ECANCELED</c>), to reap as usual.
    /// </summary>
    /// <param name="userData">The target's user data.</param>
    /// <param name="flags"><see cref="AsyncCancelFlags.All"/> to cancel every match.</param>
    /// <param name="timeout">How long to wait for running requests; null waits as long as it takes.</param>
    /// <returns>How many requests were cancelled: 0 when none matched.</returns>
    /// <exception cref="TimeoutException">A matching request was still running when the timeout passed.</exception>
    /// <exception cref="IoUringException">The kernel refused (before 6.0: <c>EINVAL</c>).</exception>
    public int CancelSync(ulong userData, AsyncCancelFlags flags = AsyncCancelFlags.None, TimeSpan? timeout = null) =>
        CancelSyncCore(new SyncCancelReg { Addr = userData, Fd = -1, Flags = (uint)flags }, flags, timeout);

    /// <summary>
    /// Cancels requests on file descriptor <paramref name="fd"/> synchronously (<c>IORING_ASYNC_CANCEL_FD</c>), as
    /// <see cref="CancelSync(ulong, AsyncCancelFlags, TimeSpan?)"/> does by user data.
    /// </summary>
    /// <param name="fd">The descriptor, or a registered-file index with <see cref="AsyncCancelFlags.FdFixed"/>.</param>
    /// <param name="flags"><see cref="AsyncCancelFlags.All"/>, <see cref="AsyncCancelFlags.FdFixed"/>; <see cref="AsyncCancelFlags.Fd"/> is added.</param>
    /// <param name="timeout">How long to wait for running requests; null waits as long as it takes.</param>
    /// <returns>How many requests were cancelled: 0 when none matched.</returns>
    public int CancelSyncFd(int fd, AsyncCancelFlags flags = AsyncCancelFlags.None, TimeSpan? timeout = null)
    {
        flags |= AsyncCancelFlags.Fd;
        return CancelSyncCore(new SyncCancelReg { Fd = fd, Flags = (uint)flags }, flags, timeout);
    }

    /// <summary>
    /// Cancels requests with opcode <paramref name="op"/> synchronously (<c>IORING_ASYNC_CANCEL_OP</c>, 6.6), as
    /// <see cref="CancelSync(ulong, AsyncCancelFlags, TimeSpan?)"/> does by user data.
    /// </summary>
    /// <param name="op">The opcode to match.</param>
    /// <param name="flags"><see cref="AsyncCancelFlags.All"/>; <see cref="AsyncCancelFlags.Op"/> is added.</param>
    /// <param name="timeout">How long to wait for running requests; null waits as long as it takes.</param>
    /// <returns>How many requests were cancelled: 0 when none matched.</returns>
    public int CancelSyncOp(Opcode op, AsyncCancelFlags flags = AsyncCancelFlags.None, TimeSpan? timeout = null)
    {
        flags |= AsyncCancelFlags.Op;
        return CancelSyncCore(new SyncCancelReg { Fd = -1, Flags = (uint)flags, Opcode = (byte)op }, flags, timeout);
    }

    private int CancelSyncCore(SyncCancelReg reg, AsyncCancelFlags flags, TimeSpan? timeout)
    {
        ThrowIfDisposed();
        // {-1, -1} is the kernel's "no timeout".
        reg.Timeout = timeout is TimeSpan t ? KernelTimespec.FromTimeSpan(t) : new KernelTimespec { Seconds = -1, Nanoseconds = -1 };
        int r = RegisterCalls.SyncCancel(Handle, reg);
        if (r == -Errno.ENOENT)
        {
            return 0;
        }

        if (r == -Errno.ETIME)
        {
            throw new TimeoutException($"A request matching the cancellation ({flags}) was still running after {timeout}.");
        }

        if (r < 0)
        {
            throw IoUringException.FromErrno(-r, "io_uring_register(IORING_REGISTER_SYNC_CANCEL)", r == -Errno.EINVAL ? "Needs Linux 6.0+ (6.6+ to match on opcode)." : null);
        }

        // With ALL the kernel returns the count; a single match returns 0.
        return (flags & AsyncCancelFlags.All) != 0 ? Math.Max(r, 1) : 1;
    }
}
