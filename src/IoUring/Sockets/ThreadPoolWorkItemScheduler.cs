using System.IO.Pipelines;

namespace IoUring;

/// <summary>
/// A <see cref="PipeScheduler"/> that runs callbacks on the thread pool without allocating: it is its own
/// <see cref="IThreadPoolWorkItem"/>. A pipe schedules its reader's continuation at most once at a time, so one slot is
/// enough; a second callback scheduled while the first waits falls back to the pool's ordinary (allocating) queueing.
/// </summary>
internal sealed class ThreadPoolWorkItemScheduler : PipeScheduler, IThreadPoolWorkItem
{
    private Action<object?>? _action;
    private object? _state;
    private int _busy;

    public override void Schedule(Action<object?> action, object? state)
    {
        if (Interlocked.CompareExchange(ref _busy, 1, 0) == 0)
        {
            _action = action;
            _state = state;
            System.Threading.ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
            return;
        }

        System.Threading.ThreadPool.UnsafeQueueUserWorkItem(action, state, preferLocal: false);
    }

    void IThreadPoolWorkItem.Execute()
    {
        Action<object?> action = _action!;
        object? state = _state;
        _action = null;
        _state = null;
        Volatile.Write(ref _busy, 0);
        action(state);
    }
}
