namespace IoUring;

// Preps for readiness polling.
public partial struct Sqe
{
    /// <summary>Polls <paramref name="fd"/> for <paramref name="events"/> (<c>POLLIN</c> = 1, <c>POLLOUT</c> = 4); the CQE result is the ready mask. (liburing <c>io_uring_prep_poll_add</c>; Linux 5.1.)</summary>
    /// <param name="fd">File descriptor.</param>
    /// <param name="events">Poll events.</param>
    public void PrepPollAdd(int fd, uint events)
    {
        PrepRw(Opcode.PollAdd, fd, 0, 0, 0);
        Poll32Events = events;
    }

    /// <summary>A multishot poll: a CQE with <see cref="CqeFlags.More"/> each time <paramref name="fd"/> becomes ready. (liburing <c>io_uring_prep_poll_multishot</c>; Linux 5.13.)</summary>
    /// <param name="fd">File descriptor.</param>
    /// <param name="events">Poll events.</param>
    public void PrepPollMultishot(int fd, uint events)
    {
        PrepPollAdd(fd, events);
        Len = (uint)PollFlags.AddMulti;
    }

    /// <summary>Removes the poll whose user data is <paramref name="userData"/>. (liburing <c>io_uring_prep_poll_remove</c>; Linux 5.1.)</summary>
    /// <param name="userData">The poll's user data.</param>
    public void PrepPollRemove(ulong userData) => PrepRw(Opcode.PollRemove, -1, userData, 0, 0);

    /// <summary>Updates a poll's events and/or user data. (liburing <c>io_uring_prep_poll_update</c>; Linux 5.13.)</summary>
    /// <param name="oldUserData">The poll's user data.</param>
    /// <param name="newUserData">Its new user data (with <see cref="PollFlags.UpdateUserData"/>).</param>
    /// <param name="events">New events (with <see cref="PollFlags.UpdateEvents"/>).</param>
    /// <param name="flags">What to update.</param>
    public void PrepPollUpdate(ulong oldUserData, ulong newUserData, uint events, PollFlags flags)
    {
        PrepRw(Opcode.PollRemove, -1, oldUserData, (uint)flags, newUserData);
        Poll32Events = events;
    }
}
