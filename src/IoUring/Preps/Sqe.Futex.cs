namespace IoUring;

// Preps for futexes (6.7): wait on and wake a 32-bit (or other size) word in user memory.
public partial struct Sqe
{
    /// <summary>
    /// Waits until the futex at <paramref name="futex"/> is woken, if it still holds <paramref name="expected"/> when the
    /// request runs; otherwise it completes at once with <c>-EAGAIN</c>. The CQE result is 0 once woken.
    /// (liburing <c>io_uring_prep_futex_wait</c>; Linux 6.7.)
    /// </summary>
    /// <param name="futex">Address of the futex word, valid until the CQE.</param>
    /// <param name="expected">The value the word must hold for the wait to start.</param>
    /// <param name="mask">Wake bitset; <see cref="SqeConstants.FutexBitsetMatchAny"/> for any waker. Must not be 0.</param>
    /// <param name="futexFlags">Size and flags, e.g. <see cref="Futex2Flags.SizeU32"/> | <see cref="Futex2Flags.Private"/>.</param>
    public void PrepFutexWait(nint futex, ulong expected, ulong mask, Futex2Flags futexFlags)
    {
        // The futex2 flags travel in fd; the SQE's own futex_flags field must stay 0.
        PrepRw(Opcode.FutexWait, (int)futexFlags, (ulong)futex, 0, expected);
        Addr3 = mask;
    }

    /// <summary>Wakes up to <paramref name="count"/> waiters of the futex at <paramref name="futex"/>; the CQE result is the number woken. (liburing <c>io_uring_prep_futex_wake</c>; Linux 6.7.)</summary>
    /// <param name="futex">Address of the futex word.</param>
    /// <param name="count">Maximum number of waiters to wake.</param>
    /// <param name="mask">Wake bitset; <see cref="SqeConstants.FutexBitsetMatchAny"/> for every waiter.</param>
    /// <param name="futexFlags">Size and flags; must match the waiters'.</param>
    public void PrepFutexWake(nint futex, ulong count, ulong mask, Futex2Flags futexFlags)
    {
        PrepRw(Opcode.FutexWake, (int)futexFlags, (ulong)futex, 0, count);
        Addr3 = mask;
    }
}
