using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using IoUring.Interop;

namespace IoUring;

/// <summary>
/// The accept side of a listening <see cref="UringSocket"/>: one multishot accept (5.19+) or a re-armed single-shot
/// accept, whose new descriptors the loop queues for <see cref="UringSocket.AcceptAsync(CancellationToken)"/>. It
/// stops accepting while <see cref="UringSocketOptions.MaxQueuedAccepts"/> connections wait to be taken.
/// </summary>
internal sealed class AcceptOperation : MultishotOperation
{
    private static readonly bool s_kernelHasMultishotAccept = Probe.Current.IsSupported(Opcode.Socket); // 5.19, like multishot accept

    private readonly SafeHandle _handle;
    private readonly int _fd;
    private readonly int _maxQueued;
    private readonly Channel<int> _accepted = Channel.CreateUnbounded<int>(new UnboundedChannelOptions { SingleWriter = true });
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _multishot;

    /// <summary>The reference on the listener's handle, held from construction until <see cref="Release"/>.</summary>
    private InKernelHandleRef _handleRef;

    private bool _acceptedAny;
    private int _queued;

    /// <summary>
    /// Milliseconds to wait before accepting again after running out of descriptors or memory (0: none). Doubles
    /// from <see cref="FirstBackoffMs"/> to <see cref="MaxBackoffMs"/> while the errors go on; a success resets it.
    /// Without it a caller that retries <c>AcceptAsync</c> after <c>EMFILE</c> would spin: the connection stays in
    /// the backlog, so the listener stays readable and every new accept fails at once.
    /// </summary>
    private int _backoffMs;

    public AcceptOperation(IoUringEngine engine, SafeHandle handle, UringSocketOptions options)
        : base(engine)
    {
        _handleRef = new InKernelHandleRef(handle);
        if (!_handleRef.TryAcquire(out ObjectDisposedException? closed))
        {
            ExceptionDispatchInfo.Throw(closed);
        }

        _handle = handle;
        _fd = (int)handle.DangerousGetHandle();
        _maxQueued = options.MaxQueuedAccepts;
        _multishot = options.UseMultishotAccept && s_kernelHasMultishotAccept;
    }

    /// <summary>The first pause after a resource error.</summary>
    internal const int FirstBackoffMs = 10;

    /// <summary>The longest pause: accepting resumes at most this long after descriptors are freed.</summary>
    internal const int MaxBackoffMs = 250;

    public bool IsMultishot => _multishot;

    public Task Closed => _closed.Task;

    /// <summary>Takes the next accepted descriptor (or an accept error, as a negative errno).</summary>
    public async ValueTask<int> TakeAsync(CancellationToken cancellationToken)
    {
        int fd = await _accepted.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        if (Interlocked.Decrement(ref _queued) <= _maxQueued / 2 && !WantsArmed && !IsClosing)
        {
            // Paused at the limit or after an error: accept again (after a pause if the error was a lack of resources).
            int backoff = Volatile.Read(ref _backoffMs);
            if (backoff > 0)
            {
                _ = ArmAfterAsync(backoff);
            }
            else
            {
                _ = RequestArm();
            }
        }

        return fd;
    }

    private async Task ArmAfterAsync(int milliseconds)
    {
        await Task.Delay(milliseconds).ConfigureAwait(false);
        if (!IsClosing)
        {
            _ = RequestArm();
        }
    }

    protected internal override bool PrepareSqe(ref Sqe sqe)
    {
        if (Volatile.Read(ref _queued) >= _maxQueued)
        {
            StopFromLoop();
            return false;
        }

        if (_multishot)
        {
            sqe.PrepMultishotAccept(_fd, IoUringEngine.SockCloexec);
        }
        else
        {
            sqe.PrepAccept(_fd, 0, 0, IoUringEngine.SockCloexec);
        }

        return true;
    }

    protected internal override void OnCqe(int res, CqeFlags flags)
    {
        if (res >= 0)
        {
            _acceptedAny = true;
            Engine.Counters.ConnectionsAccepted++;
            Volatile.Write(ref _backoffMs, 0);
            if (IsClosing)
            {
                _ = Libc.Close(res);
                return;
            }

            // Stop (at the limit) before publishing: a taker that then drains the queue sees the stop and re-arms.
            // Stopping after publishing could lose that re-arm, and accepting would never resume.
            if (Interlocked.Increment(ref _queued) >= _maxQueued)
            {
                StopFromLoop();
            }

            if (!_accepted.Writer.TryWrite(res))
            {
                // The queue was closed meanwhile (the listener or its engine is going away): nobody will take it.
                _ = Libc.Close(res);
            }

            return;
        }

        int errno = -res;
        switch (errno)
        {
            case Errno.ECANCELED:
                return;
            case Errno.EINVAL when _multishot && !_acceptedAny:
                // A kernel without multishot accept: accept one connection per request instead.
                _multishot = false;
                IoUringEventSource.Log.AcceptFallback(Engine.Id, errno);
                return;
            case Errno.ECONNABORTED or Errno.EINTR or Errno.EAGAIN:
                // A connection reset while it waited in the backlog: not the listener's problem.
                return;
        }

        // Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) or a broken listener: the next AcceptAsync
        // reports it, like Socket.AcceptAsync would, and accepting stops until then (and, for a lack of resources,
        // for a backoff after that, so that a caller retrying at once does not spin).
        if (errno is Errno.EMFILE or Errno.ENFILE or Errno.ENOBUFS or Errno.ENOMEM)
        {
            int backoff = Volatile.Read(ref _backoffMs);
            Volatile.Write(ref _backoffMs, backoff == 0 ? FirstBackoffMs : Math.Min(backoff * 2, MaxBackoffMs));
        }

        // Stop before publishing, as above, so that the taker's re-arm cannot be lost.
        StopFromLoop();
        Interlocked.Increment(ref _queued);
        _ = _accepted.Writer.TryWrite(-errno);
    }

    protected internal override void OnClosed()
    {
        _ = _accepted.Writer.TryComplete(new ObjectDisposedException(nameof(UringSocket)));
        CloseQueued();
        Release();
    }

    protected internal override void OnEngineStopped(bool stillInKernel)
    {
        _ = _accepted.Writer.TryComplete(new ObjectDisposedException(nameof(IoUringEngine), "The io_uring engine of the listener was disposed."));
        CloseQueued();
        Release();
    }

    /// <summary>Closes connections accepted but never taken.</summary>
    private void CloseQueued()
    {
        while (_accepted.Reader.TryRead(out int fd))
        {
            if (fd >= 0)
            {
                _ = Libc.Close(fd);
            }
        }
    }

    private void Release()
    {
        // Also when the kernel still holds the request (the engine stopped first): the request holds the kernel's own
        // reference on the file, and an adopted Socket's Dispose spins until every reference on the handle is released.
        _handleRef.Release();
        _closed.TrySetResult();
    }
}
