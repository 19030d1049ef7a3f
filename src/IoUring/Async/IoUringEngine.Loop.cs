using System.Diagnostics;
using System.Runtime.CompilerServices;
using IoUring.Interop;
using Microsoft.Win32.SafeHandles;

namespace IoUring;

// The ring work of the thread that owns the ring: start-up, then passes of take requests → submit → reap → run or
// dispatch the completions, spinning briefly and then parking in the kernel when idle. Everything here runs on the
// owner (see IoUringEngine.HandOff.cs for how the ring changes owners).
public sealed partial class IoUringEngine
{
    /// <summary>User data of the eventfd read that wakes the loop. Op user data never has the top bit set.</summary>
    private const ulong WakeTag = ulong.MaxValue - 1;

    /// <summary>User data of ASYNC_CANCEL requests, whose CQEs are only counted.</summary>
    private const ulong CancelTag = ulong.MaxValue - 2;

    /// <summary>User data of the ASYNC_CANCEL of everything at shutdown.</summary>
    private const ulong CancelAnyTag = ulong.MaxValue - 3;

    /// <summary>User data of the <c>LINK_TIMEOUT</c> linked to an op with a deadline; its CQE is only counted (the op's own CQE says what happened).</summary>
    private const ulong LinkTimeoutTag = ulong.MaxValue - 4;

    private const ulong FirstInternalTag = ulong.MaxValue - 15;

    [ThreadStatic]
    private static IoUringEngine? t_loopEngine;

    private Ring _ring = null!;

    /// <summary>Set by the constructor until start-up has run on the first worker.</summary>
    private ManualResetEventSlim? _started;
    private Exception? _startupError;

    /// <summary>Requests in the kernel (ops, multishot requests, cancels, the wake read) whose final CQE has not been reaped.</summary>
    private int _kernelInFlight;

    /// <summary>Most ops allowed in the kernel at once: half the CQ, so ops, their cancels and the wake read always fit.</summary>
    private int _maxOpsInFlight;

    /// <summary>Linked timeouts in the kernel (their CQEs not reaped); they count against <see cref="_maxOpsInFlight"/> like ops.</summary>
    private int _linkTimeoutsInFlight;

    /// <summary>Ops taken from the queue but not yet turned into SQEs (FIFO), because the SQ or the CQ budget was full.</summary>
    private IoOperation? _pendingHead;
    private IoOperation? _pendingTail;

    /// <summary>The 8 bytes the armed eventfd read writes into.</summary>
    private NativeBuffer? _wakeBuffer;
    private int _wakeFd = -1;
    private bool _wakeArmed;

    /// <summary>The largest continuation list made at start-up (32 KiB of arrays); a larger pass grows the list once.</summary>
    private const int MaxPresizedReady = 1024;

    /// <summary>Set when shutdown starts: completions then go to the thread pool, never to a continuation phase.</summary>
    private bool _stopping;

    /// <summary>Sets the ring up on this thread (a fresh engine's first worker); false when that failed (the constructor throws it).</summary>
    private bool StartUp()
    {
        ManualResetEventSlim started = _started!;
        try
        {
            Setup();
        }
        catch (Exception e)
        {
            _startupError = e;
            if (IoUringEventSource.Log.IsEnabled())
            {
                IoUringEventSource.Log.RingSetupFailed(Id, (e as IoUringSetupException)?.Reason.ToString() ?? e.GetType().Name, (e as IoUringException)?.Errno ?? 0, e.Message);
            }

            Volatile.Write(ref _state, StateStopped);
            _ring?.Dispose();
            _registeredBuffers?.OnEngineStopped(kernelDone: true);
            _ = _submissions.Close(out _);
            CloseMultishotStack();
            _submissions.DisposeWakeHandle();
            _wakeBuffer?.Dispose();
            _stopped.TrySetResult();
            started.Set();
            return false;
        }

        // The continuation lists hold a pass's completions: sized to the most ops the ring lets into the kernel (capped),
        // so neither grows in a measurement window, not even the spare that a hand-off swaps in (growing a list of 64
        // to 128 is 4,192 bytes).
        int readyCapacity = Math.Min(_maxOpsInFlight + 4, MaxPresizedReady);
        _ready = new ReadyList(readyCapacity);
        if (_options.HandsOff)
        {
            // Made now, so a hand-off allocates nothing (later ones reuse the list the old owner leaves behind).
            _spareReady = new ReadyList(readyCapacity);
            EngineMonitor.Register(this);
        }

        IoUringMetrics.Register(this);
        if (IoUringEventSource.Log.IsEnabled())
        {
            IoUringEventSource.Log.RingCreated(Id, SetupFlags.ToString(), Features.ToString(), (int)_ring.SqEntries, (int)_ring.CqEntries);
        }

        started.Set();
        return true;
    }

    private void Setup()
    {
        _ring = CreateRing(_options, Id);
        SetupFlags = _ring.SetupFlags;
        Features = _ring.Features;
        _maxOpsInFlight = (int)Math.Max(1, (_ring.CqEntries / 2) - 2);
        if (_options.FixedFileSlots > 0)
        {
            try
            {
                // Sparse (5.19+): every slot starts empty; files fill them with FILES_UPDATE + IORING_FILE_INDEX_ALLOC.
                _ring.RegisterFilesSparse(_options.FixedFileSlots);
                FixedFileSlots = (int)_options.FixedFileSlots;
            }
            catch (IoUringException e)
            {
                // Older kernel, or more slots than RLIMIT_NOFILE allows: files use plain descriptors.
                IoUringEventSource.Log.RegistrationFailed(Id, "fixed file slots", e.Errno, e.Message);
            }
        }

        if (_options.RegisteredBufferCount > 0)
        {
            var buffers = new RegisteredBufferPool(this, _options.RegisteredBufferCount, _options.RegisteredBufferSize);
            try
            {
                // Here, on the first owner: with SINGLE_ISSUER only the ring's submitter may register.
                buffers.Register(_ring);
            }
            catch (IoUringException e)
            {
                // Usually RLIMIT_MEMLOCK: the buffers still serve as plain native buffers.
                RegisteredBuffersError = e;
                IoUringEventSource.Log.RegistrationFailed(Id, "registered buffers", e.Errno, e.Message);
            }

            _registeredBuffers = buffers;
        }

        int fd = Libc.EventFd(0, Libc.EFD_CLOEXEC);
        if (fd < 0)
        {
            throw IoUringException.FromErrno(-fd, "eventfd");
        }

        // A blocking eventfd: io_uring then parks the read on the fd's wait queue. With O_NONBLOCK it would fail at once with EAGAIN.
        _submissions.AttachWakeHandle(new SafeFileHandle(fd, ownsHandle: true));
        _wakeFd = fd;
        _wakeBuffer = new NativeBuffer(sizeof(ulong), sizeof(ulong));
        ArmWake();
    }

    /// <summary>
    /// Runs passes until the engine stops (returns true: this thread then shuts it down) or the ring is handed to
    /// another thread during a continuation phase (returns false: this thread must not touch the engine again).
    /// </summary>
    private bool Loop()
    {
        long maxSpin = (long)(_options.SpinBeforePark.TotalSeconds * Stopwatch.Frequency);
        long spin = maxSpin;
        long stallScanPeriod = Math.Max(1, (long)(StallScanPeriod.TotalSeconds * Stopwatch.Frequency));
        long nextStallScan = Stopwatch.GetTimestamp() + stallScanPeriod;
        while (Volatile.Read(ref _state) == StateRunning)
        {
            if (_dispatchToPool)
            {
                long now = Stopwatch.GetTimestamp();
                if (now >= nextStallScan)
                {
                    // A busy loop never parks, so look here for a batch that is stuck in one continuation.
                    TakeStalledDispatches();
                    nextStallScan = now + stallScanPeriod;
                }
            }

            TakeSubmissions();
            bool sqFull = PrepPending();
            TakeCancels();
            TakeMultishot();
            if (_ring.SqReady > 0)
            {
                // Requests that complete inline (page-cache hits) have their CQEs ready when this returns.
                SubmitOnly();
            }

            uint reaped = Reap();
            if (!FlushCompletions())
            {
                return false;
            }

            if (reaped > 0 || sqFull || HasWork())
            {
                continue;
            }

            if (_dispatchToPool && AnyDispatchHolding())
            {
                // A running batch holds requests it publishes when it ends: wait for the whole batch rather than
                // take part of it now. The stall scan at the top of the loop takes it if the batch is stuck.
                WaitWhileHolding(nextStallScan);
                continue;
            }

            // Idle. Spin a little first: continuations usually push the next requests within microseconds, and
            // catching them here saves the submitter an eventfd write and the loop a sleep and a wake-up. The budget
            // adapts: it shrinks while spinning finds nothing (slow devices) and is restored when it pays off.
            if (spin > 0)
            {
                if (SpinForWork(spin))
                {
                    spin = maxSpin;
                    continue;
                }

                spin = Math.Max(spin / 2, maxSpin / 32);
            }

            // Park in the kernel. Announce it first, then look at the queues once more (see SubmissionQueue).
            _submissions.Park();
            if (HasWork() || (_dispatchToPool && AnyDispatchHolding()) || Volatile.Read(ref _state) != StateRunning)
            {
                _submissions.Unpark();
                continue;
            }

            Counters.ParkedSince = Stopwatch.GetTimestamp();
            SubmitAndWait();
            Counters.ParkedTicks += Stopwatch.GetTimestamp() - Counters.ParkedSince;
            Counters.ParkedSince = 0;

            _submissions.Unpark();
            _ = Reap();
            if (!FlushCompletions())
            {
                return false;
            }
        }

        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool HasWork() => _submissions.HasWork || Volatile.Read(ref _multishotHead) is not null || _deferred.HasAny;

    private bool SpinForWork(long spinTicks)
    {
        long deadline = Stopwatch.GetTimestamp() + spinTicks;
        var spinner = default(SpinWait);
        do
        {
            if (HasWork() || _ring.ReadyCqes.Count > 0 || Volatile.Read(ref _state) != StateRunning)
            {
                return true;
            }

            if (_dispatchToPool && AnyDispatchHolding())
            {
                // A batch has started handing back requests; the loop waits for the rest of it.
                return true;
            }

            if (_dispatchToPool)
            {
                // The next submissions come from pool threads that may need this core: yield it now and then.
                spinner.SpinOnce(sleep1Threshold: -1);
            }
            else
            {
                // Inline: the submissions come from this thread's own continuations; nobody in the process waits for
                // the core, so pause only (a yield would show up as a context switch per idle period).
                Thread.SpinWait(20);
            }
        }
        while (Stopwatch.GetTimestamp() < deadline);

        return false;
    }

    /// <summary>Moves everything pushed so far to the end of the pending FIFO.</summary>
    private void TakeSubmissions()
    {
        IoOperation? oldest = _submissions.TakeAll(out IoOperation? newest);
        if (oldest is not null)
        {
            AppendChain(oldest, newest!);
        }
    }

    /// <summary>Appends a FIFO chain <paramref name="oldest"/>..<paramref name="newest"/> to the pending list.</summary>
    private void AppendChain(IoOperation oldest, IoOperation newest)
    {
        if (_pendingTail is null)
        {
            _pendingHead = oldest;
        }
        else
        {
            _pendingTail.NextSubmit = oldest;
        }

        _pendingTail = newest;
    }

    private void AppendPending(IoOperation op)
    {
        op.NextSubmit = null;
        AppendChain(op, op);
    }

    /// <summary>Turns pending ops into SQEs. Returns true when it stopped because the SQ is full (so submit and come back without waiting).</summary>
    private bool PrepPending()
    {
        IoOperation? op = _pendingHead;
        if (op is null)
        {
            return false;
        }

        uint space = _ring.SqSpaceLeft;
        bool sqFull = false;
        while (op is not null)
        {
            if (_operations.Count + _linkTimeoutsInFlight >= _maxOpsInFlight)
            {
                break;
            }

            // An op with a deadline takes two SQEs, submitted together (a link never spans two submissions).
            uint needed = op.Deadline.IsSet ? 2u : 1u;
            if (space < needed)
            {
                sqFull = true;
                break;
            }

            IoOperation? next = op.NextSubmit;
            op.NextSubmit = null;
            if (op.Token.IsCancellationRequested)
            {
                // Cancelled before it reached the kernel: complete it without submitting.
                CompleteOp(op, -Errno.ECANCELED);
            }
            else
            {
                SubmitOp(op);
                space -= needed;
            }

            op = next;
        }

        _pendingHead = op;
        if (op is null)
        {
            _pendingTail = null;
        }

        return sqFull;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SubmitOp(IoOperation op)
    {
        ulong userData = _operations.Add(op);
        op.CancelIssued = false;
        ref Sqe sqe = ref _ring.GetSqe();
        sqe = op.Template;
        sqe.UserData = userData;
        if (sqe.Opcode is Opcode.ReadFixed or Opcode.WriteFixed)
        {
            _fixedBufferRequests++;
        }

        _kernelInFlight++;
        if (op.Deadline.IsSet)
        {
            sqe.Flags |= SqeFlags.IoLink;
            LinkDeadline(op.Deadline);
        }
    }

    /// <summary>
    /// Puts the <c>LINK_TIMEOUT</c> of the op just prepared right after it (PrepPending left room for both). When the
    /// deadline passes the kernel cancels the op, whose CQE then carries <c>-ECANCELED</c>; the timeout's own CQE
    /// (<c>-ETIME</c>, or <c>-ECANCELED</c> when the op finished first) is only counted.
    /// </summary>
    private void LinkDeadline(in RequestDeadline deadline)
    {
        ref Sqe timeout = ref _ring.PrepLinkTimeout(deadline.SinceEpoch, TimeoutFlags.Abs);
        timeout.UserData = LinkTimeoutTag;
        _kernelInFlight++;
        _linkTimeoutsInFlight++;
    }

    /// <summary>Sends ASYNC_CANCEL for every op whose token was cancelled while it is in the kernel.</summary>
    private void TakeCancels()
    {
        IoOperation? list = _submissions.TakeCancels();
        while (list is not null)
        {
            IoOperation op = list;
            list = op.NextCancel;
            op.NextCancel = null;
            // Reset first (full fence), then check: a cancellation that arrives after this exchange pushes the op again.
            Interlocked.Exchange(ref op.CancelQueued, 0);
            if (op.Slot >= 0 && !op.CancelIssued && op.Token.IsCancellationRequested)
            {
                op.CancelIssued = true;
                QueueCancel(op.UserData);
            }

            // Not in flight: either it is still pending (PrepPending sees the cancelled token and never submits it)
            // or it already completed (the request is stale and must not cancel whatever reuses the op).
        }
    }

    private void ArmWake()
    {
        ref Sqe sqe = ref GetInternalSqe();
        sqe.PrepRead(_wakeFd, _wakeBuffer!.Address, sizeof(ulong), 0);
        sqe.UserData = WakeTag;
        _kernelInFlight++;
        _wakeArmed = true;
    }

    /// <summary>Queues an <c>ASYNC_CANCEL</c> of the request with <paramref name="userData"/>; its CQE is only counted.</summary>
    private void QueueCancel(ulong userData)
    {
        ref Sqe sqe = ref GetInternalSqe();
        sqe.PrepCancel(userData);
        sqe.UserData = CancelTag;
        _kernelInFlight++;
    }

    private ref Sqe GetInternalSqe()
    {
        while (_ring.SqSpaceLeft == 0)
        {
            SubmitOnly();
            if (_ring.SqSpaceLeft == 0)
            {
                _ = Reap();
            }
        }

        return ref _ring.GetSqe();
    }

    private void SubmitOnly()
    {
        try
        {
            int submitted = _ring.Submit();
            Counters.Submitted += submitted;
            IoUringMetrics.RecordBatch(this, submitted);
        }
        catch (IoUringException e) when (e.Errno is Errno.EBUSY or Errno.EAGAIN)
        {
            // Completions are backed up or the kernel is short of memory: reap, and the SQEs go with the next enter.
        }
    }

    private void SubmitAndWait()
    {
        try
        {
            int submitted = _ring.SubmitAndWait(1);
            Counters.Submitted += submitted;
            IoUringMetrics.RecordBatch(this, submitted);
        }
        catch (IoUringException e) when (e.Errno is Errno.EBUSY or Errno.EAGAIN)
        {
        }
    }

    private uint Reap()
    {
        CompletionBatch batch = _ring.ReadyCqes;
        uint count = batch.Count;
        if (count == 0)
        {
            return 0;
        }

        _dispatchLimit = DispatchChunk(count);
        if ((++_reapNumber & 255) == 0)
        {
            // Now and then, not per reap: the kernel's count of dropped completions, for the meter.
            Counters.CqOverflow = _ring.CqOverflow;
        }

        CompletionFaultInjector? faults = CompletionFaults.Injector;
        foreach (ref readonly Cqe cqe in batch)
        {
            Deliver(faults, cqe);
        }

        _ring.CqAdvance(count);
        return count;
    }

    private void OnCqe(ulong userData, int res, CqeFlags flags)
    {
        if (userData >= MultishotBit)
        {
            if (userData < FirstInternalTag)
            {
                OnMultishotCqe(userData, res, flags);
                return;
            }

            _kernelInFlight--;
            if (userData == LinkTimeoutTag)
            {
                _linkTimeoutsInFlight--;
            }
            else if (userData == WakeTag)
            {
                _wakeArmed = false;
                if (Volatile.Read(ref _state) == StateRunning)
                {
                    ArmWake();
                }
            }

            return;
        }

        IoOperation? op = _operations.Remove(userData);
        if (op is null)
        {
            return;
        }

        _kernelInFlight--;
        if (op.Kind is OpKind.Write or OpKind.WriteV or OpKind.SendV && res >= 0)
        {
            if (res > 0 && !op.AdvanceWrite(res))
            {
                // A short write: the rest goes out as a new submission (with a new user data).
                AppendPending(op);
                return;
            }

            CompleteOp(op, res == 0 ? -Errno.EIO : op.Transferred + res);
            return;
        }

        if (res == 0 && op.Kind == OpKind.Send && op.Template.Len != 0)
        {
            // A stream send of a non-empty buffer blocks or fails; it does not complete with 0 bytes. An error, as a
            // write's 0 is above, so that no caller's loop sends the same bytes again forever.
            res = -Errno.EIO;
        }

        CompleteOp(op, res);
    }
}
