using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using IoUring.Interop;
using Microsoft.Win32.SafeHandles;

namespace IoUring;

// The loop thread: the only thread that touches the ring. Everything in this file runs on it.
public sealed partial class IoUringEngine
{
    /// <summary>User data of the eventfd read that wakes the loop. Op user data never has the top bit set.</summary>
    private const ulong WakeTag = ulong.MaxValue - 1;

    /// <summary>User data of ASYNC_CANCEL requests, whose CQEs are only counted.</summary>
    private const ulong CancelTag = ulong.MaxValue - 2;

    private const ulong FirstInternalTag = ulong.MaxValue - 15;

    [ThreadStatic]
    private static IoUringEngine? t_loopEngine;

    private Ring _ring = null!;
    private Exception? _startupError;

    /// <summary>The registered buffers (<see cref="IoUringEngineOptions.RegisteredBufferCount"/>), made by <see cref="Setup"/>; null when none were asked for.</summary>
    private RegisteredBufferPool? _registeredBuffers;

    /// <summary>Ops in flight, by slot; the slot is the low half of the op's user data.</summary>
    private IoOperation?[] _slots = new IoOperation?[64];
    private int[] _freeSlots = new int[64];
    private int _freeSlotCount;

    /// <summary>Per-submission sequence number in the high half of the user data, so a stale cancel never hits a reused slot.</summary>
    private uint _sequence;

    /// <summary>Requests in the kernel (ops, cancels, the wake read) whose CQE has not been reaped.</summary>
    private int _kernelInFlight;

    /// <summary>Most ops allowed in the kernel at once: half the CQ, so ops, their cancels and the wake read always fit.</summary>
    private int _maxOpsInFlight;
    private int _opsInFlight;

    /// <summary>Ops taken from the stack but not yet turned into SQEs (FIFO), because the SQ or the CQ budget was full.</summary>
    private IoOperation? _pendingHead;
    private IoOperation? _pendingTail;

    private NativeBuffer? _wakeBuffer;
    private int _wakeFd = -1;
    private bool _wakeArmed;
    private int _abandoned;
    private long _wakeups;

    /// <summary>An unexpected error that stopped the loop, if any.</summary>
    public Exception? Fault { get; private set; }

    private void Run(ManualResetEventSlim started)
    {
        t_loopEngine = this;
        try
        {
            Setup();
        }
        catch (Exception e)
        {
            _startupError = e;
            Volatile.Write(ref _state, StateStopped);
            _ring?.Dispose();
            _registeredBuffers?.OnEngineStopped(kernelDone: true);
            _ = Interlocked.Exchange(ref _submitHead, _closedSentinel);
            _ = Interlocked.Exchange(ref _cancelHead, _closedSentinel);
            _wakeHandle?.Dispose();
            _wakeBuffer?.Dispose();
            _stopped.TrySetResult();
            started.Set();
            return;
        }

        started.Set();
        try
        {
            Loop();
        }
        catch (Exception e)
        {
            // A kernel error the loop cannot handle. Stop like Dispose does: every op still completes, and nothing the
            // kernel may write to is released early.
            Fault = e;
            Volatile.Write(ref _state, StateDisposing);
        }

        Shutdown();
    }

    private void Setup()
    {
        _ring = CreateRing(_options);
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
            catch (IoUringException)
            {
                // Older kernel, or more slots than RLIMIT_NOFILE allows: files use plain descriptors.
            }
        }

        if (_options.RegisteredBufferCount > 0)
        {
            var buffers = new RegisteredBufferPool(this, _options.RegisteredBufferCount, _options.RegisteredBufferSize);
            try
            {
                // Here, on the loop thread: with SINGLE_ISSUER only the ring's submitter may register.
                buffers.Register(_ring);
            }
            catch (IoUringException e)
            {
                // Usually RLIMIT_MEMLOCK: the buffers still serve as plain native buffers.
                RegisteredBuffersError = e;
            }

            _registeredBuffers = buffers;
        }

        int fd = Libc.EventFd(0, Libc.EFD_CLOEXEC);
        if (fd < 0)
        {
            throw IoUringException.FromErrno(-fd, "eventfd");
        }

        // A blocking eventfd: io_uring then parks the read on the fd's wait queue. With O_NONBLOCK it would fail at once with EAGAIN.
        _wakeHandle = new SafeFileHandle(fd, ownsHandle: true);
        _wakeFd = fd;
        _wakeBuffer = new NativeBuffer(sizeof(ulong), sizeof(ulong));
        for (int i = _slots.Length - 1; i >= 0; i--)
        {
            _freeSlots[_freeSlotCount++] = i;
        }

        ArmWake();
    }

    private static Ring CreateRing(IoUringEngineOptions options)
    {
        uint entries = options.QueueEntries;
        uint cq = entries * 4;
        var attempts = new List<RingOptions>(3);
        if (options.UseDeferTaskRun)
        {
            // SINGLE_ISSUER binds the ring to the creating thread: this one, the loop.
            attempts.Add(new RingOptions { CqEntries = cq, SingleIssuer = true, DeferTaskRun = true, DisposeDrainTimeout = TimeSpan.FromSeconds(1) });
        }

        attempts.Add(new RingOptions { CqEntries = cq, CoopTaskRun = true, TaskRunFlag = true, DisposeDrainTimeout = TimeSpan.FromSeconds(1) });
        attempts.Add(new RingOptions { CqEntries = cq, DisposeDrainTimeout = TimeSpan.FromSeconds(1) });
        IoUringSetupException? last = null;
        foreach (RingOptions o in attempts)
        {
            try
            {
                return new Ring(entries, o);
            }
            catch (IoUringSetupException e) when (e.Reason == SetupFailureReason.InvalidArguments)
            {
                last = e;
            }
        }

        throw last!;
    }

    private void Loop()
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
            FlushDispatch();
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

            // Park in the kernel. Announce it first, then look at the stacks once more: a submitter pushes first and
            // reads _parked second, so one of us sees the other (both sides use full fences) and no push is left
            // sleeping in the stack.
            Interlocked.Exchange(ref _parked, 1);
            if (HasWork() || (_dispatchToPool && AnyDispatchHolding()) || Volatile.Read(ref _state) != StateRunning)
            {
                Volatile.Write(ref _parked, 0);
                continue;
            }

            SubmitAndWait();

            Volatile.Write(ref _parked, 0);
            _ = Reap();
            FlushDispatch();
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool HasWork() => _localHead is not null || Volatile.Read(ref _submitHead) is not null || Volatile.Read(ref _cancelHead) is not null ||
        Volatile.Read(ref _multishotHead) is not null;

    /// <summary>Ops submitted on the loop thread itself (by inline continuations), FIFO; merged by <see cref="TakeSubmissions"/>.</summary>
    private IoOperation? _localHead;
    private IoOperation? _localTail;

    /// <summary>Set when shutdown starts: from then on ops submitted on the loop thread go through the (closed) stack and are refused.</summary>
    private bool _loopClosed;

    private void PushLocal(IoOperation op) => AppendFifo(ref _localHead, ref _localTail, op);

    /// <summary>Appends <paramref name="op"/> to a FIFO linked through <see cref="IoOperation.NextSubmit"/> (loop only).</summary>
    private static void AppendFifo(ref IoOperation? head, ref IoOperation? tail, IoOperation op)
    {
        op.NextSubmit = null;
        if (tail is null)
        {
            head = op;
        }
        else
        {
            tail.NextSubmit = op;
        }

        tail = op;
    }

    /// <summary>Moves the loop-thread submissions to the end of the pending FIFO.</summary>
    private void TakeLocal()
    {
        IoOperation? head = _localHead;
        if (head is null)
        {
            return;
        }

        if (_pendingTail is null)
        {
            _pendingHead = head;
        }
        else
        {
            _pendingTail.NextSubmit = head;
        }

        _pendingTail = _localTail;
        _localHead = _localTail = null;
    }

    private void WaitWhileHolding(long until)
    {
        while (!HasWork() && _ring.ReadyCqes.Count == 0 && Volatile.Read(ref _state) == StateRunning && AnyDispatchHolding() &&
               Stopwatch.GetTimestamp() < until)
        {
            Thread.SpinWait(20);
        }
    }

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

    /// <summary>The completions gathered for the thread pool since the last flush (thread-pool mode).</summary>
    private CompletionDispatch _dispatch;

    /// <summary>Free dispatches taken from <see cref="_freeDispatches"/> (loop only).</summary>
    private CompletionDispatch? _freeDispatchesLocal;

    private CompletionDispatch RentDispatch()
    {
        CompletionDispatch? d = _freeDispatchesLocal;
        if (d is null)
        {
            d = Volatile.Read(ref _freeDispatches) is null ? null : Interlocked.Exchange(ref _freeDispatches, null);
            if (d is null)
            {
                return new CompletionDispatch();
            }
        }

        _freeDispatchesLocal = d.NextFree;
        d.NextFree = null;
        return d;
    }

    /// <summary>
    /// Hands the gathered completions to the thread pool as one work item, or, when the batch queued by an earlier reap
    /// has not been started by any pool thread yet (the pool is behind), adds them to it: they would only wait behind
    /// it, and the set of batches (and the work items the pool wakes up for) stays bounded. Never into a batch of the
    /// same reap, whose halves are meant to run while the loop goes on.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void FlushDispatch()
    {
        if (_dispatch.Count > 0)
        {
            FlushDispatchCore();
        }
    }

    private void FlushDispatchCore()
    {
        if (_lastQueued is not null && _lastQueuedReap != _reapNumber && _lastQueued.TryAppendFrom(_dispatch))
        {
            return;
        }

        _dispatch.Dispatch(this);
        _lastQueued = _dispatch;
        _lastQueuedReap = _reapNumber;
        _dispatch = RentDispatch();
    }

    /// <summary>The batch the loop queued last (it may have run and been reused since: appending then fails; loop).</summary>
    private CompletionDispatch? _lastQueued;

    /// <summary>The reap <see cref="_lastQueued"/> was queued in, and the number of the current reap (loop).</summary>
    private long _lastQueuedReap = -1;
    private long _reapNumber;

    /// <summary>How often a busy loop looks for a thread-pool batch stuck in one continuation while holding unpublished requests.</summary>
    private static readonly TimeSpan StallScanPeriod = TimeSpan.FromMicroseconds(50);

    /// <summary>Each running-dispatch slot's dispatch and progress at the previous stall scan (loop only).</summary>
    private readonly CompletionDispatch?[] _scannedDispatches = new CompletionDispatch?[RunningDispatchSlots];
    private readonly int[] _scannedProgress = new int[RunningDispatchSlots];

    private void TakeStalledDispatches() => _ = TakeDispatchLists(stalledOnly: true);

    /// <summary>
    /// True when a running batch holds unpublished requests. Called after <see cref="_parked"/> is set: a batch that
    /// pushes after this check sees the flag and publishes at once, so parking after a false answer loses nothing.
    /// </summary>
    private bool AnyDispatchHolding()
    {
        for (int i = 0; i < RunningDispatchSlots; i++)
        {
            if (Volatile.Read(ref _runningDispatches[i]) is CompletionDispatch d && d.Holding)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Takes the unpublished requests of running thread-pool batches into the pending FIFO: of every batch (the loop is
    /// about to park or shutting down), or only of those that finished no continuation since the previous scan (one
    /// may be blocked on a request in its own list). Returns true when it took anything.
    /// </summary>
    private bool TakeDispatchLists(bool stalledOnly)
    {
        bool took = false;
        for (int i = 0; i < RunningDispatchSlots; i++)
        {
            CompletionDispatch? d = Volatile.Read(ref _runningDispatches[i]);
            if (d is null)
            {
                _scannedDispatches[i] = null;
                continue;
            }

            int progress = d.Progress;
            bool stalled = ReferenceEquals(_scannedDispatches[i], d) && _scannedProgress[i] == progress;
            _scannedDispatches[i] = d;
            _scannedProgress[i] = progress;
            if (stalledOnly && !stalled)
            {
                continue;
            }

            IoOperation? list = d.Steal();
            if (list is null)
            {
                continue;
            }

            took = true;
            IoOperation? reversed = null;
            IoOperation last = list;
            while (list is not null)
            {
                IoOperation? next = list.NextSubmit;
                list.NextSubmit = reversed;
                reversed = list;
                list = next;
            }

            if (_pendingTail is null)
            {
                _pendingHead = reversed;
            }
            else
            {
                _pendingTail.NextSubmit = reversed;
            }

            _pendingTail = last;
        }

        return took;
    }

    /// <summary>Moves everything pushed so far to the end of the pending FIFO (the stack is LIFO, so reverse it).</summary>
    private void TakeSubmissions()
    {
        if (Volatile.Read(ref _submitHead) is null)
        {
            TakeLocal();
            return;
        }

        IoOperation? list = Interlocked.Exchange(ref _submitHead, null);
        IoOperation? reversed = null;
        IoOperation? last = list;
        while (list is not null)
        {
            IoOperation next = list.NextSubmit!;
            list.NextSubmit = reversed;
            reversed = list;
            list = next;
        }

        if (reversed is null)
        {
            TakeLocal();
            return;
        }

        if (_pendingTail is null)
        {
            _pendingHead = reversed;
        }
        else
        {
            _pendingTail.NextSubmit = reversed;
        }

        _pendingTail = last;
        TakeLocal();
    }

    private void AppendPending(IoOperation op) => AppendFifo(ref _pendingHead, ref _pendingTail, op);

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
            if (_opsInFlight >= _maxOpsInFlight)
            {
                break;
            }

            if (space == 0)
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
                space--;
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
        int slot = AllocateSlot();
        _slots[slot] = op;
        _sequence = (_sequence + 1) & 0x7FFF_FFFF;
        ulong userData = ((ulong)_sequence << 32) | (uint)slot;
        op.Slot = slot;
        op.UserData = userData;
        op.CancelIssued = false;
        ref Sqe sqe = ref _ring.GetSqe();
        sqe = op.Template;
        sqe.UserData = userData;
        if (sqe.Opcode is Opcode.ReadFixed or Opcode.WriteFixed)
        {
            _fixedBufferRequests++;
        }

        _kernelInFlight++;
        _opsInFlight++;
        Volatile.Write(ref _publishedOpsInFlight, _opsInFlight);
    }

    private int _publishedOpsInFlight;

    /// <summary>Requests submitted as READ_FIXED/WRITE_FIXED (loop writes, anyone reads).</summary>
    private long _fixedBufferRequests;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int AllocateSlot()
    {
        if (_freeSlotCount == 0)
        {
            GrowSlots();
        }

        return _freeSlots[--_freeSlotCount];
    }

    private void GrowSlots()
    {
        int old = _slots.Length;
        Array.Resize(ref _slots, old * 2);
        Array.Resize(ref _freeSlots, old * 2);
        for (int i = (old * 2) - 1; i >= old; i--)
        {
            _freeSlots[_freeSlotCount++] = i;
        }

    }

    /// <summary>Sends ASYNC_CANCEL for every op whose token was cancelled while it is in the kernel.</summary>
    private void TakeCancels()
    {
        if (Volatile.Read(ref _cancelHead) is null)
        {
            return;
        }

        IoOperation? list = Interlocked.Exchange(ref _cancelHead, null);
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
            _ = _ring.Submit();
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
            _ = _ring.SubmitAndWait(1);
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
        _reapNumber++;
        foreach (ref readonly Cqe cqe in batch)
        {
            OnCqe(cqe.UserData, cqe.Res, cqe.Flags);
        }

        _ring.CqAdvance(count);
        return count;
    }

    /// <summary>
    /// How many completions of a reap of <paramref name="reaped"/> go into one thread-pool batch: about half, so the
    /// first batch's continuations run (and hand their next requests back) while the loop still dispatches, submits
    /// and reaps — the loop's kernel work and the continuations overlap instead of taking turns. At least
    /// <see cref="MinDispatchChunk"/>, so small reaps stay one work item.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int DispatchChunk(uint reaped) => (int)Math.Clamp(reaped / 2, MinDispatchChunk, CompletionDispatch.Capacity);

    private const int MinDispatchChunk = 8;

    /// <summary>Completions per thread-pool batch for the current reap (see <see cref="DispatchChunk"/>; loop).</summary>
    private int _dispatchLimit = CompletionDispatch.Capacity;

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
            if (userData == WakeTag)
            {
                _wakeArmed = false;
                if (Volatile.Read(ref _state) == StateRunning)
                {
                    ArmWake();
                }
            }

            return;
        }

        int slot = (int)(uint)userData;
        IoOperation? op = (uint)slot < (uint)_slots.Length ? _slots[slot] : null;
        if (op is null || op.UserData != userData)
        {
            Debug.Fail($"A CQE for unknown user data {userData:x}.");
            return;
        }

        _kernelInFlight--;
        _opsInFlight--;
        Volatile.Write(ref _publishedOpsInFlight, _opsInFlight);
        _slots[slot] = null;
        _freeSlots[_freeSlotCount++] = slot;
        op.Slot = -1;

        if (res > 0 && op.Kind is OpKind.Write or OpKind.WriteV && !AdvanceWrite(op, res))
        {
            // A short write: the rest goes out as a new submission (with a new user data).
            AppendPending(op);
            return;
        }

        long result = res;
        if (op.Kind is OpKind.Write or OpKind.WriteV && res >= 0)
        {
            result = res == 0 ? -Errno.EIO : op.Transferred + res;
        }

        CompleteOp(op, result);
    }

    /// <summary>Accounts <paramref name="written"/> bytes of a must-write-everything op. Returns true when it is done.</summary>
    private static bool AdvanceWrite(IoOperation op, int written)
    {
        if (op.Kind == OpKind.Write)
        {
            if ((uint)written >= op.Template.Len)
            {
                return true;
            }

            op.Transferred += written;
            op.Template.Addr += (uint)written;
            op.Template.Len -= (uint)written;
            AdvanceOffset(ref op.Template, written);
            return false;
        }

        IoVec[] iov = op.IoVecs;
        int k = op.IoVecStart;
        long left = written;
        while (k < op.IoVecCount && left >= (long)iov[k].Length)
        {
            left -= (long)iov[k].Length;
            k++;
        }

        if (k >= op.IoVecCount)
        {
            return true;
        }

        // The kernel is done with the array (its CQE is reaped), so the remaining entries can be edited in place.
        iov[k].Base += (nint)left;
        iov[k].Length -= (nuint)left;
        op.IoVecStart = k;
        op.Transferred += written;
        op.Template.Addr = (ulong)(op.IoVecAddress + (k * Unsafe.SizeOf<IoVec>()));
        op.Template.Len = (uint)(op.IoVecCount - k);
        AdvanceOffset(ref op.Template, written);
        return false;
    }

    /// <summary>
    /// Moves a resubmitted write's file offset past what was written. Offset -1 (a pipe, socket or other stream) stays
    /// -1: the kernel refuses any other offset on an unseekable file with <c>ESPIPE</c>.
    /// </summary>
    private static void AdvanceOffset(ref Sqe sqe, int written)
    {
        if (sqe.Off != ulong.MaxValue)
        {
            sqe.Off += (uint)written;
        }
    }

    /// <summary>
    /// Publishes an op's result: at once on the loop (inline mode, or an op marked <see cref="IoOperation.CompleteOnLoop"/>),
    /// or in the next batch for the thread pool.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CompleteOp(IoOperation op, long result)
    {
        if (_dispatchToPool && !op.CompleteOnLoop)
        {
            _dispatch.Add(op, result);
            if (_dispatch.Count >= _dispatchLimit)
            {
                FlushDispatch();
            }

            return;
        }

        try
        {
            op.Complete(result);
        }
        catch (Exception e)
        {
            // Only a custom consumer of the IValueTaskSource can throw here (awaiters never do). Keep the loop alive and
            // surface the error as an unhandled exception, like an async void method would.
            ThreadPool.UnsafeQueueUserWorkItem(static state => ExceptionDispatchInfo.Throw((Exception)state!), e);
        }
    }

    /// <summary>
    /// Runs <paramref name="callback"/> with the completions of the current reap: on the loop thread in thread-pool mode,
    /// it joins the batch the loop hands to the thread pool next (so requests it makes are collected with the batch's);
    /// anywhere else (another thread, inline mode, or a closing loop) it is queued to the thread pool on its own.
    /// </summary>
    internal void ScheduleWithCompletions(Action<object?> callback, object? state)
    {
        if (_dispatchToPool && t_loopEngine == this && !_loopClosed)
        {
            _dispatch.Add(callback, state);
            if (_dispatch.Count >= _dispatchLimit)
            {
                FlushDispatch();
            }

            return;
        }

        ThreadPool.UnsafeQueueUserWorkItem(callback, state, preferLocal: false);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Shutdown.
    // ------------------------------------------------------------------------------------------------------------

    private void Shutdown()
    {
        // 1. No more submissions: close both stacks. Ops taken now never reach the kernel.
        _loopClosed = true;
        TakeLocal();
        IoOperation? list = Interlocked.Exchange(ref _submitHead, _closedSentinel);
        while (list is not null)
        {
            IoOperation next = list.NextSubmit!;
            AppendPending(list);
            list = next;
        }

        // Requests still in running batches' lists: _state is no longer Running, so a batch that pushes after this
        // publishes at once and finds the stack closed.
        _ = TakeDispatchLists(stalledOnly: false);

        IoOperation? cancels = Interlocked.Exchange(ref _cancelHead, _closedSentinel);
        while (cancels is not null)
        {
            IoOperation next = cancels.NextCancel!;
            cancels.NextCancel = null;
            Volatile.Write(ref cancels.CancelQueued, 0);
            cancels = next;
        }

        CloseMultishotStack();
        CompletePendingUnsubmitted();
        FlushDispatch();

        // 2. Cancel what the kernel holds, and 3. reap until it has given everything back, or the time is up.
        bool drained = true;
        try
        {
            drained = CancelAndDrain();
        }
        catch (Exception e)
        {
            Fault ??= e;
            drained = false;
        }

        // A write whose CQE reported a short count during the drain was queued again for the rest; it never goes out.
        CompletePendingUnsubmitted();
        FlushDispatch();

        // 4. Whatever the kernel still holds keeps its pins (and its op) reachable forever: a bounded leak, never a
        // write into memory that was handed back. Ops the kernel only reads from (sends, writes) or whose memory is
        // the library's own fail with ECANCELED (ObjectDisposedException), so nobody waits for them forever; a read
        // into the caller's buffer never completes, since completing it would hand the buffer back.
        for (int i = 0; i < _slots.Length; i++)
        {
            IoOperation? op = _slots[i];
            if (op is not null)
            {
                _slots[i] = null;
                op.Slot = -1;
                PinnedForever.Keep(op);
                Interlocked.Increment(ref _abandoned);
                if (op.GiveUpAtShutdown())
                {
                    CompleteOp(op, -Errno.ECANCELED);
                }
            }
        }

        FlushDispatch();

        StopMultishot();
        bool wakeArmed = _wakeArmed;
        try
        {
            _ring.Dispose();
        }
        catch (Exception e)
        {
            Fault ??= e;
        }

        // Registered buffers are freed once every one is given back, unless the kernel may still write into them.
        _registeredBuffers?.OnEngineStopped(kernelDone: drained);
        if (wakeArmed || !drained)
        {
            PinnedForever.Keep(_wakeBuffer!);
        }
        else
        {
            _wakeBuffer!.Dispose();
        }

        // Closes the eventfd once no submitter is in the middle of writing to it.
        _wakeHandle?.Dispose();
        Volatile.Write(ref _state, StateStopped);
        _stopped.TrySetResult();
    }

    /// <summary>
    /// Completes every op of the pending list without submitting it: the engine is stopping. A CLOSE still closes its
    /// descriptor here (the caller's handle gave it up when the close was queued, so nobody else would); every other
    /// op fails with <c>ECANCELED</c> (<see cref="ObjectDisposedException"/> for the caller).
    /// </summary>
    private void CompletePendingUnsubmitted()
    {
        IoOperation? pending = _pendingHead;
        _pendingHead = _pendingTail = null;
        while (pending is not null)
        {
            IoOperation? next = pending.NextSubmit;
            pending.NextSubmit = null;
            if (pending.Kind == OpKind.Close)
            {
                CompleteOp(pending, Libc.Close(pending.Template.Fd));
            }
            else
            {
                CompleteOp(pending, -Errno.ECANCELED);
            }

            pending = next;
        }
    }

    private bool CancelAndDrain()
    {
        if (_kernelInFlight == 0)
        {
            return true;
        }

        bool perOp = false;
        bool anyPending = true;
        QueueCancelAny();

        long deadline = DrainDeadline(_options.DisposeTimeout);
        while (_kernelInFlight > 0)
        {
            SubmitOnly();
            long left = deadline - Stopwatch.GetTimestamp();
            if (left <= 0)
            {
                return false;
            }

            // Wait in slices of at most a second, so an infinite (or huge) timeout never overflows a TimeSpan.
            double slice = Math.Min(1.0, (double)left / Stopwatch.Frequency);
            if (!_ring.TryWaitCqe(TimeSpan.FromSeconds(slice), out Cqe first))
            {
                // A slice went by without any completion. A request that was running when the first cancel came
                // (-EALREADY: a send blocked in an io-wq worker, say) may be cancellable now: ask again.
                if (!anyPending && !perOp)
                {
                    QueueCancelAny();
                    anyPending = true;
                }
            }
            else
            {
                CompletionBatch batch = _ring.ReadyCqes;
                uint count = batch.Count;
                foreach (ref readonly Cqe cqe in batch)
                {
                    if (cqe.UserData == CancelAnyTag)
                    {
                        _kernelInFlight--;
                        anyPending = false;
                        // Kernels before 5.19 know no IORING_ASYNC_CANCEL_ANY: cancel one by one instead.
                        perOp |= cqe.Res == -Errno.EINVAL;
                    }
                    else
                    {
                        OnCqe(cqe.UserData, cqe.Res, cqe.Flags);
                    }
                }

                _ring.CqAdvance(count);
                _ = first;
                FlushDispatch();
            }

            if (perOp)
            {
                perOp = false;
                CancelEachInFlight();
            }
        }

        return true;
    }

    private const ulong CancelAnyTag = ulong.MaxValue - 3;

    /// <summary>Queues an <c>ASYNC_CANCEL</c> of the request with <paramref name="userData"/>; its CQE is only counted.</summary>
    private void QueueCancel(ulong userData)
    {
        ref Sqe sqe = ref GetInternalSqe();
        sqe.PrepCancel(userData);
        sqe.UserData = CancelTag;
        _kernelInFlight++;
    }

    /// <summary>Queues an <c>ASYNC_CANCEL</c> of every request in the kernel (<c>ANY | ALL</c>, 5.19+).</summary>
    private void QueueCancelAny()
    {
        ref Sqe sqe = ref GetInternalSqe();
        sqe.PrepCancelAny();
        sqe.UserData = CancelAnyTag;
        _kernelInFlight++;
    }

    /// <summary>
    /// The Stopwatch timestamp at which the drain gives up: <see cref="Timeout.InfiniteTimeSpan"/> and timeouts too large
    /// to add to the clock mean never. (A plain sum overflowed for <see cref="TimeSpan.MaxValue"/> and made the drain give
    /// up at once, abandoning every operation.)
    /// </summary>
    internal static long DrainDeadline(TimeSpan timeout)
    {
        if (timeout == Timeout.InfiniteTimeSpan)
        {
            return long.MaxValue;
        }

        long now = Stopwatch.GetTimestamp();
        double ticks = timeout.TotalSeconds * Stopwatch.Frequency;
        return ticks >= long.MaxValue - now ? long.MaxValue : now + (long)ticks;
    }

    private void CancelEachInFlight()
    {
        CancelEachMultishot();
        for (int i = 0; i < _slots.Length; i++)
        {
            if (_slots[i] is IoOperation op)
            {
                QueueCancel(op.UserData);
            }
        }

        if (_wakeArmed)
        {
            QueueCancel(WakeTag);
        }
    }
}
