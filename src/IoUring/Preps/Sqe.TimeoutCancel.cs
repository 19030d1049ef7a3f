namespace IoUring;

// Preps for timeouts and cancellation. Timespecs are read at submission; Ring.PrepTimeout and friends keep them
// in ring-owned scratch memory so callers need not.
public partial struct Sqe
{
    /// <summary>A timeout that fires after the timespec at <paramref name="timespec"/> or after <paramref name="count"/> completions. (liburing <c>io_uring_prep_timeout</c>; Linux 5.4.)</summary>
    /// <param name="timespec">Address of a <see cref="KernelTimespec"/>, valid until submission.</param>
    /// <param name="count">Completions that end it early; 0 for a pure timer.</param>
    /// <param name="flags">Flags.</param>
    public void PrepTimeout(nint timespec, uint count, TimeoutFlags flags)
    {
        PrepRw(Opcode.Timeout, -1, (ulong)timespec, 1, count);
        TimeoutFlags = flags;
    }

    /// <summary>Removes the timeout whose user data is <paramref name="userData"/>. (liburing <c>io_uring_prep_timeout_remove</c>; Linux 5.5.)</summary>
    /// <param name="userData">The timeout's user data.</param>
    /// <param name="flags">Flags.</param>
    public void PrepTimeoutRemove(ulong userData, TimeoutFlags flags = TimeoutFlags.None)
    {
        PrepRw(Opcode.TimeoutRemove, -1, userData, 0, 0);
        TimeoutFlags = flags;
    }

    /// <summary>Changes the expiry of the timeout whose user data is <paramref name="userData"/>. (liburing <c>io_uring_prep_timeout_update</c>; Linux 5.11.)</summary>
    /// <param name="userData">The timeout's user data.</param>
    /// <param name="timespec">Address of the new <see cref="KernelTimespec"/>.</param>
    /// <param name="flags">Flags; <see cref="TimeoutFlags.Update"/> is added.</param>
    public void PrepTimeoutUpdate(ulong userData, nint timespec, TimeoutFlags flags = TimeoutFlags.None)
    {
        PrepRw(Opcode.TimeoutRemove, -1, userData, 0, (ulong)timespec);
        TimeoutFlags = flags | TimeoutFlags.Update;
    }

    /// <summary>A timeout for the previous SQE, which must carry <see cref="SqeFlags.IoLink"/>. (liburing <c>io_uring_prep_link_timeout</c>; Linux 5.5.)</summary>
    /// <param name="timespec">Address of a <see cref="KernelTimespec"/>.</param>
    /// <param name="flags">Flags.</param>
    public void PrepLinkTimeout(nint timespec, TimeoutFlags flags = TimeoutFlags.None)
    {
        PrepRw(Opcode.LinkTimeout, -1, (ulong)timespec, 1, 0);
        TimeoutFlags = flags;
    }

    /// <summary>Cancels the request whose user data is <paramref name="userData"/> (all of them with <see cref="AsyncCancelFlags.All"/>). (liburing <c>io_uring_prep_cancel64</c>; Linux 5.5.)</summary>
    /// <param name="userData">The target's user data.</param>
    /// <param name="flags">Flags.</param>
    public void PrepCancel(ulong userData, AsyncCancelFlags flags = AsyncCancelFlags.None)
    {
        PrepRw(Opcode.AsyncCancel, -1, userData, 0, 0);
        CancelFlags = flags;
    }

    /// <summary>Cancels requests on file descriptor <paramref name="fd"/> (5.19). (liburing <c>io_uring_prep_cancel_fd</c>.)</summary>
    /// <param name="fd">The fd.</param>
    /// <param name="flags">Flags; <see cref="AsyncCancelFlags.Fd"/> is added.</param>
    public void PrepCancelFd(int fd, AsyncCancelFlags flags = AsyncCancelFlags.None)
    {
        PrepRw(Opcode.AsyncCancel, fd, 0, 0, 0);
        CancelFlags = flags | AsyncCancelFlags.Fd;
    }

    /// <summary>Cancels every request in flight on the ring (5.19). (liburing <c>io_uring_prep_cancel</c>.)</summary>
    public void PrepCancelAny()
    {
        PrepRw(Opcode.AsyncCancel, -1, 0, 0, 0);
        CancelFlags = AsyncCancelFlags.Any | AsyncCancelFlags.All;
    }
}
