using System.Runtime.ExceptionServices;

namespace IoUring;

/// <summary>
/// The completions of one reap, handed to the thread pool as a single work item that runs their continuations one
/// after another on a pool thread. This is how <see cref="ContinuationMode.ThreadPool"/> keeps user code off the loop
/// thread while paying the thread pool's queueing and wake-up cost once per batch instead of once per operation.
/// </summary>
/// <remarks>Pooled; allocation-free once its arrays have grown to the largest batch seen.</remarks>
internal sealed class CompletionDispatch : IThreadPoolWorkItem
{
    private IoOperation?[] _ops = new IoOperation?[64];
    private long[] _results = new long[64];
    private int _count;
    private IoUringEngine? _engine;

    public int Count => _count;

    public void Add(IoOperation op, long result)
    {
        if (_count == _ops.Length)
        {
            Array.Resize(ref _ops, _ops.Length * 2);
            Array.Resize(ref _results, _results.Length * 2);
        }

        _ops[_count] = op;
        _results[_count] = result;
        _count++;
    }

    /// <summary>Queues the batch; it returns itself to <paramref name="engine"/>'s pool after running.</summary>
    public void Dispatch(IoUringEngine engine)
    {
        _engine = engine;
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    /// <summary>Runs the continuations on the current thread (used when the pool must not be involved).</summary>
    public void RunHere()
    {
        int n = _count;
        for (int i = 0; i < n; i++)
        {
            IoOperation op = _ops[i]!;
            _ops[i] = null;
            try
            {
                op.Complete(_results[i]);
            }
            catch (Exception e)
            {
                // A continuation threw (only custom IValueTaskSource consumers can): surface it like an unhandled
                // exception in an async void method, without losing the other completions of the batch.
                ThreadPool.UnsafeQueueUserWorkItem(static state => ExceptionDispatchInfo.Throw((Exception)state!), e);
            }
        }

        _count = 0;
    }

    void IThreadPoolWorkItem.Execute()
    {
        IoUringEngine engine = _engine!;
        _engine = null;
        RunHere();
        engine.ReturnDispatch(this);
    }
}
