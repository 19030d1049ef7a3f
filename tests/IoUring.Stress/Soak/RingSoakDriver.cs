using System.Diagnostics;
using System.Runtime.InteropServices;
using static IoUring.Interop.Errno;

namespace IoUring.Stress.Soak;

/// <summary>
/// Drives a soak workload: issues random requests against <see cref="SoakFiles"/>, verifies every completion, and
/// drains at the end. Implement this for another submission path (for example the async engine) and pass it to
/// <see cref="SoakCommand"/>; the files, model, verification and report are shared.
/// </summary>
public interface ISoakDriver
{
    string Name { get; }

    SoakDriverResult Run(SoakFiles files, SoakStats stats, SoakConfig config);
}

/// <summary>What a driver leaves behind at the end: requests still in flight, dropped CQEs, bytes it registered.</summary>
public sealed record SoakDriverResult(long InFlightAtEnd, uint CqOverflowDropped, long RegisteredBytes)
{
    /// <summary>Objects the driver saw pinned forever by design (zero-copy sends the kernel still held when their engine stopped).</summary>
    public int ExpectedPinnedForever { get; init; }
}

/// <summary>Soak parameters.</summary>
public sealed record SoakConfig(double Seconds, int Files, int Seed, int FileBytes, uint Entries, int MaxInFlight, int MaxOpBytes);

/// <summary>
/// The Ring driver: one thread, one <see cref="Ring"/> whose CQ is smaller than the number of requests in flight (so
/// CQ overflow happens and must lose nothing), registered buffers and files, every reaping API in turn.
/// </summary>
public sealed class RingSoakDriver : ISoakDriver
{
    private const byte Canary = 0xC3;
    private const int CanaryTail = 64;

    private readonly Dictionary<ulong, Op> _inFlight = [];
    private readonly Stack<Slot> _plain = new();
    private readonly Stack<Slot> _fixed = new();
    private readonly List<Op> _longTimers = [];
    private Ring _ring = null!;
    private Random _rng = null!;
    private SoakFiles _files = null!;
    private SoakStats _stats = null!;
    private SoakConfig _config = null!;
    private ulong _nextUserData = 1;
    private long _progress;

    public string Name => "ring";

    private enum Kind
    {
        Read,
        Readv,
        ReadFixed,
        Write,
        WriteFixed,
        Fsync,
        Fdatasync,
        Nop,
        TimerFire,
        TimerLong,
        TimeoutRemove,
        TimeoutUpdate,
        Cancel,
        ChainWrite,
        ChainRead,
        LinkedRead,
        LinkTimeout,
    }

    public SoakDriverResult Run(SoakFiles files, SoakStats stats, SoakConfig config)
    {
        _files = files;
        _stats = stats;
        _config = config;
        _rng = new Random(config.Seed);
        _inFlight.Clear();
        _plain.Clear();
        _fixed.Clear();
        _longTimers.Clear();
        _nextUserData = 1;
        var slots = new List<Slot>();
        long registeredBytes = 0;
        using var watchdog = new Watchdog(() => Interlocked.Read(ref _progress), SoakPhase.HangLimit, () => $"soak: no progress for {SoakPhase.HangLimit.TotalSeconds} s with {_inFlight.Count} requests in flight");
        _ring = new Ring(config.Entries, new RingOptions { CqEntries = config.Entries });
        try
        {
            int fixedCount = 8;
            for (int i = 0; i < config.MaxInFlight + 8 + fixedCount; i++)
            {
                var slot = new Slot(new NativeBuffer(config.MaxOpBytes + CanaryTail), new NativeBuffer(4 * Marshal.SizeOf<IoVec>()), i < fixedCount ? i : -1);
                slots.Add(slot);
                (slot.FixedIndex >= 0 ? _fixed : _plain).Push(slot);
            }

            Memory<byte>[] registered = slots.Where(s => s.FixedIndex >= 0).OrderBy(s => s.FixedIndex).Select(s => s.Buffer.Memory).ToArray();
            _ring.RegisterBuffers(registered);
            registeredBytes = registered.Sum(m => (long)m.Length);
            _ring.RegisterFiles(Enumerable.Range(0, files.Count).Select(files.Fd).ToArray());

            long deadline = Stopwatch.GetTimestamp() + (long)(config.Seconds * Stopwatch.Frequency);
            long nextCheck = 0;
            while (Stopwatch.GetTimestamp() < deadline && _stats.FailureCount == 0)
            {
                IssueSome();
                SubmitAndReap();
                Interlocked.Increment(ref _progress);
                if (Stopwatch.GetTimestamp() > nextCheck)
                {
                    CheckAccounting();
                    nextCheck = Stopwatch.GetTimestamp() + Stopwatch.Frequency;
                }
            }

            Drain();
            long inFlightAtEnd = _ring.InFlight;
            uint dropped = _ring.CqOverflow;
            _ring.UnregisterFiles();
            _ring.UnregisterBuffers();
            return new SoakDriverResult(inFlightAtEnd, dropped, registeredBytes);
        }
        finally
        {
            _ring.Dispose();
            if (_ring.InFlight == 0)
            {
                foreach (Slot s in slots)
                {
                    s.Buffer.Dispose();
                    s.IoVecs.Dispose();
                }
            }
        }
    }

    private void IssueSome()
    {
        int want = _rng.Next(1, 24);
        for (int i = 0; i < want && _inFlight.Count < _config.MaxInFlight && _ring.SqSpaceLeft >= 2; i++)
        {
            int roll = _rng.Next(100);
            _ = roll switch
            {
                < 22 => IssueRead(Kind.Read),
                < 28 => IssueRead(Kind.Readv),
                < 34 => IssueRead(Kind.ReadFixed),
                < 52 => IssueWrite(Kind.Write),
                < 58 => IssueWrite(Kind.WriteFixed),
                < 61 => IssueSync(Kind.Fsync),
                < 63 => IssueSync(Kind.Fdatasync),
                < 65 => IssueSimple(Kind.Nop),
                < 69 => IssueSimple(Kind.TimerFire),
                < 71 => IssueSimple(Kind.TimerLong),
                < 74 => IssueTimeoutRemoveOrUpdate(),
                < 82 => IssueCancel(),
                < 91 => IssueChain(),
                _ => IssueLinkedRead(),
            };
        }
    }

    private void SubmitAndReap()
    {
        if (_inFlight.Count == 0 && _ring.SqPending == 0)
        {
            return;
        }

        if (_inFlight.Count == 0)
        {
            // Prepared SQEs whose requests were all skipped cannot exist: every GetSqe is tracked.
            _stats.Fail($"{_ring.SqPending} SQEs prepared with nothing tracked");
        }

        try
        {
            if (_rng.Next(4) == 0 && _inFlight.Count > 0)
            {
                _ = _ring.SubmitAndWait(1);
                _stats.Event("SubmitAndWait");
            }
            else
            {
                _ = _ring.Submit();
            }
        }
        catch (IoUringException e) when (e.Errno == 16 /* EBUSY */ || e.Errno == 11 /* EAGAIN */)
        {
            // Documented: completions are backed up; reap and the SQEs go in with the next Submit.
            _stats.Event($"Submit {IoUringException.ErrnoName(e.Errno)} (retried)");
        }

        if (_ring.IsCqOverflowPending)
        {
            _stats.Event("CQ overflow backlog seen");
        }

        if (!_ring.TryWaitCqe(SoakPhase.HangLimit, out Cqe first))
        {
            _stats.Fail($"no completion within {SoakPhase.HangLimit.TotalSeconds} s with {_inFlight.Count} requests in flight");
            return;
        }

        _ring.CqeSeen(first);
        OnCqe(first);
        switch (_rng.Next(3))
        {
            case 0:
                while (_ring.TryPeekCqe(out Cqe cqe))
                {
                    _ring.CqeSeen(cqe);
                    OnCqe(cqe);
                }

                _stats.Event("reap: TryPeekCqe/CqeSeen");
                break;
            case 1:
                Span<Cqe> batch = stackalloc Cqe[16];
                int n;
                while ((n = _ring.PeekBatchCqe(batch)) > 0)
                {
                    for (int i = 0; i < n; i++)
                    {
                        OnCqe(batch[i]);
                    }

                    _ring.CqAdvance((uint)n);
                }

                _stats.Event("reap: PeekBatchCqe/CqAdvance");
                break;
            default:
                CompletionBatch ready = _ring.ReadyCqes;
                foreach (ref readonly Cqe cqe in ready)
                {
                    OnCqe(cqe);
                }

                _ring.CqAdvance(ready.Count);
                _stats.Event("reap: ReadyCqes/CqAdvance");
                break;
        }
    }

    private void CheckAccounting()
    {
        if (_ring.SqPending == 0 && _ring.CqReady == 0 && !_ring.IsCqOverflowPending && _ring.InFlight != _inFlight.Count)
        {
            _stats.Fail($"Ring.InFlight is {_ring.InFlight} but {_inFlight.Count} requests are outstanding");
        }
    }

    private void Drain()
    {
        // Nothing new; remove the long timers so that draining takes milliseconds, not 30 s.
        foreach (Op timer in _longTimers.ToArray())
        {
            if (_ring.SqSpaceLeft == 0)
            {
                _ = _ring.Submit();
            }

            IssueRemoveOf(timer);
        }

        long deadline = Stopwatch.GetTimestamp() + (long)(60 * Stopwatch.Frequency);
        while ((_inFlight.Count > 0 || _ring.SqPending > 0) && Stopwatch.GetTimestamp() < deadline)
        {
            SubmitAndReap();
            Interlocked.Increment(ref _progress);
        }

        if (_inFlight.Count > 0)
        {
            _stats.Fail($"{_inFlight.Count} requests never completed: {string.Join(", ", _inFlight.Values.Take(10).Select(o => $"{o.Kind}#{o.UserData}"))}");
        }

        CheckAccounting();
    }

    // ---- issuing ----

    private Op NewOp(Kind kind)
    {
        var op = new Op(kind, _nextUserData++);
        return op;
    }

    private void Track(Op op, ref Sqe sqe)
    {
        sqe.UserData = op.UserData;
        _inFlight.Add(op.UserData, op);
        _stats.Op(op.Kind.ToString());
    }

    /// <summary>Marks the SQE as naming a registered file when <paramref name="fixedFile"/>, tracks the op; true (issued).</summary>
    private bool Track(Op op, ref Sqe sqe, bool fixedFile)
    {
        if (fixedFile)
        {
            sqe.Flags |= SqeFlags.FixedFile;
        }

        Track(op, ref sqe);
        return true;
    }

    private int RandomLength()
    {
        int max = _config.MaxOpBytes;
        return _rng.Next(10) switch
        {
            < 5 => _rng.Next(1, Math.Min(4096, max) + 1),
            < 8 => _rng.Next(1, Math.Min(16384, max) + 1),
            _ => _rng.Next(1, max + 1),
        };
    }

    private bool PickRange(Op op, bool write)
    {
        for (int attempt = 0; attempt < 4; attempt++)
        {
            int file = _rng.Next(_files.Count);
            int len = RandomLength();
            int size = _files.FileBytes;
            long offset;
            int where = _rng.Next(100);
            if (write || where < 85 || len >= size)
            {
                len = Math.Min(len, size);
                offset = _rng.NextInt64(0, size - len + 1);
            }
            else if (where < 95)
            {
                offset = _rng.NextInt64(size - len + 1, size); // straddles EOF
            }
            else
            {
                offset = _rng.NextInt64(size, size + (2L * _config.MaxOpBytes)); // past EOF
            }

            if (_files.TryReserve(file, offset, len, write, op.UserData))
            {
                op.File = file;
                op.Offset = offset;
                op.Length = len;
                op.Reserved = true;
                return true;
            }
        }

        _stats.Event("range busy, request skipped");
        return false;
    }

    private (int Fd, bool Fixed) FileRef(int file)
    {
        bool useFixed = _rng.Next(4) == 0;
        return (useFixed ? file : _files.Fd(file), useFixed);
    }

    /// <summary>A new op of <paramref name="kind"/> with a file range it may use and a free buffer (a registered one when <paramref name="fixedBuffer"/>), or null when there is none.</summary>
    private Op? NewOpWithSlot(Kind kind, bool write, bool fixedBuffer)
    {
        Stack<Slot> pool = fixedBuffer ? _fixed : _plain;
        if (pool.Count == 0)
        {
            return null;
        }

        Op op = NewOp(kind);
        if (!PickRange(op, write))
        {
            return null;
        }

        op.Slot = pool.Pop();
        return op;
    }

    private bool IssueRead(Kind kind)
    {
        if (NewOpWithSlot(kind, write: false, fixedBuffer: kind == Kind.ReadFixed) is not Op op)
        {
            return false;
        }

        ArmCanary(op);
        (int fd, bool fixedFile) = FileRef(op.File);
        ref Sqe sqe = ref _ring.GetSqe();
        PrepReadInto(ref sqe, op, fd);
        return Track(op, ref sqe, fixedFile: fixedFile);
    }

    private void PrepReadInto(ref Sqe sqe, Op op, int fd)
    {
        Slot slot = op.Slot!;
        switch (op.Kind)
        {
            case Kind.ReadFixed:
                sqe.PrepReadFixed(fd, slot.Buffer.Address, (uint)op.Length, (ulong)op.Offset, (ushort)slot.FixedIndex);
                break;
            case Kind.Readv:
                int parts = Math.Min(_rng.Next(1, 5), op.Length);
                Span<IoVec> vec = MemoryMarshal.Cast<byte, IoVec>(slot.IoVecs.Span);
                int at = 0;
                for (int i = 0; i < parts; i++)
                {
                    int len = i == parts - 1 ? op.Length - at : _rng.Next(1, op.Length - at - (parts - i - 1) + 1);
                    vec[i] = new IoVec(slot.Buffer.Address + at, (nuint)len);
                    at += len;
                }

                sqe.PrepReadv(fd, slot.IoVecs.Address, (uint)parts, (ulong)op.Offset);
                break;
            default:
                sqe.PrepRead(fd, slot.Buffer.Address, (uint)op.Length, (ulong)op.Offset);
                break;
        }
    }

    private bool IssueWrite(Kind kind)
    {
        if (NewOpWithSlot(kind, write: true, fixedBuffer: kind == Kind.WriteFixed) is not Op op)
        {
            return false;
        }

        Slot slot = op.Slot!;
        _rng.NextBytes(slot.Buffer.Span[..op.Length]);
        (int fd, bool fixedFile) = FileRef(op.File);
        ref Sqe sqe = ref _ring.GetSqe();
        if (kind == Kind.WriteFixed)
        {
            sqe.PrepWriteFixed(fd, slot.Buffer.Address, (uint)op.Length, (ulong)op.Offset, (ushort)slot.FixedIndex);
        }
        else
        {
            sqe.PrepWrite(fd, slot.Buffer.Address, (uint)op.Length, (ulong)op.Offset);
        }

        return Track(op, ref sqe, fixedFile: fixedFile);
    }

    private bool IssueSync(Kind kind)
    {
        Op op = NewOp(kind);
        op.File = _rng.Next(_files.Count);
        (int fd, bool fixedFile) = FileRef(op.File);
        ref Sqe sqe = ref _ring.GetSqe();
        sqe.PrepFsync(fd, kind == Kind.Fdatasync ? FsyncFlags.DataSync : FsyncFlags.None);
        return Track(op, ref sqe, fixedFile: fixedFile);
    }

    private bool IssueSimple(Kind kind)
    {
        Op op = NewOp(kind);
        switch (kind)
        {
            case Kind.TimerFire:
                Track(op, ref _ring.PrepTimeout(TimeSpan.FromMilliseconds(_rng.Next(1, 20))));
                break;
            case Kind.TimerLong:
                Track(op, ref _ring.PrepTimeout(TimeSpan.FromSeconds(30)));
                _longTimers.Add(op);
                break;
            default:
                ref Sqe sqe = ref _ring.GetSqe();
                sqe.PrepNop();
                Track(op, ref sqe);
                break;
        }

        return true;
    }

    private bool IssueTimeoutRemoveOrUpdate()
    {
        if (_longTimers.Count == 0)
        {
            return false;
        }

        Op timer = _longTimers[_rng.Next(_longTimers.Count)];
        if (_rng.Next(2) == 0)
        {
            IssueRemoveOf(timer);
        }
        else
        {
            _longTimers.Remove(timer);
            Op update = NewOp(Kind.TimeoutUpdate);
            update.Target = timer;
            timer.Updated = true;
            Track(update, ref _ring.PrepTimeoutUpdate(timer.UserData, TimeSpan.FromMilliseconds(1)));
        }

        return true;
    }

    private void IssueRemoveOf(Op timer)
    {
        _longTimers.Remove(timer);
        Op remove = NewStopOf(Kind.TimeoutRemove, timer);
        ref Sqe sqe = ref _ring.GetSqe();
        sqe.PrepTimeoutRemove(timer.UserData);
        Track(remove, ref sqe);
    }

    /// <summary>A new op of <paramref name="kind"/> (a cancel or a timeout removal) aimed at <paramref name="target"/>, which is marked as asked to stop.</summary>
    private Op NewStopOf(Kind kind, Op target)
    {
        Op op = NewOp(kind);
        op.Target = target;
        target.CancelRequested = true;
        return op;
    }

    private bool IssueCancel()
    {
        Op? target = null;
        int seen = 0;
        foreach (Op op in _inFlight.Values)
        {
            if (op.Partner is null && !op.CancelRequested && op.Kind is Kind.Read or Kind.Readv or Kind.ReadFixed or Kind.Write or Kind.WriteFixed or Kind.Fsync or Kind.Fdatasync
                && _rng.Next(++seen) == 0)
            {
                target = op;
            }
        }

        if (target is null)
        {
            return false;
        }

        Op cancel = NewStopOf(Kind.Cancel, target);
        ref Sqe sqe = ref _ring.GetSqe();
        sqe.PrepCancel(target.UserData);
        Track(cancel, ref sqe);
        return true;
    }

    private bool IssueChain()
    {
        if (_plain.Count < 2)
        {
            return false;
        }

        Op write = NewOp(Kind.ChainWrite);
        if (!PickRange(write, write: true))
        {
            return false;
        }

        Op read = NewOp(Kind.ChainRead);
        read.File = write.File;
        read.Offset = write.Offset;
        read.Length = write.Length;
        write.Partner = read;
        read.Partner = write;
        write.Slot = _plain.Pop();
        read.Slot = _plain.Pop();
        _rng.NextBytes(write.Slot.Buffer.Span[..write.Length]);
        ArmCanary(read);

        (int fd, bool fixedFile) = FileRef(write.File);
        IssueOnSlot(write, fd, fixedFile, SqeFlags.IoLink);
        IssueOnSlot(read, fd, fixedFile, SqeFlags.None);
        return true;
    }

    private bool IssueLinkedRead()
    {
        if (_plain.Count == 0)
        {
            return false;
        }

        Op read = NewOp(Kind.LinkedRead);
        if (!PickRange(read, write: false))
        {
            return false;
        }

        Op timeout = NewOp(Kind.LinkTimeout);
        read.Partner = timeout;
        timeout.Partner = read;
        read.Slot = _plain.Pop();
        ArmCanary(read);
        (int fd, bool fixedFile) = FileRef(read.File);
        IssueOnSlot(read, fd, fixedFile, SqeFlags.IoLink);
        Track(timeout, ref _ring.PrepLinkTimeout(TimeSpan.FromTicks(_rng.Next(0, 30) * 100)));
        return true;
    }

    /// <summary>
    /// Preps the plain read or write (by the op's kind) of the op's range through its slot's buffer, on
    /// descriptor <paramref name="fd"/> (a registered-file index when <paramref name="fixedFile"/>), with
    /// <paramref name="link"/>, and tracks it.
    /// </summary>
    private void IssueOnSlot(Op op, int fd, bool fixedFile, SqeFlags link)
    {
        ref Sqe sqe = ref _ring.GetSqe();
        if (op.Kind == Kind.ChainWrite)
        {
            sqe.PrepWrite(fd, op.Slot!.Buffer.Address, (uint)op.Length, (ulong)op.Offset);
        }
        else
        {
            sqe.PrepRead(fd, op.Slot!.Buffer.Address, (uint)op.Length, (ulong)op.Offset);
        }

        sqe.Flags |= link | (fixedFile ? SqeFlags.FixedFile : SqeFlags.None);
        Track(op, ref sqe);
    }

    private static void ArmCanary(Op op)
    {
        Span<byte> span = op.Slot!.Buffer.Span;
        span[..Math.Min(span.Length, op.Length + CanaryTail)].Fill(Canary);
    }

    // ---- completion ----

    private void OnCqe(in Cqe cqe)
    {
        if (!_inFlight.Remove(cqe.UserData, out Op? op))
        {
            _stats.Fail($"CQE for an unknown or already completed request: {cqe}");
            return;
        }

        if (cqe.HasMore)
        {
            _stats.Fail($"unexpected IORING_CQE_F_MORE on {op.Kind}#{op.UserData}");
        }

        op.Res = cqe.Res;
        op.Done = true;
        _stats.Result(op.Kind.ToString(), cqe.Res);
        if (op.Partner is Op partner)
        {
            if (!partner.Done)
            {
                return;
            }

            // Both halves are in: process the head first (the chain's write before its read-back).
            Op head = op.Kind is Kind.ChainWrite or Kind.LinkedRead ? op : partner;
            Op tail = head == op ? partner : op;
            ProcessGroup(head, tail);
            return;
        }

        Process(op);
    }

    private void Process(Op op)
    {
        switch (op.Kind)
        {
            case Kind.Read:
            case Kind.Readv:
            case Kind.ReadFixed:
                CompleteRead(op, cancellable: op.CancelRequested);
                break;
            case Kind.Write:
            case Kind.WriteFixed:
                CompleteWrite(op);
                break;
            case Kind.Fsync:
            case Kind.Fdatasync:
                if (op.Res != 0 && !(op.CancelRequested && op.Res is -ECANCELED or -EINTR))
                {
                    Unexpected(op);
                }

                break;
            case Kind.Nop:
                if (op.Res != 0)
                {
                    Unexpected(op);
                }

                break;
            case Kind.TimerFire:
                if (op.Res != -ETIME)
                {
                    Unexpected(op);
                }

                break;
            case Kind.TimerLong:
                _longTimers.Remove(op);
                if (!(op.Res == -ETIME || (op.CancelRequested && op.Res == -ECANCELED)))
                {
                    Unexpected(op);
                }

                CheckTimerPair(op, op.Remover);
                break;
            case Kind.TimeoutRemove:
                if (op.Res is not (0 or -ENOENT or -EALREADY))
                {
                    Unexpected(op);
                }

                op.Target!.Remover = op;
                CheckTimerPair(op.Target, op);
                break;
            case Kind.TimeoutUpdate:
                if (op.Res is not (0 or -ENOENT))
                {
                    Unexpected(op);
                }

                break;
            case Kind.Cancel:
                if (op.Res is not (0 or -ENOENT or -EALREADY))
                {
                    Unexpected(op);
                }
                else
                {
                    _stats.Event(op.Res == 0 ? "cancel found its target" : $"cancel: target {(op.Res == -ENOENT ? "already done (ENOENT)" : "running (EALREADY)")}");
                }

                op.Target!.Remover = op;
                CheckCancelPair(op.Target, op);
                break;
            default:
                _stats.Fail($"unexpected single completion of {op.Kind}#{op.UserData}");
                break;
        }

        if (op.Remover is not null && op.Kind is not (Kind.TimerLong))
        {
            CheckCancelPair(op, op.Remover);
        }
    }

    private void CheckTimerPair(Op timer, Op? remove)
    {
        if (remove is null || !timer.Done || !remove.Done)
        {
            return;
        }

        // A remove that found the timer means the timer ends with ECANCELED; one that did not means it had fired.
        bool consistent = remove.Res == 0 ? timer.Res == -ECANCELED : timer.Res == -ETIME;
        if (!consistent)
        {
            _stats.Fail($"timeout remove returned {remove.Res} but the timer completed with {timer.Res}");
        }
    }

    private void CheckCancelPair(Op target, Op cancel)
    {
        if (!target.Done || !cancel.Done || target.PairChecked)
        {
            return;
        }

        // The cancel's own result is the kernel's view at the instant it looked; the target may be moving between
        // the io-wq queue, a worker and task work. These pairs are counted, not failed: what the soak holds the
        // library to is that the target completes exactly once and that its CQE tells the truth about its data.
        target.PairChecked = true;
        if (cancel.Res == 0 && target.Res >= 0)
        {
            _stats.Event("cancel returned 0 yet its target completed normally");
        }

        if (cancel.Res == -ENOENT && target.Res is -ECANCELED)
        {
            _stats.Event("cancel returned ENOENT yet its target ended ECANCELED");
        }
    }

    private void ProcessGroup(Op head, Op tail)
    {
        if (head.Kind == Kind.ChainWrite)
        {
            CompleteWrite(head, releaseRange: false);
            if (head.Res == head.Length)
            {
                CompleteRead(tail, cancellable: false, releaseRange: false);
            }
            else
            {
                if (tail.Res != -ECANCELED)
                {
                    _stats.Fail($"chain read #{tail.UserData} after a write of {head.Res}/{head.Length} completed with {tail.Res}, not ECANCELED");
                }

                ReturnSlot(tail);
            }

            _files.Release(head.File, head.UserData);
            _stats.Event("chain write+read verified");
            return;
        }

        // A read with a link timeout: the read either completed (and is verified) or was cancelled by the timer.
        CompleteRead(head, cancellable: true);
        bool consistent = head.Res >= 0
            ? tail.Res is -ECANCELED or -EALREADY or -ETIME or -ENOENT
            : head.Res is -ECANCELED or -EINTR && tail.Res is -ETIME or -EALREADY;
        if (!consistent)
        {
            _stats.Fail($"linked read #{head.UserData} completed with {head.Res} and its link timeout with {tail.Res}");
        }

        _stats.Event(head.Res >= 0 ? "linked read beat its timeout" : "link timeout cancelled its read");
    }

    private void CompleteRead(Op op, bool cancellable, bool releaseRange = true)
    {
        Span<byte> buffer = op.Slot!.Buffer.Span;
        long expected = _files.ExpectedReadBytes(op.Offset, op.Length);
        int res = op.Res;
        if (res >= 0)
        {
            if (res > expected)
            {
                _stats.Fail($"{op.Kind}#{op.UserData} returned {res} bytes, more than the {expected} that exist at {op.Offset}");
            }
            else
            {
                if (res < expected)
                {
                    _stats.Event($"short read before EOF ({op.Kind})");
                }

                if (_files.VerifyRead(op.File, op.Offset, buffer[..res]) is string diff)
                {
                    _stats.Fail($"{op.Kind}#{op.UserData}: {diff}");
                }

                if (buffer[res..Math.Min(buffer.Length, op.Length + CanaryTail)].ContainsAnyExcept(Canary))
                {
                    _stats.Fail($"{op.Kind}#{op.UserData}: the kernel wrote past the {res} bytes it reported");
                }

                if (expected < op.Length)
                {
                    _stats.Event("read clamped by EOF verified");
                }

                _stats.BytesRead += res;
                _stats.BytesVerified += res;
            }
        }
        else if (cancellable && res is -ECANCELED or -EINTR)
        {
            if (res == -ECANCELED && buffer[..op.Length].ContainsAnyExcept(Canary))
            {
                _stats.Fail($"{op.Kind}#{op.UserData} was cancelled but its buffer changed");
            }
        }
        else
        {
            Unexpected(op);
        }

        if (releaseRange)
        {
            _files.Release(op.File, op.UserData);
        }

        ReturnSlot(op);
    }

    private void CompleteWrite(Op op, bool releaseRange = true)
    {
        int res = op.Res;
        if (res >= 0)
        {
            if (res > op.Length)
            {
                _stats.Fail($"{op.Kind}#{op.UserData} wrote {res} bytes of {op.Length}");
            }
            else
            {
                if (res < op.Length)
                {
                    _stats.Event($"short write ({op.Kind})");
                }

                _files.ApplyWrite(op.File, op.Offset, op.Slot!.Buffer.Span[..res]);
                _stats.BytesWritten += res;
            }
        }
        else if (op.CancelRequested && res is -ECANCELED or -EINTR)
        {
            // The CQE says the write did not happen; check that the file agrees (nothing else may touch this range).
            if (_files.VerifyOnDisk(op.File, op.Offset, op.Length) is string diff)
            {
                _stats.Fail($"{op.Kind}#{op.UserData} failed with {res} but changed the file: {diff}");
            }
            else
            {
                _stats.Event("cancelled write left the file unchanged (checked)");
            }
        }
        else
        {
            Unexpected(op);
        }

        if (releaseRange)
        {
            _files.Release(op.File, op.UserData);
        }

        ReturnSlot(op);
    }

    private void ReturnSlot(Op op)
    {
        if (op.Slot is Slot slot)
        {
            (slot.FixedIndex >= 0 ? _fixed : _plain).Push(slot);
            op.Slot = null;
        }
    }

    private void Unexpected(Op op) =>
        _stats.Fail($"{op.Kind}#{op.UserData} (file {op.File}, offset {op.Offset}, length {op.Length}, cancel requested {op.CancelRequested}) completed with unexpected {op.Res}{(op.Res < 0 ? " " + IoUringException.ErrnoName(-op.Res) : string.Empty)}");

    private sealed record Slot(NativeBuffer Buffer, NativeBuffer IoVecs, int FixedIndex);

    private sealed class Op(Kind kind, ulong userData)
    {
        public Kind Kind { get; } = kind;

        public ulong UserData { get; } = userData;

        public int File { get; set; } = -1;

        public long Offset { get; set; }

        public int Length { get; set; }

        public Slot? Slot { get; set; }

        public bool Reserved { get; set; }

        public bool CancelRequested { get; set; }

        public bool Updated { get; set; }

        public bool PairChecked { get; set; }

        public Op? Partner { get; set; }

        public Op? Target { get; set; }

        public Op? Remover { get; set; }

        public int Res { get; set; }

        public bool Done { get; set; }
    }
}
