using System.Diagnostics;
using Microsoft.Extensions.ObjectPool;

namespace IoUring;

/// <summary>
/// An io_uring driven by an engine thread, for async/await code: operations can be started from any thread and
/// complete as <see cref="ValueTask"/>s backed by pooled <see cref="System.Threading.Tasks.Sources.IValueTaskSource"/>
/// objects, so an awaited operation allocates nothing in steady state.
/// </summary>
/// <remarks>
/// <para><b>Threads.</b> Submitting threads push operations onto a lock-free stack and return. The thread that owns the
/// ring takes the whole stack at once, turns it into SQEs, and submits them and waits for completions in one
/// <c>io_uring_enter</c>. A submitter pays a system call (an eventfd write that completes a read the engine keeps armed
/// in the ring) only when the engine is parked in the kernel; while it is busy, submission is a single CAS.</para>
/// <para><b>Continuations</b> run on the engine's thread right after the completions are reaped
/// (<see cref="ContinuationMode.Inline"/>, the default), where a request made by a continuation joins the next
/// <c>io_uring_enter</c> batch. A continuation that blocks for longer than <see cref="IoUringEngineOptions.HandOffAfter"/>
/// does not stall the others: the ring moves to another thread, which goes on reaping and running them. With
/// <see cref="ContinuationMode.ThreadPool"/> they are queued to the thread pool instead.</para>
/// <para><b>Memory.</b> Each buffer is pinned from the call until its CQE has been reaped, also when the operation
/// is cancelled or the engine disposed. A <see cref="System.Runtime.InteropServices.SafeHandle"/> passed in is ref-counted
/// for the same span, so its descriptor cannot be closed and reused under a pending request.</para>
/// <para><b>Cancellation.</b> A cancelled token sends <c>IORING_OP_ASYNC_CANCEL</c> for the operation. The operation
/// completes when its own CQE arrives: with <see cref="OperationCanceledException"/> if the cancel won, with its
/// real result if the I/O finished first. Regular-file I/O already running in the kernel usually cannot be
/// interrupted and finishes normally.</para>
/// <para><b>Dispose.</b> Stops accepting operations, cancels everything in flight, and waits (up to
/// <see cref="IoUringEngineOptions.DisposeTimeout"/>) for the kernel to finish with it. Cancelled operations fail
/// with <see cref="ObjectDisposedException"/>. An operation the kernel still holds after the timeout never completes
/// and keeps its buffer pinned forever: its memory is never handed back while the kernel may write to it.</para>
/// </remarks>
public sealed partial class IoUringEngine : IDisposable, IAsyncDisposable
{
    private const int StateRunning = 0;
    private const int StateDisposing = 1;
    private const int StateStopped = 2;

    private static int s_nextId;

    private readonly IoUringEngineOptions _options;

    /// <summary>Idle operation objects.</summary>
    private readonly ObjectPool<IoOperation> _pool;

    /// <summary>True for <see cref="ContinuationMode.ThreadPool"/>.</summary>
    private readonly bool _dispatchToPool;

    /// <summary>Requests and cancellations on their way to the ring's owner.</summary>
    private readonly SubmissionQueue _submissions;

    /// <summary>The requests in the kernel (owner).</summary>
    private readonly OperationTable _operations = new();

    /// <summary>Completed when the engine has stopped.</summary>
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Running, disposing or stopped.</summary>
    private int _state;

    /// <summary>What the engine did, for <see cref="IoUringMetrics"/> (written by the ring's owner).</summary>
    internal readonly EngineCounters Counters = new();

    /// <summary>The engine's tags on every measurement (built on first use: <see cref="GroupIndex"/> is set after the constructor).</summary>
    private KeyValuePair<string, object?>[]? _metricTags;

    /// <summary>Creates an engine and starts its thread.</summary>
    /// <param name="options">Options, or null for defaults.</param>
    /// <exception cref="IoUringSetupException">io_uring is unavailable; the message says why.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range (queue size, dispose timeout, hand-off time, continuation mode).</exception>
    public IoUringEngine(IoUringEngineOptions? options = null)
    {
        _options = options ?? new IoUringEngineOptions();
        _options.Validate(nameof(options));
        Id = Interlocked.Increment(ref s_nextId);
        Continuations = _options.Continuations;
        _handOffTicks = _options.HandsOff ? Math.Max(1, (long)(_options.HandOffAfter.TotalSeconds * Stopwatch.Frequency)) : long.MaxValue;

        _pool = new DefaultObjectPool<IoOperation>(new OperationPolicy(this), Math.Max(16, _options.MaxPooledOperations));
        _dispatchToPool = Continuations == ContinuationMode.ThreadPool;
        _submissions = new SubmissionQueue(new IoOperation(this));

        using var started = new ManualResetEventSlim();
        _started = started;
        EngineWorker.StartFresh(this, _options.ThreadName);
        started.Wait();
        _started = null;
        if (_startupError is not null)
        {
            throw _startupError;
        }
    }

    /// <summary>A number identifying the engine in this process (1, 2, ...).</summary>
    public int Id { get; }

    /// <summary>Where continuations run.</summary>
    public ContinuationMode Continuations { get; }

    /// <summary>The flags the engine's ring was set up with (shows whether <c>SINGLE_ISSUER</c>/<c>DEFER_TASKRUN</c> were granted).</summary>
    public SetupFlags SetupFlags { get; private set; }

    /// <summary>The features the kernel reported for the engine's ring.</summary>
    public RingFeatures Features { get; private set; }

    /// <summary>The managed thread id of the thread that owns the ring now (it changes when the ring is handed off).</summary>
    public int LoopThreadId => Volatile.Read(ref _owner)?.ManagedThreadId ?? -1;

    /// <summary>True when called on one of this engine's threads (for example from a continuation running inline).</summary>
    public bool IsOnLoopThread => t_loopEngine == this;

    /// <summary>Operations submitted to the kernel whose completion has not been reaped yet (a snapshot).</summary>
    public int OperationsInFlight => _operations.Published;

    /// <summary>
    /// Operations the kernel still held when <see cref="Dispose"/> gave up waiting: they never complete and their
    /// buffers stay pinned for the life of the process. 0 unless the kernel could not finish a request in time.
    /// </summary>
    public int AbandonedOperations => Volatile.Read(ref _abandoned);

    /// <summary>Times a submitter had to wake the parked engine with an eventfd write (a diagnostic for batching).</summary>
    public long Wakeups => _submissions.Wakeups;

    /// <summary>An unexpected error that stopped the engine, if any.</summary>
    public Exception? Fault { get; private set; }

    /// <summary><c>io_uring_enter</c> calls the engine has made so far (a diagnostic for batching; read racily from other threads).</summary>
    internal long EnterCalls => Volatile.Read(ref _ring)?.EnterCalls ?? 0;

    /// <summary>The ring's descriptor, or -1 before setup (for tests that read <c>/proc/self/fdinfo</c>).</summary>
    internal int RingFd => Volatile.Read(ref _ring)?.Fd ?? -1;

    /// <summary>The group the engine belongs to, if any.</summary>
    public IoUringEngineGroup? Group { get; internal init; }

    /// <summary>The engine's index in its <see cref="Group"/> (0 for an engine of its own).</summary>
    internal int GroupIndex { get; init; }

    /// <summary>The tags <see cref="IoUringMetrics"/> puts on the engine's measurements: its id and its index in its group.</summary>
    internal KeyValuePair<string, object?>[] MetricTags => _metricTags ??= [new("iouring.engine.id", Id), new("iouring.engine.index", GroupIndex)];

    /// <summary>The engine whose thread the calling thread is, or null.</summary>
    internal static IoUringEngine? CurrentLoopEngine => t_loopEngine;

    /// <summary>True once <see cref="Dispose"/> has started.</summary>
    public bool IsDisposing => Volatile.Read(ref _state) != StateRunning;

    /// <summary>
    /// Stops the engine: refuses new operations, cancels pending ones (they fail with <see cref="ObjectDisposedException"/>
    /// unless they completed first), waits for the kernel to release their buffers, then closes the ring, and returns
    /// when that is done. Called from a continuation running on the engine's own thread it still waits (the ring is
    /// handed to another thread, which shuts it down), except where the ring never changes threads
    /// (<see cref="ContinuationMode.ThreadPool"/> or hand-off off): there it only starts the shutdown, which finishes
    /// after the continuation returns.
    /// </summary>
    public void Dispose()
    {
        BeginStop();
        if (CanWaitForLoop)
        {
            _stopped.Task.Wait();
        }
    }

    /// <summary>Like <see cref="Dispose"/>, but waits for the engine to stop asynchronously.</summary>
    /// <returns>A task that completes when the engine has stopped.</returns>
    public ValueTask DisposeAsync()
    {
        BeginStop();
        return new ValueTask(_stopped.Task);
    }

    /// <summary>
    /// True when the calling thread may block until the engine's own thread does something: it is not that thread, or it
    /// is running a continuation of an engine that hands the ring off when a continuation blocks.
    /// </summary>
    internal bool CanWaitForLoop => t_loopEngine != this || (_options.HandsOff && ReadyList.RunningOnThisThread);

    private void BeginStop()
    {
        if (Interlocked.CompareExchange(ref _state, StateDisposing, StateRunning) == StateRunning)
        {
            _submissions.Unpark();
            _submissions.Wake();
        }
    }

    private void ThrowIfDisposing()
    {
        if (Volatile.Read(ref _state) != StateRunning)
        {
            ThrowDisposed();
        }
    }

    private static void ThrowDisposed() => throw new ObjectDisposedException(nameof(IoUringEngine));
}
