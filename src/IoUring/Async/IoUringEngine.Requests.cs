using System.Runtime.CompilerServices;
using Microsoft.Extensions.ObjectPool;

namespace IoUring;

/// <summary>Fills a rented op from a request's arguments: its SQE template, pins, handle references (any thread).</summary>
/// <typeparam name="TArgs">The request's arguments.</typeparam>
/// <param name="engine">The engine the op belongs to.</param>
/// <param name="op">The op, freshly rented.</param>
/// <param name="args">The arguments.</param>
internal delegate void PrepareRequest<TArgs>(IoUringEngine engine, IoOperation op, in TArgs args);

/// <summary>An op that was started (or a token that was already cancelled), to be awaited as a <see cref="ValueTask"/>.</summary>
internal readonly struct Issued
{
    private readonly IoOperation? _op;
    private readonly short _version;
    private readonly CancellationToken _canceled;

    public Issued(IoOperation op, short version)
    {
        _op = op;
        _version = version;
        _canceled = default;
    }

    private Issued(CancellationToken canceled)
    {
        _op = null;
        _version = 0;
        _canceled = canceled;
    }

    /// <summary>Nothing was started: the token was cancelled before the call.</summary>
    public static Issued Canceled(CancellationToken token) => new(token);

    public ValueTask AsValueTask() => _op is null ? ValueTask.FromCanceled(_canceled) : new ValueTask(_op, _version);

    public ValueTask<int> AsInt32() => _op is null ? ValueTask.FromCanceled<int>(_canceled) : new ValueTask<int>(_op, _version);

    public ValueTask<long> AsInt64() => _op is null ? ValueTask.FromCanceled<long>(_canceled) : new ValueTask<long>(_op, _version);
}

// The caller's side of a request, the same for every kind: rent an op, prepare it, arm its cancellation, push it.
public sealed partial class IoUringEngine
{
    /// <summary>
    /// Starts a request of <paramref name="kind"/>: rents an op, lets <paramref name="prepare"/> fill it from
    /// <paramref name="args"/> (an exception there gives the op back and propagates), then arms cancellation and pushes it.
    /// Each request kind is one call of this with its own prepare function. With a <paramref name="deadline"/> the loop
    /// submits the request linked to an <c>IORING_OP_LINK_TIMEOUT</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Issued Issue<TArgs>(OpKind kind, in TArgs args, PrepareRequest<TArgs> prepare, IOperationOwner? owner, CancellationToken cancellationToken, RequestDeadline deadline = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Issued.Canceled(cancellationToken);
        }

        IoOperation op = Rent(kind);
        try
        {
            prepare(this, op, in args);
        }
        catch
        {
            Abandon(op);
            throw;
        }

        op.Deadline = deadline;
        return new Issued(op, Start(op, owner, cancellationToken));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private IoOperation Rent(OpKind kind)
    {
        ThrowIfDisposing();
        IoOperation op = _pool.Get();
        op.Kind = kind;
        return op;
    }

    /// <summary>Gives back an op whose preparation failed before it was pushed.</summary>
    private static void Abandon(IoOperation op)
    {
        op.ReleaseResources();
        op.ResetAndReturn();
    }

    internal void ReturnOperation(IoOperation op) => _pool.Return(op);

    /// <summary>Arms cancellation and pushes the op to the ring's owner; returns the version for the ValueTask.</summary>
    private short Start(IoOperation op, IOperationOwner? owner, CancellationToken cancellationToken)
    {
        if (owner is not null)
        {
            if (!owner.TryBeginOperation(this))
            {
                Abandon(op);
                throw new ObjectDisposedException(owner.GetType().Name);
            }

            op.Owner = owner;
        }

        short version = op.Arm(cancellationToken);
        if (!TryPush(op))
        {
            op.Owner = null;
            owner?.OnOperationCompleted(this);
            Abandon(op);
            ThrowDisposed();
        }

        return version;
    }

    /// <summary>
    /// Hands an op to the ring's owner: one CAS on the submission stack (and an eventfd write only when the owner is
    /// parked). A continuation running in one of this engine's thread-pool batches collects it in the batch's own list
    /// instead, which reaches the owner as one chain when the batch ends (see <see cref="CompletionDispatch"/>).
    /// </summary>
    private bool TryPush(IoOperation op)
    {
        if (_dispatchToPool && CompletionDispatch.CollectingFor(this) is CompletionDispatch dispatch && Volatile.Read(ref _state) == StateRunning)
        {
            // The push is a full fence, so either the owner, about to park, sees the list (it takes it instead of parking)
            // or we see it parked (or shutting down) here and publish at once.
            dispatch.Push(op);
            if (_submissions.IsParked || Volatile.Read(ref _state) != StateRunning)
            {
                dispatch.Publish(this);
            }

            return true;
        }

        return _submissions.TryPush(op);
    }

    /// <summary>
    /// Pushes a chain of ops (newest first, linked by <see cref="IoOperation.NextSubmit"/>, ending at
    /// <paramref name="oldest"/>) with one CAS, waking the owner at most once. Ops refused because the engine has shut
    /// down fail with <see cref="ObjectDisposedException"/> on a pool thread.
    /// </summary>
    internal void PushChain(IoOperation newest, IoOperation oldest)
    {
        if (!_submissions.TryPushChain(newest, oldest))
        {
            // Accepted by the batch but the engine is gone. Fail them away from the caller's stack: completing them here
            // would run other continuations inside the call that made the request.
            oldest.NextSubmit = null;
            ThreadPool.UnsafeQueueUserWorkItem(static list => FailRefused((IoOperation)list!), newest);
        }
    }

    private static void FailRefused(IoOperation? list)
    {
        while (list is not null)
        {
            IoOperation op = list;
            list = op.NextSubmit;
            op.NextSubmit = null;
            op.Complete(-Interop.Errno.ECANCELED);
        }
    }

    /// <summary>Asks the owner to send <c>ASYNC_CANCEL</c> for <paramref name="op"/> (its token was cancelled).</summary>
    internal void PushCancel(IoOperation op) => _submissions.PushCancel(op);

    private sealed class OperationPolicy(IoUringEngine engine) : IPooledObjectPolicy<IoOperation>
    {
        public IoOperation Create() => new(engine);

        public bool Return(IoOperation obj) => true;
    }
}

/// <summary>Something that tracks the operations it started (a <see cref="UringFile"/>, so that closing it can wait for them).</summary>
internal interface IOperationOwner
{
    /// <summary>
    /// Called on the submitting thread right before the op is pushed to <paramref name="engine"/>; false refuses it (the owner is closing). The
    /// owner counts the op before it checks whether it is closing, and its close sets the flag before it reads the
    /// count, so either the op is refused or the close waits for it.
    /// </summary>
    bool TryBeginOperation(IoUringEngine engine);

    /// <summary>
    /// Called on the thread completing an <c>InstallFixedFile</c> op the owner started, before its
    /// <see cref="OnOperationCompleted"/>: <paramref name="slot"/> is the registered-file slot of
    /// <paramref name="engine"/> now holding the owner's file, or -1 when none could be had.
    /// </summary>
    void OnFixedFileInstalled(IoUringEngine engine, int slot);

    /// <summary>Called once for every op <see cref="TryBeginOperation"/> accepted (with the same engine), when its result is published or it was refused later.</summary>
    void OnOperationCompleted(IoUringEngine engine);
}
