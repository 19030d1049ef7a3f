using System.Runtime.CompilerServices;

namespace IoUring;

// ContinuationMode.ThreadPool: the owner's side of the completion batches it hands to the thread pool (see
// CompletionDispatch), and of the requests those batches hand back. Everything here runs on the owner, except the
// registration of running batches and the free list, which pool threads use.
public sealed partial class IoUringEngine
{
    /// <summary>How often a busy loop looks for a thread-pool batch stuck in one continuation while holding unpublished requests.</summary>
    private static readonly TimeSpan StallScanPeriod = TimeSpan.FromMicroseconds(50);

    private const int RunningDispatchSlots = 8;

    private const int MinDispatchChunk = 8;

    /// <summary>The completions gathered for the thread pool since the last flush (owner).</summary>
    private CompletionDispatch _dispatch = new();

    /// <summary>Free dispatches taken from <see cref="_freeDispatches"/> (owner).</summary>
    private CompletionDispatch? _freeDispatchesLocal;

    /// <summary>
    /// Free dispatches, a lock-free stack linked through <see cref="CompletionDispatch.NextFree"/>: pool threads push,
    /// only the owner takes (all at once, into <see cref="_freeDispatchesLocal"/>), so there is no ABA problem. Unlike
    /// an <c>ObjectPool</c> (a ConcurrentQueue that allocates segments as its fill level swings), it never allocates
    /// once as many dispatches exist as are ever outstanding at once.
    /// </summary>
    private CompletionDispatch? _freeDispatches;

    /// <summary>The batch the owner queued last (it may have run and been reused since: appending then fails).</summary>
    private CompletionDispatch? _lastQueued;

    /// <summary>The reap <see cref="_lastQueued"/> was queued in, and the number of the current reap (owner).</summary>
    private long _lastQueuedReap = -1;
    private long _reapNumber;

    /// <summary>Completions per thread-pool batch for the current reap (see <see cref="DispatchChunk"/>; owner).</summary>
    private int _dispatchLimit = CompletionDispatch.Capacity;

    /// <summary>The thread-pool batches running right now that collect requests (see <see cref="CompletionDispatch"/>); the owner may take their lists.</summary>
    private readonly CompletionDispatch?[] _runningDispatches = new CompletionDispatch?[RunningDispatchSlots];

    /// <summary>Each running-dispatch slot's dispatch and progress at the previous stall scan (owner).</summary>
    private readonly CompletionDispatch?[] _scannedDispatches = new CompletionDispatch?[RunningDispatchSlots];
    private readonly int[] _scannedProgress = new int[RunningDispatchSlots];

    /// <summary>
    /// How many completions of a reap of <paramref name="reaped"/> go into one thread-pool batch: about half, so the
    /// first batch's continuations run (and hand their next requests back) while the loop still dispatches, submits
    /// and reaps — the loop's kernel work and the continuations overlap instead of taking turns. At least
    /// <see cref="MinDispatchChunk"/>, so small reaps stay one work item.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int DispatchChunk(uint reaped) => (int)Math.Clamp(reaped / 2, MinDispatchChunk, CompletionDispatch.Capacity);

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

    internal void ReturnDispatch(CompletionDispatch dispatch) => _ = IntrusiveStack.Push(ref _freeDispatches, dispatch, ref dispatch.NextFree);

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

    /// <summary>Registers a batch that is starting to run; returns its slot, or -1 when all are taken (it then runs unbatched).</summary>
    internal int RegisterRunningDispatch(CompletionDispatch dispatch)
    {
        CompletionDispatch?[] slots = _runningDispatches;
        int start = Environment.CurrentManagedThreadId & (RunningDispatchSlots - 1);
        for (int i = 0; i < RunningDispatchSlots; i++)
        {
            int k = (start + i) & (RunningDispatchSlots - 1);
            if (Volatile.Read(ref slots[k]) is null && Interlocked.CompareExchange(ref slots[k], dispatch, null) is null)
            {
                return k;
            }
        }

        return -1;
    }

    internal void UnregisterRunningDispatch(int slot) => Volatile.Write(ref _runningDispatches[slot], null);

    private void TakeStalledDispatches() => _ = TakeDispatchLists(stalledOnly: true);

    /// <summary>
    /// True when a running batch holds unpublished requests. Called after parking was announced: a batch that pushes
    /// after this check sees the flag and publishes at once, so parking after a false answer loses nothing.
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

    private void WaitWhileHolding(long until)
    {
        while (!HasWork() && _ring.ReadyCqes.Count == 0 && Volatile.Read(ref _state) == StateRunning && AnyDispatchHolding() &&
               System.Diagnostics.Stopwatch.GetTimestamp() < until)
        {
            Thread.SpinWait(20);
        }
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

            AppendChain(reversed!, last);
        }

        return took;
    }
}
