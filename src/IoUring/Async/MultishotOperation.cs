using IoUring.Interop;

namespace IoUring;

/// <summary>
/// A long-lived request of an <see cref="IoUringEngine"/> that may post many CQEs: a multishot accept or receive
/// (<see cref="CqeFlags.More"/> on every CQE but the last), a zero-copy send (a result CQE, then a
/// <see cref="CqeFlags.Notif"/> CQE), or a single-shot request that is re-armed for as long as it is wanted.
/// </summary>
/// <remarks>
/// <para>Other threads only say what they want: <see cref="RequestArm"/>, <see cref="RequestStop"/> or
/// <see cref="RequestClose"/> record the wish and queue the op for the loop, which reconciles it with what the
/// kernel holds: it submits the request when it is wanted and not in the kernel, sends <c>IORING_OP_ASYNC_CANCEL</c>
/// when it is in the kernel and no longer wanted, and calls <see cref="OnClosed"/> once it is closed and the kernel
/// has posted its last CQE. The request stays in the engine's table from submission until a CQE without
/// <see cref="CqeFlags.More"/>; when the kernel ends it early (<c>ENOBUFS</c>, a full CQ, a single-shot
/// fallback) while it is still wanted, the loop re-arms it.</para>
/// <para>Every callback (<see cref="PrepareSqe"/>, <see cref="OnCqe"/>, <see cref="OnReconcile"/>,
/// <see cref="OnClosed"/>, <see cref="OnEngineStopped"/>) runs on the loop thread, one at a time.</para>
/// </remarks>
internal abstract class MultishotOperation
{
    private const int WantIdle = 0;
    private const int WantArmed = 1;
    private const int WantClosed = 2;

    private int _desired;

    /// <summary>1 while the op sits in the engine's request stack.</summary>
    internal int RequestQueued;

    /// <summary>1 once the op was pushed onto the engine's request stack (from then on the engine tells it when it stops).</summary>
    internal int EverQueued;

    /// <summary>Link in the engine's request stack.</summary>
    internal MultishotOperation? NextRequest;

    // ---- Loop state. ----

    /// <summary>Index in the engine's multishot table while the request is in the kernel, else -1 (loop).</summary>
    internal int Slot = -1;

    /// <summary>User data of the request in the kernel (loop).</summary>
    internal ulong UserData;

    /// <summary>An ASYNC_CANCEL was sent for the current request (loop).</summary>
    internal bool CancelIssued;

    /// <summary>On the engine's list of live ops (loop).</summary>
    internal bool Registered;

    /// <summary>Links in the engine's list of live ops, so a stopping engine can tell each of them (loop).</summary>
    internal MultishotOperation? LivePrev;
    internal MultishotOperation? LiveNext;

    /// <summary><see cref="OnClosed"/> has run (loop).</summary>
    internal bool ClosedNotified;

    protected MultishotOperation(IoUringEngine engine)
    {
        Engine = engine;
    }

    /// <summary>The engine that runs the op.</summary>
    public IoUringEngine Engine { get; }

    /// <summary>True while a request of this op is in the kernel (loop thread only).</summary>
    protected internal bool InKernel => Slot >= 0;

    /// <summary>True when the op should be in the kernel.</summary>
    protected internal bool WantsArmed => Volatile.Read(ref _desired) == WantArmed;

    /// <summary>True once <see cref="RequestClose"/> was called.</summary>
    protected internal bool IsClosing => Volatile.Read(ref _desired) == WantClosed;

    /// <summary>Asks the loop to submit the request (if it is not in the kernel already). Ignored once closing.</summary>
    /// <returns>False when the engine has stopped (the op will never run; <see cref="OnEngineStopped"/> has been or will be called).</returns>
    public bool RequestArm()
    {
        if (Interlocked.CompareExchange(ref _desired, WantArmed, WantIdle) == WantClosed)
        {
            return true;
        }

        return Engine.QueueMultishot(this);
    }

    /// <summary>Asks the loop to cancel the request in the kernel; <see cref="RequestArm"/> starts it again.</summary>
    public void RequestStop()
    {
        if (Interlocked.CompareExchange(ref _desired, WantIdle, WantArmed) == WantArmed)
        {
            _ = Engine.QueueMultishot(this);
        }
    }

    /// <summary>Asks the loop to cancel the request for good; <see cref="OnClosed"/> follows once the kernel is done with it.</summary>
    public void RequestClose()
    {
        if (Interlocked.Exchange(ref _desired, WantClosed) != WantClosed)
        {
            _ = Engine.QueueMultishot(this);
        }
    }

    /// <summary>Asks the loop to call <see cref="OnReconcile"/> (for example to resume work after back-pressure).</summary>
    /// <returns>False when the engine has stopped.</returns>
    public bool Poke() => Engine.QueueMultishot(this);

    /// <summary>Called on the loop to stop wanting the request, from inside a callback; a request in the kernel gets cancelled.</summary>
    protected void StopFromLoop()
    {
        if (Interlocked.CompareExchange(ref _desired, WantIdle, WantArmed) == WantArmed && InKernel)
        {
            _ = Engine.QueueMultishot(this);
        }
    }

    /// <summary>Called on the loop to want the request again, from inside a callback; the loop re-arms it after the callback.</summary>
    protected void ArmFromLoop() => Interlocked.CompareExchange(ref _desired, WantArmed, WantIdle);

    /// <summary>Fills the SQE for a new request (loop). The engine sets the user data afterwards.</summary>
    /// <param name="sqe">A zeroed SQE.</param>
    /// <returns>False to skip arming this time (the op stays unarmed until it is queued again).</returns>
    protected internal abstract bool PrepareSqe(ref Sqe sqe);

    /// <summary>One CQE of the request (loop). Without <see cref="CqeFlags.More"/> it is the last one of that request.</summary>
    /// <param name="res">The result.</param>
    /// <param name="flags">The CQE flags.</param>
    protected internal abstract void OnCqe(int res, CqeFlags flags);

    /// <summary>Called on the loop each time the op is taken from the request stack, before the engine reconciles it.</summary>
    protected internal virtual void OnReconcile()
    {
    }

    /// <summary>Closed and out of the kernel (loop): release what the op holds. Called once.</summary>
    protected internal abstract void OnClosed();

    /// <summary>
    /// The engine stopped (disposed or faulted) while the op was live: it will not run again, and <see cref="OnClosed"/>
    /// will not be called. Called once, on the loop thread while it shuts down (or on the caller's thread when the
    /// first request of the op reaches an engine that has stopped).
    /// </summary>
    /// <param name="stillInKernel">
    /// True when the kernel did not give the request back in time: memory it may write to must then never be freed
    /// or reused (the engine keeps the op reachable forever).
    /// </param>
    protected internal abstract void OnEngineStopped(bool stillInKernel);

    private int _stoppedNotified;

    /// <summary>Calls <see cref="OnEngineStopped"/> the first time only.</summary>
    internal void NotifyEngineStopped(bool stillInKernel)
    {
        if (Interlocked.Exchange(ref _stoppedNotified, 1) == 0)
        {
            OnEngineStopped(stillInKernel);
        }
    }
}
