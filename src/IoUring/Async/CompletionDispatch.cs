
namespace IoUring;

/// <summary>
/// The completions of one reap, handed to the thread pool as a single work item that runs their continuations one
/// after another on a pool thread. This is how <see cref="ContinuationMode.ThreadPool"/> keeps user code off the loop
/// thread while paying the thread pool's queueing and wake-up cost once per batch instead of once per operation.
/// </summary>
/// <remarks>
/// <para>Pooled and fixed-size: allocation-free once the engine has created as many as are ever outstanding at once.</para>
/// <para><b>Batched hand-back.</b> While a dispatch runs its continuations, the requests they make on this engine are
/// not pushed one by one onto the engine's shared submission stack: they collect in the dispatch's own list
/// (<see cref="Push"/>, an uncontended CAS on a line only this thread writes) and go to the engine as one chain when
/// the batch ends (one CAS on the shared stack and at most one wake-up for the whole batch). The loop then takes the
/// whole batch in one <c>io_uring_enter</c> instead of a trickle of one or two requests per call.</para>
/// <para><b>No deadlock.</b> A continuation may block on a request it has just made (sync-over-async), which would
/// wait forever if the request stayed in the unpublished list. So the list can be taken by the loop at any time:
/// the running dispatch is registered with the engine, and the loop takes its list (1) whenever it is about to park,
/// (2) when a periodic scan finds that the dispatch has not finished a continuation since the previous scan, and
/// (3) at shutdown. And when a request is pushed while the loop is parked, it is published at once (the push and
/// the loop's park check are ordered by full fences on both sides, so one of them always sees the other).</para>
/// </remarks>
internal sealed class CompletionDispatch : IThreadPoolWorkItem
{
    /// <summary>Completions per batch. A full batch is dispatched at once, so the arrays never grow (no allocation after warm-up).</summary>
    public const int Capacity = 64;

    /// <summary>The dispatch running on this thread, whose list collects this thread's requests, or null.</summary>
    [ThreadStatic]
    private static CompletionDispatch? t_current;

    private readonly IoOperation?[] _ops = new IoOperation?[Capacity];
    private readonly long[] _results = new long[Capacity];
    private readonly Action<object?>?[] _callbacks = new Action<object?>?[Capacity];
    private readonly object?[] _states = new object?[Capacity];
    private int _count;
    private IoUringEngine? _engine;

    /// <summary>Requests made by this batch's continuations and not yet handed to the engine, newest first. Written by the running thread and taken (exchanged with null) by it or the loop.</summary>
    private IoOperation? _localHead;

    /// <summary>The oldest op of <see cref="_localHead"/>'s list (running thread only).</summary>
    private IoOperation? _localOldest;

    /// <summary>The engine whose requests go to the list while the batch runs; null when not running or not registered.</summary>
    private IoUringEngine? _collectingFor;

    /// <summary>Continuations finished so far; the loop's stall scan compares it between two scans.</summary>
    private int _progress;

    /// <summary>Link in the engine's free list.</summary>
    internal CompletionDispatch? NextFree;

    public int Count => _count;

    public bool IsFull => _count == Capacity;

    /// <summary>A counter the running thread bumps after each continuation (read racily by the loop).</summary>
    internal int Progress => Volatile.Read(ref _progress);

    /// <summary>The dispatch collecting requests for <paramref name="engine"/> on the calling thread, or null.</summary>
    internal static CompletionDispatch? CollectingFor(IoUringEngine engine)
    {
        CompletionDispatch? d = t_current;
        return d is not null && ReferenceEquals(d._collectingFor, engine) ? d : null;
    }

    public void Add(IoOperation op, long result)
    {
        _ops[_count] = op;
        _results[_count] = result;
        _count++;
    }

    /// <summary>Adds a plain callback (a pipe continuation the loop released) to run in the batch, in order with the completions.</summary>
    public void Add(Action<object?> callback, object? state)
    {
        _callbacks[_count] = callback;
        _states[_count] = state;
        _count++;
    }

    // Phases: the loop fills a batch (Filling), queues it (Queued), may reopen a queued batch that no pool thread has
    // started to add more completions (Appending, a few nanoseconds), and a pool thread claims it to run (Running).
    private const int Filling = 0;
    private const int Queued = 1;
    private const int Appending = 2;
    private const int Running = 3;
    private int _phase;

    /// <summary>Queues the batch; it returns itself to <paramref name="engine"/>'s pool after running.</summary>
    public void Dispatch(IoUringEngine engine)
    {
        _engine = engine;
        // Release: the entries written before are visible to the thread that claims the batch.
        Volatile.Write(ref _phase, Queued);
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    /// <summary>
    /// Moves <paramref name="from"/>'s entries into this batch if it is queued and no pool thread has started it yet
    /// (the loop, when the pool is behind: one work item instead of another one queued behind it).
    /// </summary>
    /// <returns>True when moved (<paramref name="from"/> is then empty).</returns>
    internal bool TryAppendFrom(CompletionDispatch from)
    {
        if (Interlocked.CompareExchange(ref _phase, Appending, Queued) != Queued)
        {
            return false;
        }

        bool moved = _count + from._count <= Capacity;
        if (moved)
        {
            for (int i = 0; i < from._count; i++)
            {
                _ops[_count] = from._ops[i];
                _results[_count] = from._results[i];
                _callbacks[_count] = from._callbacks[i];
                _states[_count] = from._states[i];
                _count++;
                from._ops[i] = null;
                from._callbacks[i] = null;
                from._states[i] = null;
            }

            from._count = 0;
        }

        Volatile.Write(ref _phase, Queued);
        return moved;
    }

    /// <summary>Claims the batch for running; waits out a loop that is appending to it (a few nanoseconds).</summary>
    private void Claim()
    {
        var spinner = default(SpinWait);
        while (Interlocked.CompareExchange(ref _phase, Running, Queued) != Queued)
        {
            spinner.SpinOnce(sleep1Threshold: -1);
        }
    }

    /// <summary>Adds a request to the unpublished list (running thread only). Full fence (the CAS), for the park check that follows.</summary>
    internal void Push(IoOperation op)
    {
        // When the loop took the list meanwhile, the push starts a new one (the head it lands on is null).
        if (IntrusiveStack.Push(ref _localHead, op, ref op.NextSubmit) is null)
        {
            _localOldest = op;
        }
    }

    /// <summary>Hands the unpublished list to the engine as one chain (running thread only).</summary>
    internal void Publish(IoUringEngine engine)
    {
        if (Volatile.Read(ref _localHead) is null)
        {
            return;
        }

        IoOperation? newest = Interlocked.Exchange(ref _localHead, null);
        if (newest is not null)
        {
            // _localOldest is the op that was pushed onto an empty list last, which is the oldest of this list: only
            // this thread pushes, and a take by the loop empties the list, so the next push records itself.
            engine.PushChain(newest, _localOldest!);
        }

        _localOldest = null;
    }

    /// <summary>True when the list holds requests (read racily by the loop).</summary>
    internal bool Holding => Volatile.Read(ref _localHead) is not null;

    /// <summary>Takes the unpublished list, newest first (the loop, when the running thread may be blocked on it).</summary>
    internal IoOperation? Steal() => Volatile.Read(ref _localHead) is null ? null : Interlocked.Exchange(ref _localHead, null);

    /// <summary>Runs the continuations on the current thread (used when the pool must not be involved).</summary>
    public void RunHere()
    {
        int n = _count;
        for (int i = 0; i < n; i++)
        {
            CompletionItems.Run(_ops, _results, _callbacks, _states, i);
            Volatile.Write(ref _progress, _progress + 1);
        }

        _count = 0;
    }

    void IThreadPoolWorkItem.Execute()
    {
        Claim();
        IoUringEngine engine = _engine!;
        _engine = null;
        CompletionDispatch? outer = t_current;
        int slot = outer is null ? engine.RegisterRunningDispatch(this) : -1;
        if (slot < 0)
        {
            // No slot free (or nested): run unbatched, every request goes straight to the engine.
            RunHere();
            Volatile.Write(ref _phase, Filling);
            engine.ReturnDispatch(this);
            return;
        }

        _collectingFor = engine;
        t_current = this;
        try
        {
            RunHere();
        }
        finally
        {
            t_current = null;
            _collectingFor = null;
            Publish(engine);
            engine.UnregisterRunningDispatch(slot);
        }

        Volatile.Write(ref _phase, Filling);
        engine.ReturnDispatch(this);
    }
}
