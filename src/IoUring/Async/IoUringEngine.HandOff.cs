using System.Diagnostics;

namespace IoUring;

// Ownership of the ring and the continuation phase (ContinuationMode.Inline). One thread owns the ring at a time: it
// does the ring work (take requests, submit, reap) and then, in the continuation phase, runs the continuations of what it
// reaped. When one continuation runs longer than HandOffAfter, the monitor takes the ring from it with one CAS on _phase
// and gives it, with the continuations not yet started, to another worker; the old owner finds out with the CAS that
// ends its continuation phase and leaves without touching the engine again.
public sealed partial class IoUringEngine
{
    /// <summary>
    /// <c>(epoch &lt;&lt; 1) | 1</c> while the owner runs continuations, <c>epoch &lt;&lt; 1</c> while it does ring work. The
    /// owner enters its continuation phase with a plain store (nobody else writes in the ring phase) and leaves it with a
    /// CAS; a hand-off is a CAS from a continuation phase to the next epoch's ring phase, which makes the owner's CAS fail.
    /// </summary>
    private long _phase;

    /// <summary>
    /// The continuations of the current pass (owner). Replaced only at a hand-off, by the monitor, with a list holding the
    /// items the blocked owner had not started.
    /// </summary>
    private ReadyList _ready = new(1);

    /// <summary>A list left behind by an earlier hand-off, for the next one.</summary>
    private ReadyList? _spareReady;

    /// <summary>The worker that owns the ring now (for <see cref="LoopThreadId"/>).</summary>
    private EngineWorker? _owner;

    /// <summary>Hand-offs so far.</summary>
    private int _handOffs;

    /// <summary><see cref="IoUringEngineOptions.HandOffAfter"/> in <see cref="Stopwatch"/> ticks.</summary>
    private long _handOffTicks;

    /// <summary>
    /// How long an owner that is runnable (computing, or preempted by other threads) may stay in one continuation before
    /// the ring is handed off anyway: 20 ms, a few scheduler slices, like Go's preemption of a long-running goroutine.
    /// </summary>
    private static readonly long s_runnableHandOffTicks = Stopwatch.Frequency / 50;

    // The monitor's last sample of this engine (monitor thread only).
    private long _watchedPhase = -1;
    private int _watchedProgress;
    private long _watchedSince;

    /// <summary>Times the ring was handed to another thread because a continuation blocked (see <see cref="IoUringEngineOptions.HandOffAfter"/>).</summary>
    public int HandOffs => Volatile.Read(ref _handOffs);

    /// <summary>
    /// The body of a worker thread that owns (or takes over) the ring: start-up (a fresh engine), then the loop, then
    /// shutdown, unless the ring is handed to another worker first. Returns when this thread has nothing more to do
    /// with the engine.
    /// </summary>
    internal void RunOnWorker(EngineWorker worker, bool takeOver)
    {
        t_loopEngine = this;
        Volatile.Write(ref _owner, worker);
        try
        {
            if (!takeOver && !StartUp())
            {
                return;
            }

            if (takeOver)
            {
                // The old owner may have left internal SQEs prepared (a re-armed wake read) when it went into its
                // continuation phase; it will never touch the ring again, so this thread takes them over with the ring.
                _ring.ClaimOwnership();
            }

            bool stopping;
            try
            {
                // A new owner first runs the continuations the blocked one had not started.
                stopping = (!takeOver || RunReady()) && Loop();
            }
            catch (Exception e)
            {
                // A kernel error the loop cannot handle. Stop like Dispose does: every op still completes, and nothing the
                // kernel may write to is released early.
                Fault = e;
                if (IoUringEventSource.Log.IsEnabled())
                {
                    IoUringEventSource.Log.EngineFaulted(Id, e.GetType().FullName ?? e.GetType().Name, e.Message);
                }

                Volatile.Write(ref _state, StateDisposing);
                stopping = true;
            }

            if (stopping)
            {
                Shutdown();
            }
        }
        finally
        {
            t_loopEngine = null;
        }
    }

    /// <summary>
    /// Runs the continuations of the pass (owner). Returns false when the ring was handed to another thread meanwhile:
    /// the caller must then leave without touching the engine.
    /// </summary>
    private bool RunReady()
    {
        ReadyList ready = _ready;
        if (ready.Count == 0)
        {
            return true;
        }

        long ring = Volatile.Read(ref _phase);
        Debug.Assert((ring & 1) == 0, "The owner enters its continuation phase from its ring phase.");
        OpenInlineReads(ready.Count);
        Volatile.Write(ref _phase, ring | 1);
        ready.Run();
        _inlineReads = 0;
        if (Interlocked.CompareExchange(ref _phase, ring, ring | 1) != (ring | 1))
        {
            // Handed off: the list is the monitor's to empty, then ours to give back for the next hand-off.
            ready.RecycleAfterSteal();
            Volatile.Write(ref _spareReady, ready);
            return false;
        }

        ready.Reset();
        return true;
    }

    /// <summary>
    /// One sample of the monitor: hands the ring off when the owner has been inside the same continuation since a sample
    /// at least <see cref="IoUringEngineOptions.HandOffAfter"/> ago. Returns true when the engine is awake (not parked).
    /// </summary>
    internal bool Watch(long now)
    {
        long phase = Volatile.Read(ref _phase);
        if ((phase & 1) == 0)
        {
            _watchedPhase = -1;
            return !_submissions.IsParked;
        }

        int progress = Volatile.Read(ref _ready).Progress;
        if (phase != _watchedPhase || progress != _watchedProgress)
        {
            _watchedPhase = phase;
            _watchedProgress = progress;
            _watchedSince = now;
            return true;
        }

        long stuck = now - _watchedSince;
        if (stuck >= _handOffTicks && (stuck >= Math.Max(_handOffTicks, s_runnableHandOffTicks) || Volatile.Read(ref _owner)?.IsRunnable() != true))
        {
            // Blocked (asleep, waiting, in uninterruptible I/O) for HandOffAfter, or running one continuation for longer
            // than a scheduler slice: a thread that is only preempted on a busy machine is not handed off for that.
            _watchedPhase = -1;
            TryHandOff(phase);
        }

        return true;
    }

    /// <summary>Takes the ring from an owner stuck in its continuation phase <paramref name="phase"/> and gives it to another worker.</summary>
    private void TryHandOff(long phase)
    {
        EngineWorker? worker = EngineWorker.Acquire();
        if (worker is null)
        {
            // No thread to hand to (MaxLive reached, or none could be created): the engine waits for its owner.
            return;
        }

        if (Interlocked.CompareExchange(ref _phase, phase + 1, phase) != phase)
        {
            // The continuation returned meanwhile.
            worker.Release();
            return;
        }

        // From here the monitor stands in for the owner: the old one can no longer leave its continuation phase as owner,
        // and its later claims on the list find nothing.
        ReadyList rest = Interlocked.Exchange(ref _spareReady, null) ?? new ReadyList(_ready.Capacity);
        _ready.StealRest(rest);
        Volatile.Write(ref _ready, rest);
        int handOffs = Interlocked.Increment(ref _handOffs);
        if (IoUringEventSource.Log.IsEnabled())
        {
            IoUringEventSource.Log.RingHandedOff(Id, handOffs);
        }

        worker.TakeOver(this);
    }
}
