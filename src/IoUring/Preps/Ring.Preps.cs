namespace IoUring;

// Ring-level preps for requests whose arguments the kernel reads at submission: the ring keeps the argument in
// native scratch memory tied to the SQE's slot, so the caller needs no pinned memory of its own.
public sealed partial class Ring
{
    /// <summary>Gets an SQE and preps a timeout of <paramref name="timeout"/> (liburing <c>io_uring_prep_timeout</c>; Linux 5.4).</summary>
    /// <param name="timeout">
    /// Relative timeout; with <see cref="TimeoutFlags.Abs"/>, a point in time measured from the epoch of the timeout's
    /// clock (<c>CLOCK_MONOTONIC</c> unless <see cref="TimeoutFlags.BootTime"/> or <see cref="TimeoutFlags.RealTime"/>).
    /// </param>
    /// <param name="count">Completions that end it early; 0 for a pure timer.</param>
    /// <param name="flags">Flags.</param>
    /// <returns>The SQE, to set <see cref="Sqe.UserData"/> and flags on.</returns>
    public ref Sqe PrepTimeout(TimeSpan timeout, uint count = 0, TimeoutFlags flags = TimeoutFlags.None)
    {
        var ts = KernelTimespec.FromTimeSpan(timeout);
        ref Sqe sqe = ref GetSqe();
        sqe.PrepTimeout(StoreForLastSqe(ts), count, flags);
        return ref sqe;
    }

    /// <summary>Gets an SQE and preps a linked timeout for the previous SQE (which must have <see cref="SqeFlags.IoLink"/>). (liburing <c>io_uring_prep_link_timeout</c>; Linux 5.5.)</summary>
    /// <param name="timeout">The timeout.</param>
    /// <param name="flags">Flags.</param>
    /// <returns>The SQE.</returns>
    public ref Sqe PrepLinkTimeout(TimeSpan timeout, TimeoutFlags flags = TimeoutFlags.None)
    {
        var ts = KernelTimespec.FromTimeSpan(timeout);
        ref Sqe sqe = ref GetSqe();
        sqe.PrepLinkTimeout(StoreForLastSqe(ts), flags);
        return ref sqe;
    }

    /// <summary>Gets an SQE and preps an update of the timeout with user data <paramref name="targetUserData"/>. (liburing <c>io_uring_prep_timeout_update</c>; Linux 5.11.)</summary>
    /// <param name="targetUserData">The timeout to update.</param>
    /// <param name="timeout">Its new expiry.</param>
    /// <param name="flags">Flags.</param>
    /// <returns>The SQE.</returns>
    public ref Sqe PrepTimeoutUpdate(ulong targetUserData, TimeSpan timeout, TimeoutFlags flags = TimeoutFlags.None)
    {
        var ts = KernelTimespec.FromTimeSpan(timeout);
        ref Sqe sqe = ref GetSqe();
        sqe.PrepTimeoutUpdate(targetUserData, StoreForLastSqe(ts), flags);
        return ref sqe;
    }

    /// <summary>Gets an SQE and preps <c>openat2</c> with <paramref name="how"/> kept by the ring until submission. (liburing <c>io_uring_prep_openat2</c>; Linux 5.6.)</summary>
    /// <param name="dirFd">Directory fd or <see cref="Sqe.AtFdCwd"/>.</param>
    /// <param name="path">Address of a NUL-terminated UTF-8 path, valid until submission.</param>
    /// <param name="how">The open parameters.</param>
    /// <returns>The SQE.</returns>
    public ref Sqe PrepOpenAt2(int dirFd, nint path, in OpenHow how)
    {
        OpenHow copy = how;
        ref Sqe sqe = ref GetSqe();
        sqe.PrepOpenAt2(dirFd, path, StoreForLastSqe(copy));
        return ref sqe;
    }

    /// <summary>
    /// Gets an SQE and preps <c>epoll_ctl</c> (5.6; liburing <c>io_uring_prep_epoll_ctl</c>) with the event kept by the ring
    /// until the kernel copies it at submission, in this architecture's <c>struct epoll_event</c> layout.
    /// </summary>
    /// <param name="epollFd">The epoll instance.</param>
    /// <param name="fd">The descriptor to add, change or remove.</param>
    /// <param name="op">What to do.</param>
    /// <param name="events">The events to watch (ignored for <see cref="EpollOp.Delete"/>).</param>
    /// <param name="data">The value an <see cref="Opcode.EpollWait"/> reports with the events.</param>
    /// <returns>The SQE.</returns>
    public ref Sqe PrepEpollCtl(int epollFd, int fd, EpollOp op, EpollEvents events, ulong data)
    {
        EpollEventArg arg = EpollEventArg.Create(events, data);
        ref Sqe sqe = ref GetSqe();
        sqe.PrepEpollCtl(epollFd, fd, op, op == EpollOp.Delete ? 0 : StoreForLastSqe(arg));
        return ref sqe;
    }
}
