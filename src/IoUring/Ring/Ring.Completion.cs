using System.Diagnostics;
using System.Runtime.CompilerServices;
using IoUring.Interop;

namespace IoUring;

public sealed partial class Ring
{
    /// <summary>CQEs ready to be reaped (<c>io_uring_cq_ready</c>).</summary>
    public uint CqReady
    {
        get
        {
            ThrowIfDisposed();
            // Acquire: pairs with the kernel's smp_store_release(&rings->cq.tail) in io_commit_cqring().
            _cqTailSeen = _cq.AcquireTail();
            return CheckedReady(_cqHead, _cqTailSeen);
        }
    }

    /// <summary>
    /// <paramref name="tail"/> - <paramref name="head"/>, which the kernel keeps between 0 and the CQ size. Anything
    /// else means our head passed the kernel's tail (or fell a whole ring behind it), which only use from two threads
    /// at once can do: then the slots hold no completion we may hand out, so this throws instead.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint CheckedReady(uint head, uint tail)
    {
        uint ready = tail - head;
        if (ready > _cq.Entries)
        {
            ThrowCqCorrupt(head, tail);
        }

        return ready;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowCqCorrupt(uint head, uint tail) => throw new InvalidOperationException(
        $"The completion queue's head ({head}) is not within {_cq.Entries} entries behind the kernel's tail ({tail}): the Ring was used from two threads at once, and no CQE can be handed out safely any more. {ThreadRule}");

    /// <summary>Completions the kernel dropped because the CQ was full (<c>cq.overflow</c>); stays 0 with <see cref="RingFeatures.NoDrop"/>.</summary>
    public uint CqOverflow
    {
        get
        {
            ThrowIfDisposed();
            return _cq.AcquireOverflow();
        }
    }

    /// <summary>True while completions wait in the kernel's overflow list (<see cref="SqRingFlags.CqOverflow"/>); reaping flushes them.</summary>
    public bool IsCqOverflowPending
    {
        get
        {
            ThrowIfDisposed();
            return (_sq.AcquireFlags() & (uint)SqRingFlags.CqOverflow) != 0;
        }
    }

    /// <summary>Enables or disables signalling of a registered eventfd (<see cref="CqRingFlags.EventFdDisabled"/>).</summary>
    /// <exception cref="NotSupportedException">Set on a kernel without <c>cq.flags</c> (before 5.8); reading then returns true.</exception>
    public bool EventFdEnabled
    {
        get
        {
            ThrowIfDisposed();
            return !_cq.HasFlags || (_cq.AcquireFlags() & (uint)CqRingFlags.EventFdDisabled) == 0;
        }
        set
        {
            ThrowIfDisposed();
            if (!_cq.HasFlags)
            {
                throw new NotSupportedException("This kernel has no cq.flags (5.8+ needed).");
            }

            uint f = _cq.AcquireFlags();
            f = value ? f & ~(uint)CqRingFlags.EventFdDisabled : f | (uint)CqRingFlags.EventFdDisabled;
            // Release store; the kernel reads it with READ_ONCE() in io_eventfd_signal() (liburing uses the same store).
            _cq.ReleaseFlags(f);
        }
    }

    /// <summary>Returns the oldest ready CQE without waiting (<c>io_uring_peek_cqe</c>). It stays in the queue until <see cref="CqeSeen(in Cqe)"/>.</summary>
    /// <param name="cqe">The CQE, when one is ready.</param>
    /// <returns>True when a CQE was ready.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryPeekCqe(out Cqe cqe)
    {
        ThrowIfDisposed();
        uint head = _cqHead;
        // Acquire: pairs with smp_store_release(&rings->cq.tail) in io_commit_cqring(); the CQE's fields are
        // visible once the tail that covers them is.
        uint tail = _cq.AcquireTail();
        _cqTailSeen = tail;
        if (head != tail)
        {
            // One compare, only when a CQE is there: never hand out a slot past the kernel's tail.
            if (tail - head > _cq.Entries)
            {
                ThrowCqCorrupt(head, tail);
            }

            cqe = _cq.Entry(head);
            return true;
        }

        return TryPeekSlow(out cqe);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryPeekSlow(out Cqe cqe)
    {
        if (CqNeedsFlush() || _ioPoll)
        {
            // Overflowed completions or deferred task work wait in the kernel: a GETEVENTS enter with min_complete 0 posts them.
            EnterGetEvents(0);
            uint head = _cqHead;
            _cqTailSeen = _cq.AcquireTail();
            if (CheckedReady(head, _cqTailSeen) != 0)
            {
                cqe = _cq.Entry(head);
                return true;
            }
        }

        cqe = default;
        return false;
    }

    /// <summary>
    /// Returns the oldest CQE, waiting for one if none is ready (<c>io_uring_wait_cqe</c>). It does not submit.
    /// </summary>
    /// <returns>The CQE; mark it with <see cref="CqeSeen(in Cqe)"/>.</returns>
    /// <exception cref="WaitWouldBlockForeverException">The CQ is empty and nothing submitted is still owed a completion.</exception>
    public Cqe WaitCqe()
    {
        if (TryPeekCqe(out Cqe cqe))
        {
            return cqe;
        }

        GuardWait(1, 0);
        while (true)
        {
            EnterGetEvents(1);
            if (TryPeekCqe(out cqe))
            {
                return cqe;
            }
        }
    }

    /// <summary>Waits up to <paramref name="timeout"/> for a CQE (<c>io_uring_wait_cqe_timeout</c>).</summary>
    /// <param name="timeout">How long to wait; <see cref="TimeSpan.Zero"/> only peeks.</param>
    /// <returns>The CQE.</returns>
    /// <exception cref="TimeoutException">No CQE arrived in time.</exception>
    /// <exception cref="NotSupportedException">No CQE is ready, the timeout is finite and non-zero, and the kernel lacks <see cref="RingFeatures.ExtArg"/> (before 5.11).</exception>
    public Cqe WaitCqe(TimeSpan timeout) =>
        TryWaitCqe(timeout, out Cqe cqe) ? cqe : throw new TimeoutException($"No completion arrived within {timeout}.");

    /// <summary>
    /// Waits up to <paramref name="timeout"/> for a CQE. Returns false when the time passed with none. Unlike
    /// <see cref="WaitCqe()"/> it is not guarded against waiting with nothing in flight: it simply times out.
    /// </summary>
    /// <param name="timeout">How long to wait; <see cref="TimeSpan.Zero"/> only peeks; <see cref="Timeout.InfiniteTimeSpan"/> waits like <see cref="WaitCqe()"/>.</param>
    /// <param name="cqe">The CQE, when one arrived.</param>
    /// <returns>True when a CQE is returned.</returns>
    /// <exception cref="NotSupportedException">No CQE is ready, the timeout is finite and non-zero, and the kernel lacks <see cref="RingFeatures.ExtArg"/> (before 5.11).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (other than <see cref="Timeout.InfiniteTimeSpan"/>).</exception>
    public bool TryWaitCqe(TimeSpan timeout, out Cqe cqe)
    {
        if (TryPeekCqe(out cqe))
        {
            return true;
        }

        if (timeout == Timeout.InfiniteTimeSpan)
        {
            cqe = WaitCqe();
            return true;
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);
        if (timeout == TimeSpan.Zero)
        {
            return false;
        }

        if ((Features & RingFeatures.ExtArg) == 0)
        {
            throw new NotSupportedException("Waiting with a timeout needs IORING_FEAT_EXT_ARG (Linux 5.11+).");
        }

        long deadline = DeadlineAfter(timeout);
        while (true)
        {
            long left = deadline - Stopwatch.GetTimestamp();
            if (left <= 0)
            {
                return false;
            }

            var ts = KernelTimespec.FromTimeSpan(TimeSpan.FromSeconds((double)left / Stopwatch.Frequency));
            int ret = EnterSyscall(0, 1, EnterFlags.GetEvents, ts, "TryWaitCqe");
            if (ret < 0 && ret != -Errno.ETIME && ret != -Errno.EINTR && ret != -Errno.EAGAIN && ret != -Errno.EBUSY)
            {
                throw IoUringException.FromErrno(-ret, "io_uring_enter (wait with timeout)");
            }

            if (TryPeekCqe(out cqe))
            {
                return true;
            }

            if (ret == -Errno.ETIME)
            {
                return false;
            }
        }
    }

    /// <summary>Marks <paramref name="cqe"/>, the oldest ready CQE, as consumed so the kernel can reuse its slot (<c>io_uring_cqe_seen</c>).</summary>
    /// <param name="cqe">The CQE returned by the last peek or wait.</param>
    /// <exception cref="InvalidOperationException">No CQE is ready, or <paramref name="cqe"/> is not the oldest ready CQE.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void CqeSeen(in Cqe cqe)
    {
        ThrowIfDisposed();
        uint oldest = _cqHead;
        // The oldest CQE is in cache from the peek that returned it: comparing costs two loads and catches a
        // CqeSeen without a peek, or out of order, before it could hand the kernel a slot we have not read. The
        // range check (one compare, as cheap as the equality it replaces) keeps the head from ever passing a tail
        // the kernel published, even when two threads race through here.
        if (_cqTailSeen - oldest - 1 >= _cq.Entries || _cq.Entry(oldest) != cqe)
        {
            ThrowNotOldest(cqe);
        }

        if ((cqe.Flags & CqeFlags.More) == 0)
        {
            if (_inFlight > 0)
            {
                _inFlight--;
            }

            if (_flightLeaseCount != 0)
            {
                LeaseCompleted(cqe.UserData);
            }
        }

        uint head = _cqHead + 1;
        _cqHead = head;
        // Release: our reads of the CQE happen before the kernel may overwrite the slot. Pairs with the kernel's
        // READ_ONCE(rings->cq.head) when it computes free CQ space in __io_cqring_events()/io_cqe_cache_refill().
        _cq.ReleaseHead(head);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowNotOldest(in Cqe cqe)
    {
        uint ready = CheckedReady(_cqHead, _cq.AcquireTail());
        throw new InvalidOperationException(ready == 0
            ? $"CqeSeen({cqe}) was called but no CQE is ready: call it once per CQE returned by TryPeekCqe/WaitCqe."
            : $"CqeSeen({cqe}) was given a CQE that is not the oldest ready one ({_cq.Entry(_cqHead)}): CQEs are consumed in order; use CqAdvance after PeekBatchCqe/ReadyCqes.");
    }

    /// <summary>Marks the <paramref name="count"/> oldest ready CQEs as consumed (<c>io_uring_cq_advance</c>).</summary>
    /// <param name="count">How many; at most <see cref="CqReady"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">More than are ready.</exception>
    public void CqAdvance(uint count)
    {
        ThrowIfDisposed();
        uint head = _cqHead;
        uint ready = CheckedReady(head, _cq.AcquireTail());
        if (count > ready)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"Only {ready} CQEs are ready.");
        }

        long finals = 0;
        for (uint i = 0; i < count; i++)
        {
            ref Cqe c = ref _cq.Entry(head + i);
            if ((c.Flags & CqeFlags.More) == 0)
            {
                finals++;
                if (_flightLeaseCount != 0)
                {
                    LeaseCompleted(c.UserData);
                }
            }
        }

        _inFlight = Math.Max(0, _inFlight - finals);
        _cqHead = head + count;
        // Release: as in CqeSeen, pairs with the kernel's READ_ONCE(rings->cq.head).
        _cq.ReleaseHead(head + count);
    }

    /// <summary>Copies up to <paramref name="destination"/>.Length ready CQEs without consuming them (<c>io_uring_peek_batch_cqe</c>); follow with <see cref="CqAdvance"/>.</summary>
    /// <param name="destination">Where to copy.</param>
    /// <returns>How many were copied.</returns>
    public int PeekBatchCqe(Span<Cqe> destination)
    {
        uint ready = CqReady;
        if (ready == 0 && CqNeedsFlush())
        {
            EnterGetEvents(0);
            ready = CqReady;
        }

        int n = (int)Math.Min(ready, (uint)destination.Length);
        uint head = _cqHead;
        for (int i = 0; i < n; i++)
        {
            destination[i] = _cq.Entry(head + (uint)i);
        }

        return n;
    }

    /// <summary>
    /// The CQEs ready now, to walk with <c>foreach</c> by reference (<c>io_uring_for_each_cqe</c>); then call
    /// <see cref="CqAdvance"/> with <see cref="CompletionBatch.Count"/>.
    /// </summary>
    public CompletionBatch ReadyCqes
    {
        get
        {
            uint ready = CqReady;
            if (ready == 0 && CqNeedsFlush())
            {
                EnterGetEvents(0);
                ready = CqReady;
            }

            return new CompletionBatch(this, _cqHead, ready);
        }
    }

    /// <summary>The extra 16 bytes of the CQE at <paramref name="offsetFromHead"/> in a <see cref="SetupFlags.Cqe32"/> ring; empty otherwise.</summary>
    /// <param name="offsetFromHead">0 for the oldest ready CQE.</param>
    /// <returns>The bytes, valid until the CQE is marked seen.</returns>
    public ReadOnlySpan<byte> BigCqe(uint offsetFromHead = 0)
    {
        ThrowIfDisposed();
        return _cq.BigCqe(_cqHead + offsetFromHead);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ref Cqe CqeAt(uint index)
    {
        // A CompletionBatch can outlive the ring's maps; this check keeps it from reading unmapped memory. It runs
        // once per CQE, so it checks only that (the thread check happens when the batch is taken and advanced).
        ThrowIfUnmapped();
        return ref _cq.Entry(index);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool CqNeedsFlush() =>
        (_sq.AcquireFlags() & (uint)(SqRingFlags.CqOverflow | SqRingFlags.TaskRun)) != 0 || _peekMustEnter;

    private void EnterGetEvents(uint minComplete)
    {
        while (true)
        {
            int ret = EnterSyscall(0, minComplete, EnterFlags.GetEvents, "WaitCqe");
            if (ret >= 0 || ret == -Errno.ETIME)
            {
                return;
            }

            if (ret == -Errno.EINTR)
            {
                // A signal interrupted the wait: nothing is lost, the completions stay queued; wait again.
                if (minComplete == 0 || CqReady > 0)
                {
                    return;
                }

                continue;
            }

            if ((ret == -Errno.EBUSY || ret == -Errno.EAGAIN) && minComplete == 0)
            {
                return;
            }

            throw IoUringException.FromErrno(-ret, "io_uring_enter (wait)");
        }
    }

    private void GuardWait(uint waitNr, uint submitting)
    {
        if (ExpectExternalCompletions || submitting > 0 || IsCqOverflowPending)
        {
            return;
        }

        uint ready = CheckedReady(_cqHead, _cq.AcquireTail());
        if (ready >= waitNr)
        {
            return;
        }

        // InFlight still counts requests whose final CQE sits in the queue unseen; only the rest can add completions.
        if (_inFlight > FinalCqesReady(ready))
        {
            return;
        }

        uint prepared = _sqeTail - _sqeHead;
        string why = prepared > 0
            ? $"{prepared} SQE(s) are prepared but not submitted: call Submit() (or SubmitAndWait) before waiting."
            : "No request is in flight: every submitted request has already completed (its CQE was seen or is in the queue).";
        throw new WaitWouldBlockForeverException(
            $"Waiting for {waitNr} completion(s) would block forever: the completion queue holds {ready} and nothing submitted is still owed one. {why} Set Ring.ExpectExternalCompletions if completions come from another ring (MSG_RING).");
    }

    /// <summary>How many of the <paramref name="ready"/> CQEs at the head are final (no <see cref="CqeFlags.More"/>).</summary>
    private long FinalCqesReady(uint ready)
    {
        long finals = 0;
        for (uint i = 0; i < ready; i++)
        {
            // The acquire read of cq.tail in GuardWait makes these entries visible.
            if ((_cq.Entry(_cqHead + i).Flags & CqeFlags.More) == 0)
            {
                finals++;
            }
        }

        return finals;
    }
}
