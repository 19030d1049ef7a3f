using System.Threading.Tasks.Sources;

namespace IoUring;

/// <summary>
/// The one pending <c>ReadAsync</c> or <c>FlushAsync</c> of a file pipe adapter (<see cref="UringFilePipeReader"/>,
/// <see cref="UringFilePipeWriter"/>): a reusable <see cref="IValueTaskSource{TResult}"/> with its cancellation
/// registration. The owner decides, under its own lock, whether a wait is pending; this type only arms, completes
/// and cancels it. Continuations run on the completing thread (the owner's completion path already runs off the
/// caller's stack).
/// </summary>
/// <typeparam name="T">What the wait completes with.</typeparam>
internal sealed class PipeWaiter<T> : IValueTaskSource<T>
{
    private ManualResetValueTaskSourceCore<T> _core;
    private CancellationToken _token;
    private CancellationTokenRegistration _registration;

    public PipeWaiter() => _core.RunContinuationsAsynchronously = false;

    /// <summary>Arms a new wait. <paramref name="onCancelled"/> (with <paramref name="owner"/>) runs if <paramref name="token"/> fires first.</summary>
    public ValueTask<T> Start(CancellationToken token, Action<object?> onCancelled, object owner)
    {
        _core.Reset();
        _token = token;
        short version = _core.Version;
        if (token.CanBeCanceled)
        {
            _registration = token.UnsafeRegister(onCancelled, owner);
        }

        return new ValueTask<T>(this, version);
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
    public void SetCanceled() => _core.SetException(new OperationCanceledException(_token));

    T IValueTaskSource<T>.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<T>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<T>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
