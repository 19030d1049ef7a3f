namespace IoUring;

/// <summary>
/// Callbacks scheduled with an engine's completions from inside a continuation (a pipe continuation released by code
/// that runs in a continuation phase: a send completing and making room in the output pipe). They run in the owner's
/// next continuation phase, not nested inside the continuation that released them: nested, a continuation that blocks
/// (disposing its connection synchronously, say) would hold up the caller beneath it on the same stack, which a
/// hand-off cannot move. Any engine thread may add (the owner, or an old owner still finishing a continuation after a
/// hand-off); the owner takes them all at once. A lock guards them: adding is rare next to completions, and uncontended.
/// </summary>
internal sealed class DeferredCallbacks
{
    private readonly object _gate = new();

    /// <summary>The callbacks, in the order they were added.</summary>
    private Action<object?>[] _callbacks = new Action<object?>[16];

    /// <summary>Each callback's argument.</summary>
    private object?[] _states = new object?[16];

    /// <summary>Callbacks waiting (read without the lock to decide whether to take the lock).</summary>
    private int _count;

    /// <summary>Set by <see cref="Close"/>: the engine is stopping and runs no more continuation phases.</summary>
    private bool _closed;

    /// <summary>True when callbacks are waiting (racy read).</summary>
    public bool HasAny => Volatile.Read(ref _count) != 0;

    /// <summary>Adds a callback; false once <see cref="Close"/> has run (the caller then queues it to the thread pool).</summary>
    public bool TryAdd(Action<object?> callback, object? state)
    {
        lock (_gate)
        {
            if (_closed)
            {
                return false;
            }

            if (_count == _callbacks.Length)
            {
                Array.Resize(ref _callbacks, _count * 2);
                Array.Resize(ref _states, _count * 2);
            }

            _callbacks[_count] = callback;
            _states[_count] = state;
            Volatile.Write(ref _count, _count + 1);
            return true;
        }
    }

    /// <summary>Moves every waiting callback to the end of <paramref name="list"/> (the owner, in its ring phase).</summary>
    public void MoveTo(ReadyList list)
    {
        if (!HasAny)
        {
            return;
        }

        lock (_gate)
        {
            MoveLocked(list);
        }
    }

    /// <summary>Refuses further callbacks and moves the waiting ones to <paramref name="list"/> (the engine is stopping).</summary>
    public void Close(ReadyList list)
    {
        lock (_gate)
        {
            _closed = true;
            MoveLocked(list);
        }
    }

    private void MoveLocked(ReadyList list)
    {
        for (int i = 0; i < _count; i++)
        {
            list.Add(_callbacks[i], _states[i]);
            _callbacks[i] = null!;
            _states[i] = null;
        }

        Volatile.Write(ref _count, 0);
    }
}
