using System.Threading.Tasks.Sources;

namespace IoUring;

/// <summary>
/// The one pending <c>ReadAsync</c> or <c>FlushAsync</c> of a file pipe adapter (<see cref="UringFilePipeReader"/>,
/// <see cref="UringFilePipeWriter"/>): a reusable <see cref="IValueTaskSource{TResult}"/> with its cancellation
/// registration, and whether it is pending. <see cref="IsPending"/> is read and changed only under the owner's lock
/// (given at construction): the owner arms a wait with <see cref="Start"/> and takes it with <see cref="TryTake"/>
/// before completing it, and a token that fires takes it the same way, so exactly one of them completes it.
/// Continuations run on the completing thread (the owner's completion path already runs off the caller's stack).
/// </summary>
/// <typeparam name="T">What the wait completes with.</typeparam>
internal sealed class PipeWaiter<T> : IValueTaskSource<T>
{
    /// <summary>The owner's lock, which guards <see cref="IsPending"/>.</summary>
    private readonly Lock _ownerLock;
    private ManualResetValueTaskSourceCore<T> _core;
    private CancellationToken _token;
    private CancellationTokenRegistration _registration;

    public PipeWaiter(Lock ownerLock)
    {
        _ownerLock = ownerLock;
        _core.RunContinuationsAsynchronously = false;
    }

    /// <summary>True from <see cref="Start"/> until the wait is taken to be completed or cancelled (under the owner's lock).</summary>
    public bool IsPending { get; private set; }

    /// <summary>Arms a new wait (under the owner's lock). If <paramref name="token"/> fires before the owner takes the wait, the wait is cancelled.</summary>
    public ValueTask<T> Start(CancellationToken token)
    {
        IsPending = true;
        _core.Reset();
        _token = token;
        short version = _core.Version;
        if (token.CanBeCanceled)
        {
            _registration = token.UnsafeRegister(static s => ((PipeWaiter<T>)s!).OnCancelled(), this);
        }

        return new ValueTask<T>(this, version);
    }

    /// <summary>Takes the pending wait, to complete it outside the lock (under the owner's lock): false when none was pending.</summary>
    public bool TryTake()
    {
        bool pending = IsPending;
        IsPending = false;
        return pending;
    }

    private void OnCancelled()
    {
        bool signal;
        lock (_ownerLock)
        {
            signal = TryTake();
        }

        if (signal)
        {
            SetCanceled();
        }
    }

    /// <summary>Completes the wait with <paramref name="result"/>.</summary>
    public void SetResult(T result)
    {
        _ = _registration.Unregister();
        _core.SetResult(result);
    }

    /// <summary>Fails the wait with <paramref name="error"/>.</summary>
    public void SetException(Exception error)
    {
        _ = _registration.Unregister();
        _core.SetException(error);
    }

    /// <summary>Fails the wait with <see cref="OperationCanceledException"/> for its token (from the token's callback).</summary>
    private void SetCanceled() => _core.SetException(new OperationCanceledException(_token));

    T IValueTaskSource<T>.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<T>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<T>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
