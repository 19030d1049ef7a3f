using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.InteropServices;
using IoUring.Interop;

namespace IoUring;

/// <summary>The engine's shared provided-buffer ring for socket receives (created and used on the loop thread only).</summary>
internal static class SocketReceiveBuffers
{
    /// <summary>The buffer group id the engine uses for socket receives.</summary>
    public const ushort GroupId = 0x50C;

    /// <summary>The engine's ring of receive buffers, created on first use; null when the kernel cannot provide one.</summary>
    public static BufferRing? Get(IoUringEngine engine, UringConnectionOptions options)
    {
        if (engine.SocketReceiveRing is not null || engine.SocketReceiveRingUnavailable)
        {
            return engine.SocketReceiveRing;
        }

        try
        {
            return engine.SocketReceiveRing = engine.LoopRing.SetupBufferRing(GroupId, (ushort)options.ReceiveBufferCount, options.ReceiveBufferSize);
        }
        catch (Exception e) when (e is IoUringException or OutOfMemoryException)
        {
            // Before 5.19, or no locked (or native) memory for it: every connection receives into a buffer of its own.
            engine.SocketReceiveRingUnavailable = true;
            return null;
        }
    }
}

/// <summary>
/// The receive side of a <see cref="UringConnection"/>: a multishot receive into the engine's buffer ring (or a
/// re-armed single-shot receive) whose data the loop copies into the input pipe. When the pipe's reader falls
/// behind (its unconsumed bytes reach the pause threshold), the flush does not complete: the receive is cancelled
/// and re-armed once the reader has consumed enough.
/// </summary>
internal sealed class ReceiveOperation : MultishotOperation
{
    private enum Mode : byte
    {
        MultishotRing,
        SingleRing,
        SingleOwnBuffer,
    }

    private static readonly bool s_kernelHasBufferRing = Probe.Current.IsSupported(Opcode.Socket); // 5.19, like PBUF_RING
    private static readonly bool s_kernelHasMultishotRecv = Probe.Current.IsSupported(Opcode.SendZc); // 6.0, like RECV_MULTISHOT

    private readonly int _fd;
    private readonly PipeWriter _writer;
    private readonly UringConnectionOptions _options;
    private readonly Action _onFlushCompleted;
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Mode _mode;
    private NativeBuffer? _ownBuffer;
    private BufferRing? _ring;
    /// <summary>The socket's handle reference, held only while a request is in the kernel.</summary>
    private InKernelHandleRef _handleRef;

    // Loop state.
    private ValueTask<FlushResult> _pendingFlush;
    private bool _flushPending;
    private bool _unflushed;
    private bool _writerCompleted;
    private bool _done;
    private bool _gotData;
    private Exception? _endError;
    private bool _endOfStream;

    /// <summary>Told once when receiving has ended (the writer completed), or null.</summary>
    private readonly Action? _onEnded;

    /// <param name="engine">The engine.</param>
    /// <param name="handle">The socket.</param>
    /// <param name="writer">The input pipe's writer.</param>
    /// <param name="options">The connection's options.</param>
    /// <param name="onEnded">Called (on the loop thread) once, when the writer is completed: receiving has ended.</param>
    public ReceiveOperation(IoUringEngine engine, SafeHandle handle, PipeWriter writer, UringConnectionOptions options, Action? onEnded = null)
        : base(engine)
    {
        _writer = writer;
        _onEnded = onEnded;
        _options = options;
        _onFlushCompleted = () => Poke();
        _handleRef = new InKernelHandleRef(handle);
        _fd = (int)handle.DangerousGetHandle();
        _mode = !options.UseBufferRing || !s_kernelHasBufferRing ? Mode.SingleOwnBuffer
            : options.UseMultishotReceive && s_kernelHasMultishotRecv ? Mode.MultishotRing
            : Mode.SingleRing;
    }

    /// <summary>Completes when the operation has let go of the socket (closed, or the engine stopped).</summary>
    public Task Closed => _closed.Task;

    /// <summary>Bytes received so far (diagnostics; written on the loop).</summary>
    public long BytesReceived { get; private set; }

    /// <summary>Times the receive was paused by back-pressure (diagnostics).</summary>
    public int Pauses { get; private set; }

    /// <summary>Times the kernel ended a multishot receive early because the buffer ring ran dry (ENOBUFS) and it was re-armed.</summary>
    public int BufferShortages { get; private set; }

    /// <summary>Whether receives use multishot requests (changes to false if the kernel refuses them).</summary>
    public bool IsMultishot => _mode == Mode.MultishotRing;

    /// <summary>Whether receives use the engine's provided-buffer ring.</summary>
    public bool UsesBufferRing => _mode != Mode.SingleOwnBuffer;

    protected internal override bool PrepareSqe(ref Sqe sqe)
    {
        if (_done || _flushPending)
        {
            return false;
        }

        // A handle reference only while a request is in the kernel (taken here, let go at its last CQE): a paused or
        // ended receive holds none, so closing the socket (an adopted Socket's Dispose waits for every reference)
        // never waits for the connection to be disposed.
        if (!_handleRef.TryAcquire(out ObjectDisposedException? closed))
        {
            _endError = closed;
            End();
            return false;
        }

        if (_mode != Mode.SingleOwnBuffer && _ring is null)
        {
            _ring = SocketReceiveBuffers.Get(Engine, _options);
            if (_ring is null)
            {
                _mode = Mode.SingleOwnBuffer;
            }
        }

        switch (_mode)
        {
            case Mode.MultishotRing:
                sqe.PrepRecvMultishot(_fd, SocketReceiveBuffers.GroupId);
                break;
            case Mode.SingleRing:
                sqe.PrepRecv(_fd, 0, 0);
                sqe.Flags |= SqeFlags.BufferSelect;
                sqe.BufGroup = SocketReceiveBuffers.GroupId;
                break;
            default:
                _ownBuffer ??= new NativeBuffer(_options.ReceiveBufferSize);
                sqe.PrepRecv(_fd, _ownBuffer.Address, (uint)_ownBuffer.Length);
                break;
        }

        return true;
    }

    protected internal override void OnCqe(int res, CqeFlags flags)
    {
        if ((flags & CqeFlags.More) == 0)
        {
            // The request's last CQE: the kernel is done with the descriptor.
            ReleaseHandleRef();
        }

        if ((flags & CqeFlags.Buffer) != 0)
        {
            var cqe = new Cqe(0, res, flags);
            if (res > 0)
            {
                Deliver(_ring!.GetData(cqe));
            }
            else
            {
                _ring!.MarkConsumed(cqe);
            }

            _ring.Recycle(cqe.BufferId);
        }
        else if (res > 0)
        {
            Deliver(_ownBuffer!.Span[..res]);
        }

        if (res > 0)
        {
            return;
        }

        if (res == 0)
        {
            // End of stream: the peer shut down its side (or the socket was shut down here).
            _endOfStream = true;
            End();
            return;
        }

        int errno = -res;
        switch (errno)
        {
            case Errno.ECANCELED:
                // Cancelled by back-pressure or close: the loop re-arms or closes as wanted.
                return;
            case Errno.ENOBUFS:
                // The buffer ring ran dry (the kernel ends the multishot); buffers are recycled as soon as their CQE is
                // read, so simply re-arm (the op is still wanted).
                BufferShortages++;
                Engine.Counters.BufferShortages++;
                return;
            case Errno.EINVAL when _mode == Mode.MultishotRing && !_gotData:
                // A kernel that refuses multishot receive: fall back to a re-armed single-shot receive.
                _mode = Mode.SingleRing;
                IoUringEventSource.Log.ReceiveFallback(Engine.Id, errno);
                return;
            case Errno.EINTR or Errno.EAGAIN:
                return;
        }

        _endError = SocketErrors.ForTransport(errno, reading: true);
        End();
    }

    private void Deliver(ReadOnlySpan<byte> data)
    {
        _gotData = true;
        BytesReceived += data.Length;
        Engine.Counters.MultishotBytesReceived += data.Length;
        if (_writerCompleted || _done)
        {
            return;
        }

        _writer.Write(data);
        _unflushed = true;
        if (!_flushPending)
        {
            Flush();
        }
    }

    private void Flush()
    {
        _unflushed = false;
        ValueTask<FlushResult> flush;
        try
        {
            flush = _writer.FlushAsync();
            if (flush.IsCompleted)
            {
                if (flush.Result.IsCompleted)
                {
                    ReaderGone();
                }

                return;
            }
        }
        catch (Exception)
        {
            // The reader completed the input with an exception: the pipe hands it to the writer. It is the reader's own
            // error, so receiving just stops (thrown here, on the loop, it would end the process).
            ReaderGone();
            return;
        }

        // The reader is behind: stop receiving until it catches up (the kernel holds further data, TCP tells the peer).
        _flushPending = true;
        _pendingFlush = flush;
        Pauses++;
        StopFromLoop();
        flush.GetAwaiter().UnsafeOnCompleted(_onFlushCompleted);
    }

    protected internal override void OnReconcile()
    {
        if (!_flushPending || !_pendingFlush.IsCompleted)
        {
            return;
        }

        _flushPending = false;
        FlushResult result;
        try
        {
            result = _pendingFlush.GetAwaiter().GetResult();
        }
        catch (Exception)
        {
            result = new FlushResult(isCanceled: false, isCompleted: true);
        }

        _pendingFlush = default;
        if (result.IsCompleted)
        {
            ReaderGone();
            return;
        }

        if (_unflushed)
        {
            Flush();
            if (_flushPending)
            {
                return;
            }
        }

        if (_endOfStream || _endError is not null)
        {
            CompleteWriter(_endError);
            return;
        }

        if (!_done)
        {
            ArmFromLoop();
        }
    }

    /// <summary>End of stream or a receive error: no more receives; the writer completes once its data is flushed.</summary>
    private void End()
    {
        _done = true;
        StopFromLoop();
        if (!_flushPending)
        {
            CompleteWriter(_endError);
        }
    }

    /// <summary>The application completed the input reader: nothing more to receive into.</summary>
    private void ReaderGone()
    {
        _done = true;
        StopFromLoop();
        CompleteWriter(null);
    }

    private void CompleteWriter(Exception? error)
    {
        if (_writerCompleted)
        {
            return;
        }

        _writerCompleted = true;
        _writer.Complete(error);
        _onEnded?.Invoke();
    }

    protected internal override void OnClosed()
    {
        CompleteWriter(null);
        Release(kernelDone: true);
    }

    protected internal override void OnEngineStopped(bool stillInKernel)
    {
        if (!_writerCompleted)
        {
            _writerCompleted = true;
            _writer.Complete(new ObjectDisposedException(nameof(IoUringEngine), "The io_uring engine of the connection was disposed."));
            _onEnded?.Invoke();
        }

        Release(kernelDone: !stillInKernel);
    }

    private void Release(bool kernelDone)
    {
        if (kernelDone)
        {
            // The kernel may still write into its own buffer otherwise: that buffer stays (the engine keeps the op).
            _ownBuffer?.Dispose();
        }

        // Either way the handle reference goes: a submitted request holds the kernel's own reference on the file, so
        // the descriptor may close (an adopted Socket's Dispose spins until every reference is released).
        ReleaseHandleRef();
        _closed.TrySetResult();
    }

    private void ReleaseHandleRef() => _handleRef.Release();
}
