using System.Runtime.CompilerServices;

namespace IoUring;

// Where completions go: into the pass's ReadyList, run by the ring's owner in its continuation phase (inline), or into
// a CompletionDispatch batch for the thread pool (thread-pool mode, or an engine that is stopping); and callbacks that
// want to run with them (pipe continuations) the same way.
public sealed partial class IoUringEngine
{
    /// <summary>
    /// Hands the completions of the pass to their continuations: runs them here (inline: the continuation phase) or
    /// queues them to the thread pool. False when the ring was handed to another thread meanwhile.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool FlushCompletions()
    {
        if (_dispatchToPool)
        {
            FlushDispatch();
            return true;
        }

        _deferred.MoveTo(_ready);
        if (!RunReady())
        {
            return false;
        }

        if (_deferred.HasAny)
        {
            // Callbacks the phase's continuations released (a send loop resumed by their flushes): run them now, in a
            // second phase, so the requests they make join this pass's submission instead of waiting a pass.
            _deferred.MoveTo(_ready);
            return RunReady();
        }

        return true;
    }

    /// <summary>
    /// Publishes an op's result: in the pass's continuation phase (inline), or in the next batch for the thread pool
    /// (thread-pool mode, or the engine is stopping). In thread-pool mode an op marked
    /// <see cref="IoOperation.CompleteOnLoop"/> completes here at once.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CompleteOp(IoOperation op, long result)
    {
        Counters.CountCompletion(op.Kind, result);
        if (!_dispatchToPool && !_stopping)
        {
            _ready.Add(op, result);
            return;
        }

        if (op.CompleteOnLoop && !_stopping)
        {
            op.Complete(result);
            return;
        }

        _dispatch.Add(op, result);
        if (_dispatch.Count >= _dispatchLimit)
        {
            FlushDispatch();
        }
    }

    /// <summary>
    /// Runs <paramref name="callback"/> with the engine's completions: called by the ring's owner during ring work, it
    /// joins the pass's continuations (inline) or the batch for the thread pool; called from a continuation running on an
    /// engine thread (a continuation phase), it runs in the owner's next continuation phase (see
    /// <see cref="DeferredCallbacks"/>); called from any other thread, or while the engine stops, it is queued to the
    /// thread pool.
    /// </summary>
    internal void ScheduleWithCompletions(Action<object?> callback, object? state)
    {
        if (t_loopEngine == this && !_stopping)
        {
            if (ReadyList.RunningOnThisThread)
            {
                if (_deferred.TryAdd(callback, state))
                {
                    // An old owner finishing a continuation after a hand-off: the new owner may be parked.
                    _submissions.WakeIfParked();
                    return;
                }
            }
            else if (!_dispatchToPool)
            {
                _ready.Add(callback, state);
                return;
            }
            else
            {
                _dispatch.Add(callback, state);
                if (_dispatch.Count >= _dispatchLimit)
                {
                    FlushDispatch();
                }

                return;
            }
        }

        ThreadPool.UnsafeQueueUserWorkItem(callback, state, preferLocal: false);
    }

    /// <summary>
    /// Runs <paramref name="callback"/> after the current continuation phase when called inside one on this engine's
    /// thread (with the callbacks deferred from it, before the pass submits), and at once anywhere else: the output
    /// pipe's send loop, so that several flushes of one phase make one send (see <see cref="PhaseEndScheduler"/>).
    /// </summary>
    internal void ScheduleAfterPhase(Action<object?> callback, object? state)
    {
        if (t_loopEngine == this && !_stopping && !_dispatchToPool && ReadyList.RunningOnThisThread && _deferred.TryAdd(callback, state))
        {
            // An old owner finishing a continuation after a hand-off: the new owner may be parked.
            _submissions.WakeIfParked();
            return;
        }

        callback(state);
    }

    /// <summary>Callbacks scheduled from inside continuations, for the next continuation phase.</summary>
    private readonly DeferredCallbacks _deferred = new();
}
