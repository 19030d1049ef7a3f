using System.Diagnostics;
using System.Runtime.CompilerServices;
using IoUring.Interop;

namespace IoUring;

// The ring's single-threaded contract, checked: the dispose and owner guard every public member calls, ownership moving
// between threads only at a quiet point, and the busy mark around io_uring_enter that catches two threads in the kernel.
public sealed partial class Ring
{
    /// <summary>
    /// The guard at the top of every public member (<see cref="GetSqe"/> and <see cref="TryPeekCqe"/> included):
    /// throws after dispose, and checks that the calling thread owns the ring, which costs one compare of the managed
    /// thread id. Ownership moves to another thread only at a quiet point (see <see cref="TakeOwnership"/>), so
    /// sequential hand-over (across an <c>await</c>) works while use from a second thread during a call of the first,
    /// or between its <c>GetSqe</c> and <c>Submit</c>, throws.
    /// </summary>
    /// <remarks>
    /// One compare covers both checks: <see cref="Dispose"/> sets the owner to <see cref="NoOwner"/>, which no thread's
    /// id equals, so a disposed ring always takes the slow path, which throws there.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ThrowIfDisposed()
    {
        if (Environment.CurrentManagedThreadId != _ownerThread)
        {
            NotOwnerOrDisposed();
        }
    }

    /// <summary>The owner id of a disposed ring: managed thread ids start at 1.</summary>
    private const int NoOwner = 0;

    /// <summary>The slow path of <see cref="ThrowIfDisposed"/>: the ring is disposed, or another thread calls.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void NotOwnerOrDisposed()
    {
        if (_disposed)
        {
            ThrowDisposed();
        }

        TakeOwnership(Environment.CurrentManagedThreadId);
    }

    /// <summary>The dispose check alone, for the per-CQE reads of a <see cref="CompletionBatch"/> (checked when the batch was taken).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ThrowIfUnmapped()
    {
        if (_disposed)
        {
            ThrowDisposed();
        }
    }

    /// <summary>What every thread-misuse message ends with.</summary>
    private const string ThreadRule =
        "A Ring is not thread-safe (like liburing's struct io_uring): use it from one thread at a time (one ring per thread), or use IoUringEngine, which accepts operations from any thread.";

    /// <summary>
    /// The slow path of the owner check: another thread calls into the ring. That is a legitimate hand-over only at a
    /// quiet point: no thread is inside a system call on the ring, and the previous owner left no SQE prepared but
    /// unsubmitted (an SQE it is still filling would be shared, or submitted half-written). Otherwise it throws
    /// before touching anything. Two threads interleaving non-blocking calls still take turns here, so they are
    /// caught at the first call that lands inside the other's batch; the CQ range checks catch the rest before a
    /// completion that was not posted could be handed out.
    /// </summary>
    private void TakeOwnership(int me)
    {
        CheckNotBusyElsewhere(me);
        uint unsubmitted = _sqeTail - _sqeHead;
        if (unsubmitted != 0)
        {
            throw new InvalidOperationException(
                $"This Ring is being used by managed thread {me} while thread {_ownerThread} has {unsubmitted} SQE(s) prepared on it and not submitted. A ring can move to another thread only between batches (after Submit). {ThreadRule}");
        }

        _ownerThread = me;
    }

    /// <summary>
    /// Makes the calling thread the ring's owner, SQEs the previous owner prepared and left unsubmitted included: for a
    /// caller that moves a ring between threads itself and guarantees that the previous owner never touches it again
    /// (an <see cref="IoUringEngine"/> handing its ring to another thread while the old one is stuck in a continuation).
    /// Throws like any misuse when another thread is inside a system call on the ring.
    /// </summary>
    internal void ClaimOwnership()
    {
        if (_disposed)
        {
            ThrowDisposed();
        }

        int me = Environment.CurrentManagedThreadId;
        CheckNotBusyElsewhere(me);
        _ownerThread = me;
    }

    private void CheckNotBusyElsewhere(int me)
    {
        int busy = Volatile.Read(ref _busyThread);
        if (busy != 0 && busy != me)
        {
            ThrowBusy(me, busy);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowBusy(int me, int busy) => throw new InvalidOperationException(
        $"This Ring is being used by managed thread {me} while thread {busy} is inside {_busyWhat} on it. {ThreadRule}");

    /// <summary>io_uring_enter, marking the ring busy for the duration so that use from another thread is reported.</summary>
    private int EnterSyscall(uint toSubmit, uint minComplete, EnterFlags flags, string what) =>
        EnterSyscall(toSubmit, minComplete, flags, timeout: null, what);

    /// <summary>As the overload without a timeout; with one, the wait is bounded (IORING_ENTER_EXT_ARG).</summary>
    private int EnterSyscall(uint toSubmit, uint minComplete, EnterFlags flags, KernelTimespec? timeout, string what) =>
        EnterSyscall(toSubmit, minComplete, flags, new EnterArgs(timeout, 0, null), what);

    /// <summary>
    /// io_uring_enter with an extended argument: a timeout and a minimum wait (IORING_ENTER_EXT_ARG), or the offset of a
    /// registered wait argument (IORING_ENTER_EXT_ARG_REG). The busy mark is taken with a compare-and-swap (its cost
    /// hides behind the system call), so two threads entering the kernel on the same ring at once are always caught:
    /// the second throws before its syscall.
    /// </summary>
    private int EnterSyscall(uint toSubmit, uint minComplete, EnterFlags flags, in EnterArgs args, string what)
    {
        int me = Environment.CurrentManagedThreadId;
        int busy = Interlocked.CompareExchange(ref _busyThread, me, 0);
        if (busy != 0)
        {
            ThrowBusy(me, busy);
        }

        // The thread inside the kernel owns the ring: any other thread's next call takes the slow path and sees it busy.
        _ownerThread = me;
        _busyWhat = what;
        _enterCalls++;
        try
        {
            int fd = EnterFd(out EnterFlags registered);
            flags |= registered;
            if (args.RegisteredWaitOffset is nuint offset)
            {
                return Syscalls.EnterRegisteredWait(fd, toSubmit, minComplete, flags, offset);
            }

            if (args.MinWaitUsec != 0)
            {
                return Syscalls.EnterWithArgs(fd, toSubmit, minComplete, flags, args.Timeout, args.MinWaitUsec);
            }

            return args.Timeout is KernelTimespec ts
                ? Syscalls.EnterWithTimeout(fd, toSubmit, minComplete, flags, ts)
                : Syscalls.Enter(fd, toSubmit, minComplete, flags);
        }
        finally
        {
            Volatile.Write(ref _busyThread, 0);
        }
    }

    /// <summary>The extended argument of one io_uring_enter: a relative timeout, a minimum wait, or a registered wait slot.</summary>
    private readonly record struct EnterArgs(KernelTimespec? Timeout, uint MinWaitUsec, nuint? RegisteredWaitOffset);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowDisposed() => throw new ObjectDisposedException(nameof(Ring));
}
