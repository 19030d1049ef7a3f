namespace IoUring.Tests;

/// <summary>
/// Runs work on a dedicated thread (never the thread pool, which a blocked ring wait must not starve). <see cref="Join"/>
/// waits boundedly and rethrows the work's failure; <see cref="RunAsync"/> hands back a task instead.
/// </summary>
internal sealed class Background
{
    private readonly Thread _thread;
    private readonly Task<object?> _done;

    private Background(Func<object?> work) => (_thread, _done) = Start(work);

    public static Background Run(Action action) => new(() =>
    {
        action();
        return null;
    });

    public static Background Run<T>(Func<T> func) => new(() => func());

    public static Background After(TimeSpan delay, Action action) => Run(() =>
    {
        Thread.Sleep(delay);
        action();
    });

    /// <summary>Runs <paramref name="work"/> on a dedicated thread; the task completes with its result or failure.</summary>
    public static Task<T> RunAsync<T>(Func<T> work) => Start(work).Done;

    public bool IsFinished => !_thread.IsAlive;

    public object? Join()
    {
        Assert.True(_thread.Join(Wait.Patience * 2), "the background thread did not finish");
        if (_done.IsFaulted)
        {
            Exception failure = _done.Exception!.InnerException!;
            throw new InvalidOperationException("The background thread failed: " + failure.Message, failure);
        }

        return _done.Result;
    }

    public T Join<T>() => (T)Join()!;

    private static (Thread Thread, Task<T> Done) Start<T>(Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                done.SetResult(work());
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        })
        {
            IsBackground = true,
            Name = "test background",
        };
        thread.Start();
        return (thread, done.Task);
    }
}
