namespace IoUring;

// Preps for waiting on processes and on several futexes (6.7).
public partial struct Sqe
{
    /// <summary>
    /// <c>waitid(idType, id, info, options)</c> (6.7; liburing <c>io_uring_prep_waitid</c>): completes when a child matching
    /// <paramref name="idType"/>/<paramref name="id"/> changes state as <paramref name="options"/> asks. The CQE result is 0 and
    /// <paramref name="info"/> says which child and how; <c>-ECHILD</c> when there is no such child.
    /// </summary>
    /// <param name="idType">Which children.</param>
    /// <param name="id">A process id, process group id or pidfd, as <paramref name="idType"/> says (ignored for <see cref="WaitIdType.All"/>).</param>
    /// <param name="info">Address of a <see cref="WaitIdInfo"/> the kernel fills before the CQE, or 0.</param>
    /// <param name="options">At least one of <see cref="WaitIdOptions.Exited"/>, <see cref="WaitIdOptions.Stopped"/>, <see cref="WaitIdOptions.Continued"/>.</param>
    public void PrepWaitId(WaitIdType idType, int id, nint info, WaitIdOptions options)
    {
        PrepRw(Opcode.WaitId, id, 0, (uint)idType, 0);
        FileIndex = (uint)options;
        Addr2 = (ulong)info;
    }

    /// <summary>
    /// Waits on several futexes at once (6.7; liburing <c>io_uring_prep_futex_waitv</c>): the CQE result is the index of the
    /// futex that was woken, or <c>-EAGAIN</c> at once when one of them no longer holds its expected value.
    /// </summary>
    /// <param name="futexes">Address of an array of <see cref="FutexWaitV"/>, valid until the CQE.</param>
    /// <param name="count">Number of entries, 1 to 128.</param>
    public void PrepFutexWaitV(nint futexes, uint count) => PrepRw(Opcode.FutexWaitV, 0, (ulong)futexes, count, 0);
}
