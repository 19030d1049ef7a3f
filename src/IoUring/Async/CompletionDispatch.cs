using System.Runtime.ExceptionServices;

namespace IoUring;

/// <summary>
/// The completions of one reap, handed to the thread pool as a single work item that runs their continuations one
/// after another on a pool thread. This is how <see cref="ContinuationMode.ThreadPool"/> keeps user code off the loop
/// thread while paying the thread pool's queueing and wake-up cost once per batch instead of once per operation.
/// </summary>
/// <remarks>Pooled and fixed-size: allocation-free once the engine has created as many as are ever outstanding at once.</remarks>
internal sealed class CompletionDispatch : IThreadPoolWorkItem
{
    /// <summary>Completions per batch. A full batch is dispatched at once, so the arrays never grow (no allocation after warm-up).</summary>
    public const int Capacity = 64;

    private readonly IoOperation?[] _ops = new IoOperation?[Capacity];
    private readonly long[] _results = new long[Capacity];
    private int _count;
    private IoUringEngine? _engine;

    public int Count => _count;

    public bool IsFull => _count == Capacity;

    public void Add(IoOperation op, long result)
    {
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
