using System.Buffers;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;
using IoUring.Interop;

namespace IoUring;

/// <summary>
/// Zero-copy sends (<c>IORING_OP_SEND_ZC</c>, 6.0) of one connection, one at a time. A send posts a result CQE with
/// <see cref="CqeFlags.More"/> and later a <see cref="CqeFlags.Notif"/> CQE when the kernel no longer reads the
/// pages: the buffer stays pinned, and the send incomplete, until that notification (the request's last CQE).
/// </summary>
internal sealed class ZeroCopySender : MultishotOperation, IValueTaskSource<long>
{
    public static readonly bool IsSupported = Probe.Current.IsSupported(Opcode.SendZc);

    private readonly SafeHandle _handle;
    private ManualResetValueTaskSourceCore<long> _core;
    private MemoryHandle _pin;
    private bool _pinned;

    /// <summary>The reference on the socket's handle, held while a send is in the kernel (a short send's rest takes it again).</summary>
    private InKernelHandleRef _handleRef;
    private nint _address;
    private int _length;
    private int _sent;
    private int _errno;
    private long _count;
    private int _stopClaimed;

    /// <summary>The result <see cref="Publish"/> hands to the awaiter: bytes sent, -errno, or <see cref="long.MinValue"/> when the engine stopped.</summary>
    private long _result;

    public ZeroCopySender(IoUringEngine engine, SafeHandle handle)
        : base(engine)
    {
        _handle = handle;
        _handleRef = new InKernelHandleRef(handle);
        // The result is published with the engine's completions (ScheduleWithCompletions), never in the middle of the
        // ring work that reaped the notification: the awaiter's continuation runs where continuations run.
        _core.RunContinuationsAsynchronously = false;
    }

    /// <summary>Sends that were made zero-copy.</summary>
    public long Count => Interlocked.Read(ref _count);

    /// <summary>Sends all of <paramref name="data"/>; completes (with the byte count) after the kernel's notification.</summary>
    public ValueTask<long> SendAsync(ReadOnlyMemory<byte> data)
    {
        _core.Reset();
        _pin = data.Pin();
        _pinned = true;
        _address = Addresses.Of(_pin);
        _length = data.Length;
        _sent = 0;
        _errno = 0;
        if (!_handleRef.TryAcquire(out ObjectDisposedException? closed))
        {
            Unpin();
            ExceptionDispatchInfo.Throw(closed);
        }

        short version = _core.Version;
        Volatile.Write(ref _stopClaimed, 0);
        if (!RequestArm())
        {
            // The engine has stopped. It tells an op only once, and this one was told already (or is being told now,
            // racing this call): fail the send here, or the caller would wait forever.
            FailStopped(stillInKernel: false);
        }

        return new ValueTask<long>(this, version);
    }

    protected internal override bool PrepareSqe(ref Sqe sqe)
    {
        if (!_pinned)
        {
            StopFromLoop();
            return false;
        }

        // Held already for the first request of a send; the rest of a short send takes it again (its earlier result
        // CQE let go of it).
        if (!_handleRef.TryAcquire(out _))
        {
            StopFromLoop();
            Finish(-Errno.EBADF);
            return false;
        }

        sqe.PrepSendZc((int)_handle.DangerousGetHandle(), _address + _sent, (uint)(_length - _sent), IoUringEngine.MsgWaitAll | IoUringEngine.MsgNoSignal);
        return true;
    }

    protected internal override void OnCqe(int res, CqeFlags flags)
    {
        if ((flags & CqeFlags.Notif) == 0)
        {
            // The result CQE.
            if (res > 0)
            {
                _sent += res;
                Engine.Counters.ZeroCopyBytesSent += res;
            }
            else if (res == 0)
            {
                // No progress on the unsent rest: an error rather than the same request again, forever.
                _errno = Errno.EIO;
            }
            else if (res != -Errno.EINTR && res != -Errno.EAGAIN)
            {
                _errno = -res;
            }

            // The kernel holds its own reference on the file from here on; the pages stay pinned until the
            // notification, but the descriptor may close now (over loopback the notification can wait until the peer
            // reads, and an adopted Socket's Dispose spins until every handle reference is released).
            ReleaseHandleRef();
        }

        if ((flags & CqeFlags.More) != 0)
        {
            // The notification follows: the kernel may still read the pages.
            return;
        }

        if (_errno == 0 && _sent < _length)
        {
            // Short (interrupted) send: the rest goes out as a new request (the op is still wanted).
            return;
        }

        StopFromLoop();
        Finish(_errno == 0 ? _sent : -_errno);
    }

    private void Finish(long result)
    {
        Unpin();
        ReleaseHandleRef();
        _result = result;
        Engine.ScheduleWithCompletions(static state => ((ZeroCopySender)state!).Publish(), this);
    }

    private void Publish()
    {
        if (_result == long.MinValue)
        {
            _core.SetException(new ObjectDisposedException(nameof(IoUringEngine), "The io_uring engine was disposed while a send was pending."));
        }
        else if (_result >= 0)
        {
            Interlocked.Increment(ref _count);
            _core.SetResult(_result);
        }
        else
        {
            _core.SetException(new UringSocketException((int)-_result, "send_zc"));
        }
    }

    private void ReleaseHandleRef() => _handleRef.Release();

    private void Unpin()
    {
        if (_pinned)
        {
            _pinned = false;
            _pin.Dispose();
            _pin = default;
        }
    }

    /// <summary>Lets go of the op (the connection is closing; no send is pending).</summary>
    public void Close() => RequestClose();

    protected internal override void OnClosed()
    {
    }

    protected internal override void OnEngineStopped(bool stillInKernel)
    {
        if (!_pinned)
        {
            return;
        }

        FailStopped(stillInKernel);
    }

    /// <summary>Fails the pending send with <see cref="ObjectDisposedException"/>; once per send (the loop and <see cref="SendAsync"/> may both try).</summary>
    private void FailStopped(bool stillInKernel)
    {
        if (Interlocked.Exchange(ref _stopClaimed, 1) != 0)
        {
            return;
        }

        if (stillInKernel)
        {
            // The kernel may still read the pages: they stay pinned for good (the engine keeps this op reachable).
            _pinned = false;
        }

        Unpin();
        ReleaseHandleRef();
        _result = long.MinValue;
        Engine.ScheduleWithCompletions(static state => ((ZeroCopySender)state!).Publish(), this);
    }

    long IValueTaskSource<long>.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<long>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<long>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
