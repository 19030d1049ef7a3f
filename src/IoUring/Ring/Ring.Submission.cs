using System.Runtime.CompilerServices;
using IoUring.Interop;

namespace IoUring;

public sealed partial class Ring
{
    private SubmitScratch _scratch;

    /// <summary>
    /// The next free SQE, zeroed, for a <c>Prep*</c> call. It is sent to the kernel by the next <see cref="Submit"/>.
    /// Allocates nothing and makes no syscall.
    /// </summary>
    /// <returns>A reference to the SQE inside the shared ring.</returns>
    /// <exception cref="SubmissionQueueFullException">All <see cref="SqEntries"/> slots hold requests the kernel has not consumed yet: call <see cref="Submit"/> first.</exception>
    /// <exception cref="ObjectDisposedException">The ring is disposed.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref Sqe GetSqe()
    {
        // The dispose check and the owner-thread check (one compare of the thread id): a second thread taking an SQE
        // while another is inside the ring, or holds SQEs it has not submitted, throws instead of sharing a slot.
        ThrowIfDisposed();
        uint tail = _sqeTail;
        if (tail - _cachedSqHead >= _sqEntries)
        {
            RefreshSqHeadOrThrow(tail);
        }

        _sqeTail = tail + 1;
        if (_sq.Is128)
        {
            // A 128-byte entry may hold a previous command in its second half: clear all of it.
            ref Sqe128 big = ref _sq.Entry128(tail);
            big = default;
            return ref big.Sqe;
        }

        ref Sqe sqe = ref _sq.Entry(tail);
        sqe = default;
        return ref sqe;
    }

    /// <summary>
    /// The next free 128-byte SQE of a <see cref="RingOptions.Sqe128"/> ring, zeroed: prep it through
    /// <see cref="Sqe128.Sqe"/> (for example <see cref="Sqe.PrepUringCmd"/>) and write the driver's command into
    /// <see cref="Sqe128.Command"/> (liburing <c>io_uring_get_sqe</c> + <c>io_uring_sqe_cmd</c>).
    /// </summary>
    /// <returns>A reference to the entry inside the shared ring.</returns>
    /// <exception cref="InvalidOperationException">The ring has 64-byte SQEs.</exception>
    /// <exception cref="SubmissionQueueFullException">All slots hold requests the kernel has not consumed yet.</exception>
    public ref Sqe128 GetSqe128()
    {
        ThrowIfUnmapped();
        if (!_sq.Is128)
        {
            throw new InvalidOperationException("GetSqe128 needs a ring created with RingOptions.Sqe128 (IORING_SETUP_SQE128).");
        }

        uint tail = _sqeTail;
        _ = GetSqe();
        return ref _sq.Entry128(tail);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RefreshSqHeadOrThrow(uint tail)
    {
        // Acquire: pairs with the kernel's smp_store_release(&rings->sq.head) in io_commit_sqring(), so once we see
        // the slot as consumed the kernel has finished reading that SQE and we may overwrite it.
        _cachedSqHead = _sq.AcquireHead();
        if (tail - _cachedSqHead >= _sqEntries)
        {
            uint unsubmitted = tail - _sqeHead;
            throw new SubmissionQueueFullException(
                $"The submission queue is full: all {_sqEntries} SQEs are taken ({unsubmitted} prepared but not submitted, {_sqEntries - unsubmitted} submitted but not yet consumed by the kernel). Call Submit() before GetSqe(), or check SqSpaceLeft.");
        }
    }

    /// <summary>SQEs prepared or submitted that the kernel has not consumed yet (<c>io_uring_sq_ready</c>).</summary>
    public uint SqReady
    {
        get
        {
            ThrowIfDisposed();
            // Acquire for SQPOLL, where the kernel thread advances sq.head concurrently (pairs with io_commit_sqring()).
            return _sqeTail - _sq.AcquireHead();
        }
    }

    /// <summary>How many more SQEs <see cref="GetSqe"/> can hand out before a <see cref="Submit"/> (<c>io_uring_sq_space_left</c>).</summary>
    public uint SqSpaceLeft => _sqEntries - SqReady;

    /// <summary>SQEs prepared since the last <see cref="Submit"/>.</summary>
    public uint SqPending => _sqeTail - _sqeHead;

    /// <summary>True while the SQPOLL thread sleeps and the next submit must wake it (<see cref="SqRingFlags.NeedWakeup"/>).</summary>
    internal bool SqNeedsWakeup => (_sq.AcquireFlags() & (uint)SqRingFlags.NeedWakeup) != 0;

    /// <summary>Invalid SQEs the kernel dropped (<c>sq.dropped</c>).</summary>
    public uint SqDropped
    {
        get
        {
            ThrowIfDisposed();
            return _sq.AcquireDropped();
        }
    }

    /// <summary>
    /// Sends every prepared SQE to the kernel with at most one <c>io_uring_enter</c> (none with SQPOLL while the
    /// poller is awake). Returns the number of SQEs submitted.
    /// </summary>
    /// <returns>The number submitted.</returns>
    /// <exception cref="IoUringException">The kernel refused the batch; <c>EBUSY</c> means completions are backed up: reap some first.</exception>
    public int Submit() => SubmitCore(0);

    /// <summary>Submits, then waits until at least <paramref name="waitNr"/> completions are ready (<c>io_uring_submit_and_wait</c>).</summary>
    /// <param name="waitNr">Completions to wait for, at most <see cref="CqEntries"/>.</param>
    /// <returns>The number submitted.</returns>
    /// <exception cref="WaitWouldBlockForeverException">Nothing is in flight or being submitted and fewer than <paramref name="waitNr"/> CQEs are ready.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="waitNr"/> exceeds <see cref="CqEntries"/>: the CQ can never hold that many, so the wait would never end.</exception>
    public int SubmitAndWait(uint waitNr)
    {
        ThrowIfDisposed();
        if (waitNr > _cq.Entries)
        {
            throw new ArgumentOutOfRangeException(nameof(waitNr), waitNr, $"The CQ holds at most {_cq.Entries} CQEs, so waiting for {waitNr} would never end.");
        }

        return SubmitCore(waitNr);
    }

    private int SubmitCore(uint waitNr)
    {
        ThrowIfDisposed();
        uint newlyPublished = _sqeTail - _sqeHead;
        uint toSubmit = FlushSq();
        if (_sqPoll)
        {
            // The poller may consume (and even complete) them at any moment from here on, so toSubmit can already be 0:
            // count them now, before the guard below asks what is in flight.
            _inFlight += newlyPublished;
        }

        if (waitNr > 0)
        {
            GuardWait(waitNr, toSubmit);
        }

        EnterFlags flags = EnterFlags.None;
        bool enter = false;
        if (toSubmit > 0)
        {
            if (!_sqPoll)
            {
                enter = true;
            }
            else
            {
                // Full barrier: the SQPOLL thread sets IORING_SQ_NEED_WAKEUP and then re-reads sq.tail
                // (smp_mb__after_atomic() in io_sqd_handle_event()/io_sq_thread()); we wrote sq.tail and now read
                // the flag. Without a full fence both sides could miss each other and the poller would sleep on our SQEs.
                Interlocked.MemoryBarrier();
                if ((_sq.AcquireFlags() & (uint)SqRingFlags.NeedWakeup) != 0)
                {
                    flags |= EnterFlags.SqWakeup;
                    enter = true;
                }
            }
        }

        if (waitNr > 0 || _ioPoll || CqNeedsFlush())
        {
            flags |= EnterFlags.GetEvents;
            enter = true;
        }

        if (!enter)
        {
            // Without SQPOLL, toSubmit is 0 here, and so is newlyPublished.
            return (int)toSubmit;
        }

        while (true)
        {
            int ret = EnterSyscall(_sqPoll ? 0 : toSubmit, waitNr, flags, "Submit");
            if (ret >= 0)
            {
                int submitted = _sqPoll ? (int)toSubmit : ret;
                if (!_sqPoll)
                {
                    // With SQPOLL the published SQEs were counted before the guard, above.
                    _inFlight += ret;
                }

                if (waitNr > 0 && (_sqPoll || ret == toSubmit))
                {
                    // The kernel returns the submit count even when a signal cut its wait short (EINTR after a
                    // successful submit is not reported), so finish the wait here. A partial submit skips the
                    // kernel's wait, and so do we: the caller sees the short count.
                    WaitUntilReady(waitNr);
                }

                return submitted;
            }

            if (ret == -Errno.EINTR)
            {
                // Interrupted before anything was submitted (the kernel reports a partial submit as a count), so retry as is.
                continue;
            }

            throw SubmitError(-ret);
        }
    }

    private void WaitUntilReady(uint waitNr)
    {
        // Acquire: as in CqReady, pairs with the kernel's store-release of cq.tail.
        while (CheckedReady(_cqHead, _cq.AcquireTail()) < waitNr)
        {
            EnterGetEvents(waitNr);
        }
    }

    private static IoUringException SubmitError(int errno) => errno switch
    {
        Errno.EBUSY => IoUringException.FromErrno(errno, "io_uring_enter (submit)",
            "The completion queue overflowed and the kernel holds completions back; reap CQEs (CqeSeen/CqAdvance) and submit again. The unsubmitted SQEs are still queued."),
        Errno.EAGAIN => IoUringException.FromErrno(errno, "io_uring_enter (submit)",
            "The kernel could not allocate request memory; reap completions and submit again. The unsubmitted SQEs are still queued."),
        Errno.EBADFD => IoUringException.FromErrno(errno, "io_uring_enter (submit)",
            "The ring is disabled (RingOptions.StartDisabled): register its restrictions or wait region, then call EnableRings()."),
        _ => IoUringException.FromErrno(errno, "io_uring_enter (submit)"),
    };

    /// <summary>Publishes prepared SQEs to the kernel; returns how many the kernel has not consumed yet.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint FlushSq()
    {
        uint tail = _sqeTail;
        uint head = _sqeHead;
        if (head != tail)
        {
            if (_slotLeaseCount != 0)
            {
                // Some of these SQEs use a NativeBuffer: key its reference by their user data, before the kernel can complete them.
                LeasesSubmitted(head, tail);
            }

            _sqeHead = tail;
            // Release: every SQE field written above becomes visible before the new tail. Pairs with the kernel's
            // smp_load_acquire(&rings->sq.tail) in io_sqring_entries()/__io_sqring_entries().
            _sq.ReleaseTail(tail);
        }

        // Acquire (matters with SQPOLL only): pairs with smp_store_release(&rings->sq.head) in io_commit_sqring().
        return tail - _sq.AcquireHead();
    }

    /// <summary>Stores an argument the kernel reads at submission in native scratch memory tied to the most recent SQE.</summary>
    internal nint StoreForLastSqe<T>(in T value)
        where T : unmanaged => _scratch.Store(_sqeTail - 1, value);
}
