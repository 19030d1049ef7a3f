namespace IoUring;

// Preps for epoll instances: control (5.6) and waiting (6.15). Ring.PrepEpollCtl keeps the event for the caller.
public partial struct Sqe
{
    /// <summary>
    /// <c>epoll_ctl(epfd, op, fd, event)</c> (5.6; liburing <c>io_uring_prep_epoll_ctl</c>). The kernel copies the event at
    /// submission; <see cref="Ring.PrepEpollCtl"/> keeps it for you. The CQE result is 0.
    /// </summary>
    /// <param name="epollFd">The epoll instance.</param>
    /// <param name="fd">The descriptor to add, change or remove.</param>
    /// <param name="op">What to do.</param>
    /// <param name="epollEvent">Address of a <c>struct epoll_event</c> (12 bytes on x86-64, 16 elsewhere), or 0 for <see cref="EpollOp.Delete"/>.</param>
    public void PrepEpollCtl(int epollFd, int fd, EpollOp op, nint epollEvent) =>
        PrepRw(Opcode.EpollCtl, epollFd, (ulong)epollEvent, (uint)op, (uint)fd);

    /// <summary>
    /// <c>epoll_wait(epfd, events, maxEvents)</c> (6.15; liburing <c>io_uring_prep_epoll_wait</c>): completes once events are
    /// ready, with the number written as the CQE result.
    /// </summary>
    /// <param name="epollFd">The epoll instance.</param>
    /// <param name="events">Address of room for <paramref name="maxEvents"/> events, valid until the CQE.</param>
    /// <param name="maxEvents">Capacity in events.</param>
    public void PrepEpollWait(int epollFd, nint events, int maxEvents) =>
        PrepRw(Opcode.EpollWait, epollFd, (ulong)events, (uint)maxEvents, 0);

    /// <summary><c>epoll_wait</c> into an <see cref="EpollEventBuffer"/> (6.15); read the events with <see cref="EpollEventBuffer.Get"/>. (liburing <c>io_uring_prep_epoll_wait</c>.)</summary>
    /// <param name="epollFd">The epoll instance.</param>
    /// <param name="events">The buffer; must not be disposed before the CQE.</param>
    public void PrepEpollWait(int epollFd, EpollEventBuffer events)
    {
        ArgumentNullException.ThrowIfNull(events);
        PrepEpollWait(epollFd, events.Address, events.Capacity);
    }
}
