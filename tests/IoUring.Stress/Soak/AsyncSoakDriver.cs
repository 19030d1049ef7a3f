using System.Diagnostics;
using IoUring.Interop;
using Microsoft.Win32.SafeHandles;

namespace IoUring.Stress.Soak;

/// <summary>
/// The async driver: many concurrent tasks on an <see cref="IoUringEngineGroup"/> doing random reads, writes, scatter
/// reads, gather writes, fsyncs, preallocations, stats and stream I/O over several <see cref="UringFile"/>s (and the
/// engine's own methods on raw handles), with random cancellation (a token cancelled before the call, in flight, by a
/// timer, or after completion), files opened and closed on the way (<c>OpenAsync</c>/<c>DisposeAsync</c>, and
/// <c>Dispose</c> with a read in flight), cancel-versus-data races on pipes, and, at the end of every cycle, the
/// engines disposed with operations in flight.
/// </summary>
/// <remarks>
/// <para>Cycles of one to four seconds alternate <see cref="ContinuationMode.ThreadPool"/> and
/// <see cref="ContinuationMode.Inline"/>, with random group sizes, queue sizes (as small as 4 entries, so most
/// operations wait in the engine's pending list) and options.</para>
/// <para>Verification, on top of the shared model (<see cref="SoakFiles"/>): a completed read returns exactly the bytes
/// the model holds (fewer only at EOF) and leaves the rest of its canary-filled buffer alone; a completed write goes
/// into the model. An operation whose token was cancelled must either complete fully or throw
/// <see cref="OperationCanceledException"/> (<see cref="ObjectDisposedException"/> once the engine is being
/// disposed); anything else is a failure. A cancelled or disposed read must not have touched its buffer, and its
/// buffer is checked again later (after the engine is gone) to prove the kernel never wrote it after the await
/// returned. A cancelled or disposed write is read back from disk: the range must hold the old bytes, the new ones,
/// or (documented: "bytes already written stay written") a prefix of the new ones followed by the old; the model takes
/// whatever is there. A pipe read racing a cancel and a writer either returns a prefix of the data, the rest still in
/// the pipe, or throws and leaves all of it in the pipe. After each cycle every engine must report nothing in flight,
/// nothing abandoned and no fault.</para>
/// </remarks>
public sealed class AsyncSoakDriver : EngineSoakDriver
{
    private const byte Canary = 0xA5;
    private const int CanaryTail = 64;

    private SoakFiles _files = null!;

    public override string Name => "async";

    private enum CancelMode
    {
        None,
        BeforeCall,
        InFlight,
        Timeout,
        AfterCompletion,
    }

    private enum Outcome
    {
        Completed,
        Cancelled,
        Disposed,
        Failed,
    }

    public override SoakDriverResult Run(SoakFiles files, SoakStats stats, SoakConfig config)
    {
        _files = files;
        _stats = stats;
        _config = config;

        // Parallel loads System.Diagnostics.Tracing lazily; do it now (also during the soak's warm-up) so that its
        // descriptors are open before the report counts them.
        Parallel.For(0, 2, _ => { });
        long leftInFlight = RunCycles(new Random(config.Seed), extraSeconds: 3);
        return new SoakDriverResult(leftInFlight, 0, 0);
    }

    /// <summary>One cycle: a new engine group, shared files, workers, then the engines disposed under load. Returns the operations left in flight.</summary>
    protected override long RunCycle(int cycle, double seconds, Random rng)
    {
        ContinuationMode mode = cycle % 2 == 0 ? ContinuationMode.ThreadPool : ContinuationMode.Inline;
        int engines = rng.Next(1, 4);
        uint[] queueSizes = [4, 16, Math.Max(4, _config.Entries), 256];
        uint queue = queueSizes[rng.Next(queueSizes.Length)];
        var options = new IoUringEngineOptions
        {
            QueueEntries = queue,
            Continuations = mode,
            UseDeferTaskRun = rng.Next(4) != 0,
            SpinBeforePark = rng.Next(3) == 0 ? TimeSpan.Zero : TimeSpan.FromMicroseconds(rng.Next(1, 100)),
            MaxPooledOperations = rng.Next(2) == 0 ? 16 : 1024,
            ThreadName = $"soak engine c{cycle}",
        };
        _phase.Text = $"cycle {cycle} ({mode}, {engines} engines, queue {queue}): setup";
        Event($"cycle {mode}");
        var group = new IoUringEngineGroup(engines, options);
        var ctx = new Cycle(cycle, group, mode);
        for (int i = 0; i < _files.Count; i++)
        {
            ctx.Shared.Add(OpenShared(ctx, i, rng));
        }

        int workers = Math.Max(2, _config.MaxInFlight / 2);
        _phase.Text = $"cycle {cycle} ({mode}, {engines} engines, queue {queue}): {workers} workers running";
        Task[] tasks = new Task[workers];
        var all = new Worker[workers];
        for (int w = 0; w < workers; w++)
        {
            var worker = new Worker(this, ctx, w, unchecked((_config.Seed * 7919) + (cycle * 131) + w));
            all[w] = worker;
            tasks[w] = Task.Run(worker.RunAsync);
        }

        var clock = Stopwatch.StartNew();
        long traced = 0;
        while (clock.Elapsed.TotalSeconds < seconds && _stats.FailureCount == 0 && !tasks.All(t => t.IsCompleted))
        {
            Thread.Sleep(20);
            if (SoakPhase.Trace && clock.ElapsedMilliseconds / 2000 > traced)
            {
                traced = clock.ElapsedMilliseconds / 2000;
                Console.Error.WriteLine($"  progress {Interlocked.Read(ref _progress)}; workers: {string.Join(" | ", all.Select(w => w.Current))}");
            }
        }

        // Dispose the engines with operations in flight.
        _phase.Text = $"cycle {cycle} ({mode}): disposing the engines under load";
        Volatile.Write(ref ctx.Stopping, 1);
        int how = rng.Next(4);
        if (mode == ContinuationMode.Inline && how == 0)
        {
            // From inside an inline continuation: the first worker that runs on a loop thread disposes that engine.
            Volatile.Write(ref ctx.DisposeFromContinuation, 1);
            var wait = Stopwatch.StartNew();
            while (Volatile.Read(ref ctx.DisposedFromContinuation) == 0 && wait.ElapsedMilliseconds < 500 && !tasks.All(t => t.IsCompleted))
            {
                Thread.Sleep(1);
            }

            Event(Volatile.Read(ref ctx.DisposedFromContinuation) != 0 ? "engine disposed from its own inline continuation" : "no continuation was on a loop to dispose from");
            group.Dispose();
        }
        else if (how == 1)
        {
            group.DisposeAsync().AsTask().GetAwaiter().GetResult();
            Event("group DisposeAsync under load");
        }
        else if (how == 2)
        {
            // Every engine from its own thread at once, and the group after them.
            Parallel.ForEach(group.Engines, e => e.Dispose());
            group.Dispose();
            Event("engines disposed concurrently under load");
        }
        else
        {
            group.Dispose();
            Event("group Dispose under load");
        }

        _phase.Text = $"cycle {cycle} ({mode}): waiting for the workers";
        if (!Task.WaitAll(tasks, SoakPhase.Trace ? TimeSpan.FromSeconds(5) : SoakPhase.HangLimit))
        {
            string stuck = string.Join("; ", all.Where((_, i) => !tasks[i].IsCompleted).Select(w => w.Current));
            Fail($"cycle {cycle}: {tasks.Count(t => !t.IsCompleted)} workers still running {SoakPhase.HangLimit.TotalSeconds} s after the engines were disposed, in: {stuck}");
            return 0;
        }

        foreach (Task t in tasks.Where(t => t.IsFaulted))
        {
            Fail($"cycle {cycle}: a worker crashed: {t.Exception!.InnerException}");
        }

        long left = 0;
        foreach (IoUringEngine e in group.Engines)
        {
            if (e.OperationsInFlight != 0 || e.AbandonedOperations != 0 || e.Fault is not null)
            {
                Fail($"cycle {cycle}: engine {e.Id} after dispose: {e.OperationsInFlight} in flight, {e.AbandonedOperations} abandoned, fault {e.Fault}");
            }

            left += e.OperationsInFlight + e.AbandonedOperations;
            ObjectDisposedException? refused = null;
            try
            {
                _ = e.NopAsync();
            }
            catch (ObjectDisposedException x)
            {
                refused = x;
            }

            if (refused is null)
            {
                Fail($"cycle {cycle}: engine {e.Id} accepted an operation after Dispose");
            }
        }

        foreach (UringFile f in ctx.Shared)
        {
            if (Random.Shared.Next(2) == 0)
            {
                f.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
            else
            {
                f.Dispose();
            }
        }

        // The memory-safety check: buffers of reads that were cancelled or cut off by the dispose must still hold
        // their canary now that the engines are gone and some time has passed.
        Thread.Sleep(30);
        CheckQuarantine(ctx.Quarantine, all: true);
        Interlocked.Increment(ref _progress);
        return left;
    }

    private UringFile OpenShared(Cycle ctx, int i, Random rng)
    {
        string path = _files.Paths[i];
        switch (rng.Next(4))
        {
            case 0:
                Event("shared file: Open(group)");
                return UringFile.Open(ctx.Group, path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
            case 1:
                Event("shared file: OpenAsync(group)");
                return UringFile.OpenAsync(ctx.Group, path, new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.ReadWrite, Options = FileOptions.RandomAccess })
                    .AsTask().GetAwaiter().GetResult();
            case 2:
                Event("shared file: FromHandle(group)");
                return UringFile.FromHandle(ctx.Group, _files.Handles[i]);
            default:
                Event("shared file: OpenAsync(engine)");
                return UringFile.OpenAsync(ctx.Group.Next(), path, FileMode.Open, FileAccess.ReadWrite).AsTask().GetAwaiter().GetResult();
        }
    }

    // ---- shared state, all under _gate ----

    private bool TryReserve(int file, long offset, int length, bool write, ulong owner)
    {
        lock (_gate)
        {
            return _files.TryReserve(file, offset, length, write, owner);
        }
    }

    private void Release(int file, ulong owner)
    {
        lock (_gate)
        {
            _files.Release(file, owner);
        }
    }

    private void Op(string kind)
    {
        lock (_gate)
        {
            _stats.Op(kind);
        }
    }

    private void Error(string kind, Exception e)
    {
        string key = e is IoUringException io ? $"{kind} {IoUringException.ErrnoName(io.Errno)}" : $"{kind} {e.GetType().Name}";
        lock (_gate)
        {
            _stats.ResultsByErrno.TryGetValue(key, out long v);
            _stats.ResultsByErrno[key] = v + 1;
        }
    }

    private void Bytes(long read, long written, long verified)
    {
        lock (_gate)
        {
            _stats.BytesRead += read;
            _stats.BytesWritten += written;
            _stats.BytesVerified += verified;
        }
    }

    private void CheckQuarantine(List<Quarantined> quarantine, bool all)
    {
        lock (quarantine)
        {
            long now = Stopwatch.GetTimestamp();
            for (int i = quarantine.Count - 1; i >= 0; i--)
            {
                Quarantined q = quarantine[i];
                if (!all && now - q.Since < Stopwatch.Frequency / 50)
                {
                    continue;
                }

                if (q.Buffer.AsSpan(0, q.Length).ContainsAnyExcept(Canary))
                {
                    Fail($"the buffer of a {q.What} changed after its await returned: the kernel wrote memory it no longer owned");
                }
                else
                {
                    Event("cancelled read buffer still untouched later");
                }

                quarantine.RemoveAt(i);
            }
        }
    }

    private sealed record Quarantined(byte[] Buffer, int Length, string What, long Since);

    private sealed class Cycle(int index, IoUringEngineGroup group, ContinuationMode mode)
    {
        public readonly int Index = index;
        public readonly IoUringEngineGroup Group = group;
        public readonly ContinuationMode Mode = mode;
        public readonly List<UringFile> Shared = [];
        public readonly List<Quarantined> Quarantine = [];
        public int Stopping;
        public int DisposeFromContinuation;
        public int DisposedFromContinuation;

        public bool IsStopping => Volatile.Read(ref Stopping) != 0;
    }

    /// <summary>One concurrent task of a cycle.</summary>
    private sealed class Worker
    {
        private static long s_owner = 1L << 40;

        private readonly AsyncSoakDriver _d;
        private readonly Cycle _c;
        private readonly Random _rng;
        private readonly int _index;
        private readonly Stack<byte[]> _free = new();
        private readonly byte[] _data;
        private UringFile? _own;
        private int _ownFile;
        private SafeFileHandle? _pipeRead;
        private SafeFileHandle? _pipeWrite;

        public Worker(AsyncSoakDriver driver, Cycle cycle, int index, int seed)
        {
            _d = driver;
            _c = cycle;
            _index = index;
            _rng = new Random(seed);
            _data = new byte[driver._config.MaxOpBytes];
        }

        /// <summary>What the worker is doing, for a hang report.</summary>
        public string Current { get; private set; } = "starting";

        private int MaxOp => _d._config.MaxOpBytes;

        private int FileBytes => _d._files.FileBytes;

        public async Task RunAsync()
        {
            if (Libc.Pipe2(out int r, out int w, Libc.O_CLOEXEC) != 0)
            {
                _d.Fail("pipe2 failed");
                return;
            }

            _pipeRead = new SafeFileHandle(r, ownsHandle: true);
            _pipeWrite = new SafeFileHandle(w, ownsHandle: true);
            try
            {
                while (!_c.IsStopping && _d._stats.FailureCount == 0)
                {
                    await OneAsync().ConfigureAwait(false);
                    Interlocked.Increment(ref _d._progress);
                    if (_c.IsStopping && Volatile.Read(ref _c.DisposeFromContinuation) != 0)
                    {
                        MaybeDisposeFromContinuation();
                    }
                }

                // A few more operations while the engines go away: each must complete or be refused with ObjectDisposedException.
                for (int i = 0; i < 3 && _d._stats.FailureCount == 0; i++)
                {
                    await OneAsync().ConfigureAwait(false);
                    MaybeDisposeFromContinuation();
                }
            }
            finally
            {
                Current = "final DisposeAsync of the own file";
                if (_own is not null)
                {
                    await _own.DisposeAsync().ConfigureAwait(false);
                    _own = null;
                }

                _pipeRead.Dispose();
                _pipeWrite.Dispose();
            }
        }

        private void MaybeDisposeFromContinuation()
        {
            if (Volatile.Read(ref _c.DisposeFromContinuation) == 0)
            {
                return;
            }

            IoUringEngine? loop = null;
            foreach (IoUringEngine e in _c.Group.Engines)
            {
                if (e.IsOnLoopThread)
                {
                    loop = e;
                }
            }

            if (loop is not null && Interlocked.Exchange(ref _c.DisposedFromContinuation, 1) == 0)
            {
                loop.Dispose();
                if (!loop.IsDisposing)
                {
                    _d.Fail("Dispose on the loop thread did not start the shutdown");
                }
            }
        }

        private async Task OneAsync()
        {
            int roll = _rng.Next(1000);
            switch (roll)
            {
                case < 260: await ReadAsync(gather: false).ConfigureAwait(false); break;
                case < 330: await ReadAsync(gather: true).ConfigureAwait(false); break;
                case < 560: await WriteAsync(gather: false).ConfigureAwait(false); break;
                case < 630: await WriteAsync(gather: true).ConfigureAwait(false); break;
                case < 660: await FlushAsync().ConfigureAwait(false); break;
                case < 680: await PreallocateAsync().ConfigureAwait(false); break;
                case < 700: await StatAsync().ConfigureAwait(false); break;
                case < 720: await NopAsync().ConfigureAwait(false); break;
                case < 780: await StreamAsync().ConfigureAwait(false); break;
                case < 860: await PipeRaceAsync().ConfigureAwait(false); break;
                case < 880: await PipeWriteRaceAsync().ConfigureAwait(false); break;
                case < 920: await OpenOrCloseOwnAsync().ConfigureAwait(false); break;
                case < 940: await CloseWhileReadingAsync().ConfigureAwait(false); break;
                default: await EngineDirectAsync().ConfigureAwait(false); break;
            }
        }

        // ---- cancellation ----

        private CancelMode PickCancel()
        {
            int r = _rng.Next(100);
            return r switch
            {
                < 55 => CancelMode.None,
                < 63 => CancelMode.BeforeCall,
                < 78 => CancelMode.InFlight,
                < 92 => CancelMode.Timeout,
                _ => CancelMode.AfterCompletion,
            };
        }

        private CancellationTokenSource? MakeSource(CancelMode mode)
        {
            switch (mode)
            {
                case CancelMode.None:
                    return null;
                case CancelMode.BeforeCall:
                    var c = new CancellationTokenSource();
                    c.Cancel();
                    return c;
                case CancelMode.Timeout:
                    var t = new CancellationTokenSource();
                    t.CancelAfter(TimeSpan.FromMicroseconds(_rng.Next(0, 3000)));
                    return t;
                default:
                    return new CancellationTokenSource();
            }
        }

        private static void AfterStart(CancelMode mode, CancellationTokenSource? cts)
        {
            if (mode == CancelMode.InFlight)
            {
                cts!.Cancel();
            }
        }

        private static void AfterEnd(CancelMode mode, CancellationTokenSource? cts)
        {
            if (mode == CancelMode.AfterCompletion)
            {
                cts!.Cancel();
            }

            cts?.Dispose();
        }

        /// <summary>Classifies an exception; anything but the documented types is a failure.</summary>
        private Outcome Classify(string kind, Exception e, CancelMode mode, bool disposedAllowed = false)
        {
            _d.Error(kind, e);
            switch (e)
            {
                case OperationCanceledException:
                    if (mode is CancelMode.None or CancelMode.AfterCompletion)
                    {
                        _d.Fail($"{kind}: OperationCanceledException without a cancelled token: {e}");
                        return Outcome.Failed;
                    }

                    return Outcome.Cancelled;
                case ObjectDisposedException:
                    if (!_c.IsStopping && !disposedAllowed)
                    {
                        _d.Fail($"{kind}: ObjectDisposedException while nothing was disposed: {e}");
                        return Outcome.Failed;
                    }

                    return Outcome.Disposed;
                case IoUringException io when kind == "Preallocate" && io.Errno == Errno.EOPNOTSUPP:
                    return Outcome.Failed;
                default:
                    _d.Fail($"{kind}: unexpected {e.GetType().Name}: {e}");
                    return Outcome.Failed;
            }
        }

        private void CheckOutcome(string kind, CancelMode mode, Outcome outcome)
        {
            _d.Event($"{kind} {mode}: {outcome}");
            if (mode == CancelMode.BeforeCall && outcome == Outcome.Completed)
            {
                _d.Fail($"{kind}: completed although its token was cancelled before the call");
            }
        }

        /// <summary>
        /// Runs one operation under a cancellation picked at random: starts it with the token, cancels in flight if
        /// so picked, awaits it, classifies how it ended (<see cref="Classify"/>) and checks that ending was allowed.
        /// </summary>
        private async Task<(Outcome Outcome, CancelMode Mode, T Value)> RunAsync<T>(string kind, Func<CancellationToken, ValueTask<T>> start, bool disposedAllowed = false)
        {
            CancelMode mode = PickCancel();
            CancellationTokenSource? cts = MakeSource(mode);
            Outcome outcome;
            T value = default!;
            try
            {
                ValueTask<T> vt = start(cts?.Token ?? default);
                AfterStart(mode, cts);
                value = await vt.ConfigureAwait(false);
                outcome = Outcome.Completed;
            }
            catch (Exception e)
            {
                outcome = Classify(kind, e, mode, disposedAllowed);
            }
            finally
            {
                AfterEnd(mode, cts);
            }

            CheckOutcome(kind, mode, outcome);
            return (outcome, mode, value);
        }

        /// <summary><see cref="RunAsync{T}"/> for an operation without a result.</summary>
        private async Task<(Outcome Outcome, CancelMode Mode)> RunAsync(string kind, Func<CancellationToken, ValueTask> start, bool disposedAllowed = false)
        {
            (Outcome outcome, CancelMode mode, _) = await RunAsync(kind, async token =>
            {
                await start(token).ConfigureAwait(false);
                return true;
            }, disposedAllowed).ConfigureAwait(false);
            return (outcome, mode);
        }

        /// <summary>
        /// Starts a read or a write of file <paramref name="file"/>: picks a range and reserves it (false, counted, when
        /// another task holds it), then makes a write's data in <c>_data</c> or rents a read's canary-filled buffer.
        /// </summary>
        private bool TryStart(string kind, int file, bool write, out long offset, out int length, out ulong owner, out byte[]? buffer)
        {
            (offset, length) = write ? PickWriteRange() : PickReadRange();
            owner = NextOwner();
            buffer = null;
            if (!_d.TryReserve(file, offset, length, write, owner))
            {
                _d.Event("range busy, skipped");
                return false;
            }

            _d.Op(kind);
            Current = kind;
            if (write)
            {
                _rng.NextBytes(_data.AsSpan(0, length));
            }
            else
            {
                buffer = RentBuffer(length);
            }

            return true;
        }

        /// <summary>
        /// After a read of <paramref name="length"/> bytes into <paramref name="buffer"/>: a completed one is verified
        /// against the model and its buffer reused; one that was cancelled or cut off by a dispose must have left the
        /// buffer untouched, and the buffer is quarantined (the kernel could still write it if the library were wrong).
        /// </summary>
        private void FinishRead(string kind, int file, long offset, int length, byte[] buffer, long n, Outcome outcome, string what)
        {
            if (outcome == Outcome.Completed)
            {
                VerifyRead(kind, file, offset, length, buffer, n);
                _free.Push(buffer);
            }
            else if (outcome is Outcome.Cancelled or Outcome.Disposed)
            {
                if (buffer.AsSpan(0, length + CanaryTail).ContainsAnyExcept(Canary))
                {
                    if (outcome == Outcome.Cancelled && IsFilePrefix(file, offset, length, buffer))
                    {
                        // The kernel had copied the cached first part, then queued the rest for an io-wq worker; the
                        // cancel stopped that rest, and io_uring reports -ECANCELED without the part already copied
                        // (docs/reliability.md). Only the file's own bytes, in a prefix: anything else still fails. The
                        // buffer is refilled for the later check that nothing writes it after the await returned.
                        _d.Event($"{kind} cancelled after the kernel had copied a prefix (file bytes, verified)");
                        buffer.AsSpan(0, length + CanaryTail).Fill(Canary);
                    }
                    else
                    {
                        _d.Fail($"{kind}: a read that threw {outcome} changed its buffer ({DescribeChange(file, offset, length, buffer)})");
                    }
                }

                Quarantine(buffer, length + CanaryTail, what);
            }
        }

        /// <summary>True when the changed bytes of <paramref name="buffer"/> are a prefix holding the file's bytes at <paramref name="offset"/> and the rest is canary.</summary>
        private bool IsFilePrefix(int file, long offset, int length, byte[] buffer)
        {
            Span<byte> span = buffer.AsSpan(0, length + CanaryTail);
            int end = span.LastIndexOfAnyExcept(Canary) + 1;
            return end <= _d._files.ExpectedReadBytes(offset, length) && _d._files.VerifyRead(file, offset, buffer.AsSpan(0, end)) is null;
        }

        /// <summary>
        /// What changed in a read's canary-filled buffer: where, how much, and whether the changed bytes are the file's
        /// own bytes at the read's offset (the kernel read part of the range) or something else (a stray write).
        /// </summary>
        private string DescribeChange(int file, long offset, int length, byte[] buffer)
        {
            Span<byte> span = buffer.AsSpan(0, length + CanaryTail);
            int first = span.IndexOfAnyExcept(Canary);
            int last = span.LastIndexOfAnyExcept(Canary);
            int changed = span.Length - span.Count(Canary);
            string what = IsFilePrefix(file, offset, length, buffer)
                ? $"bytes 0..{last + 1} are the file's bytes at {offset}: the kernel read that much before the cancel"
                : "not the file's bytes at the read's offset: a stray write";
            return $"read of {length} at {offset} (file {file}); {changed} bytes differ from the canary in [{first}, {last}]; {what}; first bytes {Convert.ToHexString(span.Slice(first, Math.Min(32, last - first + 1)))}";
        }

        // ---- files and buffers ----

        private UringFile PickFile(out int file)
        {
            if (_own is not null && _rng.Next(3) == 0)
            {
                file = _ownFile;
                return _own;
            }

            file = _rng.Next(_d._files.Count);
            return _c.Shared[file];
        }

        private byte[] RentBuffer(int length)
        {
            _d.CheckQuarantine(_c.Quarantine, all: false);
            byte[] b = _free.Count > 0 ? _free.Pop() : new byte[MaxOp + CanaryTail];
            b.AsSpan(0, Math.Min(b.Length, length + CanaryTail)).Fill(Canary);
            return b;
        }

        private void Quarantine(byte[] b, int length, string what)
        {
            lock (_c.Quarantine)
            {
                _c.Quarantine.Add(new Quarantined(b, length, what, Stopwatch.GetTimestamp()));
            }
        }

        private (long Offset, int Length) PickReadRange()
        {
            int length = _rng.Next(1, MaxOp + 1);
            long offset = _rng.Next(10) switch
            {
                0 => FileBytes - _rng.Next(0, length),          // straddles EOF
                1 => FileBytes + _rng.Next(0, 4096),            // at or past EOF
                _ => _rng.NextInt64(0, FileBytes - length + 1),
            };
            return (offset, length);
        }

        private (long Offset, int Length) PickWriteRange()
        {
            int length = _rng.Next(1, MaxOp + 1);
            return (_rng.NextInt64(0, FileBytes - length + 1), length);
        }

        private static ulong NextOwner() => (ulong)Interlocked.Increment(ref s_owner);

        /// <summary>Splits [0, length) into 1-4 pieces (some empty).</summary>
        private int[] Split(int length)
        {
            int pieces = _rng.Next(1, 5);
            int[] sizes = new int[pieces];
            int left = length;
            for (int i = 0; i < pieces - 1; i++)
            {
                sizes[i] = _rng.Next(0, left + 1);
                left -= sizes[i];
            }

            sizes[pieces - 1] = left;
            return sizes;
        }

        // ---- operations ----

        private async Task ReadAsync(bool gather)
        {
            string kind = gather ? "ReadV" : "Read";
            UringFile f = PickFile(out int file);
            if (!TryStart(kind, file, write: false, out long offset, out int length, out ulong owner, out byte[]? rented))
            {
                return;
            }

            byte[] buffer = rented!;
            List<Memory<byte>>? list = null;
            if (gather)
            {
                int[] sizes = Split(length);
                list = new List<Memory<byte>>(sizes.Length);
                int at = 0;
                foreach (int s in sizes)
                {
                    list.Add(buffer.AsMemory(at, s));
                    at += s;
                }
            }

            (Outcome outcome, CancelMode mode, long n) = await RunAsync(
                kind,
                async token => list is not null
                    ? await f.ReadAsync(list, offset, token).ConfigureAwait(false)
                    : await f.ReadAsync(buffer.AsMemory(0, length), offset, token).ConfigureAwait(false),
                disposedAllowed: f == _own && f.IsClosed).ConfigureAwait(false);
            FinishRead(kind, file, offset, length, buffer, n, outcome, $"{kind} that ended {outcome} ({mode})");
            _d.Release(file, owner);
        }

        private void VerifyRead(string kind, int file, long offset, int length, byte[] buffer, long n)
        {
            long expected = _d._files.ExpectedReadBytes(offset, length);
            if (n > expected || n < 0)
            {
                _d.Fail($"{kind}: returned {n} bytes at {offset}, but {expected} exist");
                return;
            }

            if (n < expected)
            {
                _d.Event($"short read before EOF ({kind})");
            }

            if (offset + length > FileBytes)
            {
                _d.Event("read clamped by EOF verified");
            }

            if (_d._files.VerifyRead(file, offset, buffer.AsSpan(0, (int)n)) is string diff)
            {
                _d.Fail($"{kind}: {diff}");
            }

            if (buffer.AsSpan((int)n, length - (int)n + CanaryTail).ContainsAnyExcept(Canary))
            {
                _d.Fail($"{kind}: bytes past the {n} read at {offset} changed");
            }

            _d.Bytes(n, 0, n);
        }

        private async Task WriteAsync(bool gather)
        {
            string kind = gather ? "WriteV" : "Write";
            UringFile f = PickFile(out int file);
            if ((f.Access & FileAccess.Write) == 0)
            {
                return;
            }

            if (!TryStart(kind, file, write: true, out long offset, out int length, out ulong owner, out _))
            {
                return;
            }

            List<ReadOnlyMemory<byte>>? list = null;
            if (gather)
            {
                int[] sizes = Split(length);
                list = new List<ReadOnlyMemory<byte>>(sizes.Length);
                int at = 0;
                foreach (int s in sizes)
                {
                    list.Add(_data.AsMemory(at, s));
                    at += s;
                }
            }

            (Outcome outcome, CancelMode mode) = await RunAsync(
                kind,
                token => list is not null ? f.WriteAsync(list, offset, token) : f.WriteAsync(_data.AsMemory(0, length), offset, token),
                disposedAllowed: f == _own && f.IsClosed).ConfigureAwait(false);
            FinishWrite(kind, file, offset, _data.AsSpan(0, length), outcome, mode);
            _d.Release(file, owner);
        }

        /// <summary>Updates the model after a write; a write that did not complete is read back from disk.</summary>
        private void FinishWrite(string kind, int file, long offset, ReadOnlySpan<byte> data, Outcome outcome, CancelMode mode)
        {
            if (outcome == Outcome.Completed)
            {
                _d._files.ApplyWrite(file, offset, data);
                _d.Bytes(0, data.Length, 0);
                if (_rng.Next(50) == 0 && _d._files.VerifyOnDisk(file, offset, data.Length) is string diff)
                {
                    _d.Fail($"{kind}: completed write not on disk: {diff}");
                }

                return;
            }

            // Not completed: the file holds the old bytes, the new ones, or a prefix of the new ones and then the old.
            byte[] disk = new byte[data.Length];
            int got = RandomAccess.Read(_d._files.Handles[file], disk, offset);
            if (got != data.Length)
            {
                _d.Fail($"{kind}: pread of {data.Length} at {offset} returned {got}");
                return;
            }

            ReadOnlySpan<byte> old = _d._files.Models[file].AsSpan((int)offset, data.Length);
            if (disk.AsSpan().SequenceEqual(old))
            {
                _d.Event($"{kind} that ended {outcome}: nothing written (checked on disk)");
                return;
            }

            if (mode == CancelMode.BeforeCall)
            {
                _d.Fail($"{kind}: a write whose token was cancelled before the call changed the file at {offset}");
            }

            int prefix = disk.AsSpan().CommonPrefixLength(data);
            if (!disk.AsSpan(prefix).SequenceEqual(old[prefix..]))
            {
                _d.Fail($"{kind} that ended {outcome}: file {file} at {offset} holds neither the old bytes, the new ones, nor a prefix of the new ones (new prefix {prefix} of {data.Length})");
                return;
            }

            _d.Event(prefix == data.Length ? $"{kind} that ended {outcome}: fully written (checked on disk)" : $"{kind} that ended {outcome}: prefix written (checked on disk)");
            _d._files.ApplyWrite(file, offset, disk);
        }

        private async Task FlushAsync()
        {
            UringFile f = PickFile(out _);
            bool dataOnly = _rng.Next(2) == 0;
            string kind = dataOnly ? "Fdatasync" : "Fsync";
            _d.Op(kind);
            Current = kind;
            _ = await RunAsync(kind, token => f.FlushAsync(dataOnly, token), disposedAllowed: f == _own && f.IsClosed).ConfigureAwait(false);
        }

        private async Task PreallocateAsync()
        {
            UringFile f = PickFile(out _);
            if ((f.Access & FileAccess.Write) == 0)
            {
                return;
            }

            long offset = _rng.NextInt64(0, FileBytes + (FileBytes / 2));
            long length = _rng.Next(1, 1 << 20);
            // The file's size must not change: keep it, or stay inside the file.
            bool keepSize = offset + length > FileBytes || _rng.Next(2) == 0;
            Current = "Preallocate";
            _d.Op("Preallocate");
            _ = await RunAsync("Preallocate", token => f.PreallocateAsync(offset, length, keepSize, token), disposedAllowed: f == _own && f.IsClosed).ConfigureAwait(false);
        }

        private async Task StatAsync()
        {
            UringFile f = PickFile(out _);
            Current = "Stat";
            _d.Op("Stat");
            (Outcome outcome, _, long length) = await RunAsync("Stat", token => f.GetLengthAsync(token), disposedAllowed: f == _own && f.IsClosed).ConfigureAwait(false);
            if (outcome == Outcome.Completed && length != FileBytes)
            {
                _d.Fail($"Stat: length {length}, expected {FileBytes}");
            }
        }

        private async Task NopAsync()
        {
            Current = "Nop";
            _d.Op("Nop");
            _ = await RunAsync("Nop", token => _c.Group.Next().NopAsync(token)).ConfigureAwait(false);
        }

        /// <summary>Stream adapter: a read or a write at a random position through <see cref="UringFile.AsStream"/>.</summary>
        private async Task StreamAsync()
        {
            UringFile f = PickFile(out int file);
            bool write = (f.Access & FileAccess.Write) != 0 && _rng.Next(2) == 0;
            string kind = write ? "StreamWrite" : "StreamRead";
            if (!TryStart(kind, file, write, out long offset, out int length, out ulong owner, out byte[]? buffer))
            {
                return;
            }

            Stream? stream = null;
            (Outcome outcome, CancelMode mode, long n) = await RunAsync(
                kind,
                async token =>
                {
                    stream = f.AsStream(offset);
                    if (write)
                    {
                        await stream.WriteAsync(_data.AsMemory(0, length), token).ConfigureAwait(false);
                        if (stream.Position != offset + length)
                        {
                            _d.Fail($"StreamWrite: position {stream.Position} after writing {length} at {offset}");
                        }

                        // The stream writes behind the caller: the bytes are in the file once it is flushed.
                        await stream.FlushAsync(token).ConfigureAwait(false);

                        return 0L;
                    }

                    int read = await stream.ReadAsync(buffer.AsMemory(0, length), token).ConfigureAwait(false);
                    if (stream.Position != offset + read)
                    {
                        _d.Fail($"StreamRead: position {stream.Position} after reading {read} at {offset}");
                    }

                    return read;
                },
                disposedAllowed: f == _own && f.IsClosed).ConfigureAwait(false);
            if (stream is not null)
            {
                try
                {
                    await stream.DisposeAsync().ConfigureAwait(false);
                }
                catch (ObjectDisposedException) when (_c.IsStopping || f.IsClosed)
                {
                    // A write behind a cancelled flush met the closed file (or the stopping engine) at dispose.
                }
            }

            if (write)
            {
                FinishWrite(kind, file, offset, _data.AsSpan(0, length), outcome, mode);
            }
            else
            {
                FinishRead(kind, file, offset, length, buffer!, n, outcome, $"{kind} that ended {outcome}");
            }

            _d.Release(file, owner);
        }

        /// <summary>
        /// A read on this worker's empty pipe racing a cancel and a writer. Completed: a prefix of the data, the rest
        /// still in the pipe. Cancelled or disposed: the buffer untouched, all of the data still in the pipe.
        /// </summary>
        private async Task PipeRaceAsync()
        {
            Current = "PipeRace";
            _d.Op("PipeRace");
            int length = _rng.Next(1, 4097);
            byte[] data = new byte[length];
            _rng.NextBytes(data);
            byte[] buffer = RentBuffer(length);
            int race = _rng.Next(4);
            bool put = false;
            var cts = new CancellationTokenSource();
            IoUringEngine engine = _c.Group.Next();
            Outcome outcome;
            long n = 0;
            try
            {
                ValueTask<int> vt = engine.ReadAsync(_pipeRead!, buffer.AsMemory(0, length), -1, cts.Token);
                switch (race)
                {
                    case 0:
                        put = Put(data);
                        cts.Cancel();
                        break;
                    case 1:
                        cts.Cancel();
                        put = Put(data);
                        break;
                    case 2:
                        Task<bool> writer = Task.Run(() => Put(data));
                        cts.CancelAfter(TimeSpan.FromMicroseconds(_rng.Next(0, 500)));
                        put = await writer.ConfigureAwait(false);
                        break;
                    default:
                        // Nobody writes: only the timer ends the read.
                        cts.CancelAfter(TimeSpan.FromMicroseconds(_rng.Next(0, 2000)));
                        break;
                }

                Current = $"PipeRace {race}: awaiting the read";
                n = await vt.ConfigureAwait(false);
                outcome = Outcome.Completed;
            }
            catch (Exception e)
            {
                outcome = Classify("PipeRace", e, CancelMode.InFlight);
            }
            finally
            {
                cts.Dispose();
            }

            _d.Event($"PipeRace {(race == 3 ? "no data" : "with data")}: {outcome}");
            Current = $"PipeRace {race}: {outcome} n={n}";
            if (outcome == Outcome.Completed)
            {
                if (!put || n <= 0 || n > length || !buffer.AsSpan(0, (int)n).SequenceEqual(data.AsSpan(0, (int)n)))
                {
                    _d.Fail($"PipeRace {race}: read returned {n} of {(put ? length : 0)} bytes written, or the wrong bytes");
                    return;
                }

                Drain(data.AsSpan((int)n), "the rest after a completed read");
                _free.Push(buffer);
                return;
            }

            if (outcome == Outcome.Failed)
            {
                return;
            }

            if (buffer.AsSpan(0, length + CanaryTail).ContainsAnyExcept(Canary))
            {
                _d.Fail($"PipeRace {race}: a read that ended {outcome} changed its buffer");
            }

            // Everything written must still be in the pipe. If nothing was written (no writer, or the call itself was
            // refused), put the data there now: the read that ended must not take it (nor its buffer change, checked
            // later through the quarantine).
            if (!put && !Put(data))
            {
                return;
            }

            Drain(data, $"all of it after a read that ended {outcome} (race {race})");
            Quarantine(buffer, length + CanaryTail, $"pipe read that ended {outcome}");
        }

        /// <summary>
        /// A write larger than a pipe holds, drained by a reader thread, cancelled at a random moment: it goes out in
        /// several short writes, so a cancel can land between them. Completed: the reader got all of it. Cancelled or
        /// disposed: the reader got exactly a prefix (possibly empty, possibly all) - never more, never other bytes.
        /// </summary>
        private async Task PipeWriteRaceAsync()
        {
            Current = "PipeWriteRace";
            _d.Op("PipeWriteRace");
            if (Libc.Pipe2(out int r, out int w, Libc.O_CLOEXEC) != 0)
            {
                _d.Fail("pipe2 failed");
                return;
            }

            using var readEnd = new SafeFileHandle(r, ownsHandle: true);
            var writeEnd = new SafeFileHandle(w, ownsHandle: true);
            byte[] data = new byte[_rng.Next(70_000, 300_000)];
            _rng.NextBytes(data);
            var received = new MemoryStream();
            var drainer = new Thread(() =>
            {
                byte[] chunk = new byte[_rng.Next(512, 16384)];
                while (true)
                {
                    long n = Libc.Read(r, chunk);
                    if (n <= 0)
                    {
                        return;
                    }

                    received.Write(chunk, 0, (int)n);
                }
            }) { IsBackground = true, Name = "soak pipe drainer" };
            drainer.Start();
            CancelMode mode = _rng.Next(3) == 0 ? CancelMode.InFlight : CancelMode.Timeout;
            var cts = new CancellationTokenSource();
            Outcome outcome;
            try
            {
                ValueTask vt = _c.Group.Next().WriteAsync(writeEnd, data, -1, cts.Token);
                if (mode == CancelMode.InFlight)
                {
                    cts.Cancel();
                }
                else
                {
                    cts.CancelAfter(TimeSpan.FromMicroseconds(_rng.Next(0, 4000)));
                }

                Current = "PipeWriteRace: awaiting the write";
                await vt.ConfigureAwait(false);
                outcome = Outcome.Completed;
            }
            catch (Exception e)
            {
                outcome = Classify("PipeWriteRace", e, mode);
            }
            finally
            {
                cts.Dispose();
            }

            // The write has ended: closing the write end gives the drainer EOF after the last byte.
            writeEnd.Dispose();
            Current = "PipeWriteRace: joining the drainer";
            if (!drainer.Join(SoakPhase.HangLimit))
            {
                _d.Fail("PipeWriteRace: the drainer did not see EOF after the write ended");
                return;
            }

            byte[] got = received.ToArray();
            bool prefix = got.Length <= data.Length && got.AsSpan().SequenceEqual(data.AsSpan(0, got.Length));
            if (!prefix || (outcome == Outcome.Completed && got.Length != data.Length))
            {
                _d.Fail($"PipeWriteRace: ended {outcome} but the reader got {got.Length} of {data.Length} bytes{(prefix ? string.Empty : ", not a prefix of the data")}");
                return;
            }

            string how = outcome == Outcome.Completed ? "all written" : got.Length == 0 ? "nothing written" : got.Length == data.Length ? "all written" : "prefix written";
            _d.Event($"PipeWriteRace {mode}: {outcome}, {how}");
            _d.Bytes(0, got.Length, got.Length);
        }

        private bool Put(byte[] data)
        {
            long w = Libc.Write((int)_pipeWrite!.DangerousGetHandle(), data);
            if (w != data.Length)
            {
                _d.Fail($"pipe write returned {w} of {data.Length}");
                return false;
            }

            return true;
        }

        private void Drain(ReadOnlySpan<byte> expected, string what)
        {
            if (expected.IsEmpty)
            {
                return;
            }

            Current = $"PipeRace: draining {what}";
            byte[] got = new byte[expected.Length];
            int at = 0;
            while (at < got.Length)
            {
                long r = Libc.Read((int)_pipeRead!.DangerousGetHandle(), got.AsSpan(at));
                if (r <= 0)
                {
                    _d.Fail($"pipe drain read returned {r}");
                    return;
                }

                at += (int)r;
            }

            if (!got.AsSpan().SequenceEqual(expected))
            {
                _d.Fail($"PipeRace: the pipe did not hold {what}");
            }
        }

        private async Task OpenOrCloseOwnAsync()
        {
            if (_own is null)
            {
                Current = "Open";
            _d.Op("Open");
                int file = _rng.Next(_d._files.Count);
                string path = _d._files.Paths[file];
                int how = _rng.Next(3);
                (_, _, UringFile? opened) = await RunAsync("Open", token => how switch
                {
                    0 => UringFile.OpenAsync(_c.Group, path, new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.ReadWrite }, token),
                    1 => UringFile.OpenAsync(_c.Group.Next(), path, FileMode.OpenOrCreate, FileAccess.ReadWrite, token),
                    _ => UringFile.OpenAsync(_c.Group.Next(), path, new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Read, Options = FileOptions.SequentialScan }, token),
                }).ConfigureAwait(false);
                if (opened is not null)
                {
                    _own = opened;
                    _ownFile = file;
                }

                return;
            }

            Current = "Close";
            _d.Op("Close");
            UringFile f = _own;
            _own = null;
            if (_rng.Next(2) == 0)
            {
                await f.DisposeAsync().ConfigureAwait(false);
                _d.Event("own file closed with DisposeAsync");
            }
            else
            {
                f.Dispose();
                _d.Event("own file closed with Dispose");
            }

            if (!f.IsClosed)
            {
                _d.Fail("a disposed UringFile says it is not closed");
            }

            // Every operation after dispose: ObjectDisposedException.
            try
            {
                _ = await f.ReadAsync(new byte[16], 0).ConfigureAwait(false);
                _d.Fail("a read on a disposed UringFile succeeded");
            }
            catch (ObjectDisposedException)
            {
                _d.Event("read after UringFile dispose: ObjectDisposedException");
            }
            catch (Exception e)
            {
                _d.Fail($"a read on a disposed UringFile threw {e.GetType().Name} instead of ObjectDisposedException: {e}");
            }
        }

        /// <summary>Disposes the worker's own file while a read on it is in flight: the read must complete normally.</summary>
        private async Task CloseWhileReadingAsync()
        {
            if (_own is null || (_own.Access & FileAccess.Read) == 0)
            {
                return;
            }

            UringFile f = _own;
            int file = _ownFile;
            _own = null;
            (long offset, int length) = PickReadRange();
            ulong owner = NextOwner();
            if (!_d.TryReserve(file, offset, length, write: false, owner))
            {
                await f.DisposeAsync().ConfigureAwait(false);
                return;
            }

            Current = "CloseWhileReading";
            _d.Op("CloseWhileReading");
            byte[] buffer = RentBuffer(length);
            Outcome outcome;
            long n = 0;
            bool asyncClose = _rng.Next(2) == 0;
            ValueTask closing = default;
            try
            {
                ValueTask<int> vt = f.ReadAsync(buffer.AsMemory(0, length), offset);
                if (asyncClose)
                {
                    closing = f.DisposeAsync();
                }
                else
                {
                    f.Dispose();
                }

                n = await vt.ConfigureAwait(false);
                outcome = Outcome.Completed;
            }
            catch (Exception e)
            {
                outcome = Classify("CloseWhileReading", e, CancelMode.None);
            }

            if (asyncClose)
            {
                await closing.ConfigureAwait(false);
            }

            CheckOutcome("CloseWhileReading", CancelMode.None, outcome);
            if (outcome == Outcome.Completed)
            {
                VerifyRead("CloseWhileReading", file, offset, length, buffer, n);
            }
            else if (outcome == Outcome.Disposed)
            {
                Quarantine(buffer, length + CanaryTail, "read on a file closed while it ran, cut off by the engine's dispose");
            }

            _d.Release(file, owner);
        }

        /// <summary>The engine's own methods on the run-long handles (no UringFile in between).</summary>
        private async Task EngineDirectAsync()
        {
            int file = _rng.Next(_d._files.Count);
            SafeFileHandle h = _d._files.Handles[file];
            IoUringEngine engine = _rng.Next(2) == 0 ? _c.Group.Next() : _c.Group.Current;
            bool write = _rng.Next(2) == 0;
            string kind = write ? "EngineWrite" : "EngineRead";
            if (!TryStart(kind, file, write, out long offset, out int length, out ulong owner, out byte[]? buffer))
            {
                return;
            }

            if (write)
            {
                (Outcome written, CancelMode mode) = await RunAsync(kind, token => engine.WriteAsync(h, _data.AsMemory(0, length), offset, token)).ConfigureAwait(false);
                FinishWrite(kind, file, offset, _data.AsSpan(0, length), written, mode);
            }
            else
            {
                (Outcome outcome, _, int n) = await RunAsync(kind, token => engine.ReadAsync(h, buffer.AsMemory(0, length), offset, token)).ConfigureAwait(false);
                FinishRead(kind, file, offset, length, buffer!, n, outcome, $"{kind} that ended {outcome}");
            }

            _d.Release(file, owner);
        }
    }
}
