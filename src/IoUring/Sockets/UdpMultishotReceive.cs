using System.Runtime.InteropServices;
using IoUring.Interop;

namespace IoUring;

/// <summary>
/// The kernel side of a <see cref="UringUdpReceiver"/>: a multishot <c>recvmsg</c> over a provided-buffer ring of its own
/// (<see cref="Sqe.PrepRecvMsgMultishot"/>, 6.0), armed while the receiver is wanted and buffers are free, re-armed when
/// the kernel ends it without <see cref="CqeFlags.More"/>, closed with <c>IORING_OP_ASYNC_CANCEL</c>. Every callback
/// runs on the engine's loop.
/// </summary>
internal sealed class UdpMultishotReceive : MultishotOperation
{
    /// <summary>The first buffer group id tried; the engine's own socket receive group (0x50C) is below the range.</summary>
    private const int FirstGroup = 0x5500;

    /// <summary>MSG_TRUNC: asked for at submission (report full lengths), and set in <c>io_uring_recvmsg_out.flags</c> for a cut datagram.</summary>
    private const int MsgTrunc = 0x20;

    private static readonly bool s_kernelHasMultishotRecvMsg = Probe.Current.IsSupported(Opcode.SendZc); // 6.0, like RECV_MULTISHOT

    /// <summary>The next buffer group id to try (shared by every engine: ids only have to differ within one ring).</summary>
    private static int s_nextGroup = FirstGroup;

    private readonly UringUdpReceiver _receiver;
    private readonly int _fd;
    private readonly UdpReceiverOptions _options;

    /// <summary>The <c>msghdr</c> the request reads its name and control room from; lives until the kernel lets go of the request.</summary>
    private readonly NativeMemoryBlock _message;

    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The socket's handle reference, held only while a request is in the kernel.</summary>
    private InKernelHandleRef _handleRef;

    /// <summary>A datagram came: an EINVAL after that is not "multishot unsupported".</summary>
    private bool _gotData;

    /// <summary>Diagnostics, written on the loop: datagrams, truncated ones, ENOBUFS endings, re-arms.</summary>
    internal long Received;
    internal long Truncated;
    internal long Shortages;
    internal long Rearms;

    public UdpMultishotReceive(UringUdpReceiver receiver, SafeHandle handle, UdpReceiverOptions options)
        : base(receiver.Socket.Engine)
    {
        _receiver = receiver;
        _handleRef = new InKernelHandleRef(handle);
        _fd = (int)handle.DangerousGetHandle();
        _options = options;
        _message = new NativeMemoryBlock(64, 64, typeof(UringUdpReceiver));
        ref MsgHdr msg = ref MemoryMarshal.AsRef<MsgHdr>(_message.GetSpan());
        msg.NameLength = (uint)receiver.NameRoom;
        msg.ControlLength = (nuint)options.ControlSize;
    }

    /// <summary>Completes once the kernel has let go of the request and the buffers are freed.</summary>
    public Task Closed => _closed.Task;

    protected internal override bool PrepareSqe(ref Sqe sqe)
    {
        BufferRing ring;
        lock (_receiver.Gate)
        {
            if (!s_kernelHasMultishotRecvMsg)
            {
                FailLocked(new PlatformNotSupportedException("A multishot recvmsg needs Linux 6.0+ (IORING_RECV_MULTISHOT)."));
                return false;
            }

            if (_receiver.Buffers is null && !CreateBuffersLocked())
            {
                return false;
            }

            ring = _receiver.Buffers!;
            if (_receiver.Outstanding == ring.Entries)
            {
                // Every buffer is queued or with the consumer: arming now would only end in ENOBUFS. The next buffer
                // handed back pokes the op, and the loop arms it then.
                _receiver.Starved = true;
                return false;
            }
        }

        if (!_handleRef.TryAcquire(out ObjectDisposedException? closed))
        {
            Fail(closed);
            return false;
        }

        // MSG_TRUNC: the header's payload length is the datagram's full length even when the buffer cut it (as recv(2) does).
        sqe.PrepRecvMsgMultishot(_fd, _message.Address, ring.GroupId, MsgTrunc);
        return true;
    }

    protected internal override void OnCqe(int res, CqeFlags flags)
    {
        bool final = (flags & CqeFlags.More) == 0;
        if (final)
        {
            // The request's last CQE: the kernel is done with the descriptor.
            ReleaseHandleRef();
            if (WantsArmed && res != -Errno.ECANCELED)
            {
                Rearms++;
            }
        }

        if ((flags & CqeFlags.Buffer) != 0)
        {
            OnBuffer(res, flags);
            return;
        }

        if (res >= 0)
        {
            return;
        }

        int errno = -res;
        switch (errno)
        {
            case Errno.ECANCELED or Errno.EINTR or Errno.EAGAIN:
                // Cancelled by close, or interrupted: the loop closes or re-arms as wanted.
                return;
            case Errno.ENOBUFS:
                // The ring ran dry: every buffer is queued or with the consumer. PrepareSqe arms again once one comes back.
                Shortages++;
                Engine.Counters.BufferShortages++;
                return;
            case Errno.EINVAL when !_gotData:
                Fail(new PlatformNotSupportedException("The kernel refused a multishot recvmsg (EINVAL): it needs Linux 6.0+."));
                return;
            case Errno.ECONNREFUSED or Errno.EHOSTUNREACH or Errno.ENETUNREACH or Errno.ECONNRESET or Errno.EMSGSIZE or Errno.ENOMEM:
                // A datagram socket's pending error (an ICMP message, a transient shortage): reported once, receiving goes on.
                Report(new UringSocketException(errno, "recvmsg"), final: false);
                return;
            default:
                Fail(new UringSocketException(errno, "recvmsg"));
                return;
        }
    }

    /// <summary>A CQE that used a buffer: queue its datagram, or give the buffer straight back when it holds none.</summary>
    private void OnBuffer(int res, CqeFlags flags)
    {
        bool wake;
        lock (_receiver.Gate)
        {
            BufferRing? ring = _receiver.Buffers;
            if (ring is null)
            {
                return;
            }

            var cqe = new Cqe(0, res, flags);
            ReadOnlySpan<byte> data = ring.GetData(cqe);
            MsgHdr msg = MemoryMarshal.AsRef<MsgHdr>(_message.GetSpan());
            if (res < 0 || !ReceivedMessage.TryParse(data, msg, out ReceivedMessage m))
            {
                // Not a message (the kernel only writes one that fits, so this is a defensive path): the buffer goes back.
                ring.Recycle(cqe.BufferId);
                return;
            }

            _gotData = true;
            Received++;
            if ((m.Flags & MsgTrunc) != 0)
            {
                Truncated++;
            }

            _receiver.Outstanding++;
            _receiver.QueueLocked(new UringUdpReceiver.QueuedDatagram(cqe.BufferId, m.Name.Length, m.Control.Length, m.Payload.Length, m.PayloadLength, m.Flags));
            wake = _receiver.TakeWaiterLocked();
        }

        if (wake)
        {
            _receiver.WakeWaiter();
        }
    }

    /// <summary>Registers the ring under a group id no other ring of the engine uses (gate held).</summary>
    private bool CreateBuffersLocked()
    {
        for (int attempt = 0; attempt < 64; attempt++)
        {
            int id = Interlocked.Increment(ref s_nextGroup);
            ushort group = (ushort)(FirstGroup + ((id - FirstGroup) & 0x3FFF));
            try
            {
                _receiver.Buffers = Engine.LoopRing.SetupBufferRing(group, (ushort)_options.BufferCount, _options.BufferSize);
                return true;
            }
            catch (IoUringException e) when (e.Errno == Errno.EEXIST)
            {
                // Another ring of this engine (a receiver, or the application's own) has the id: try the next.
            }
            catch (Exception e) when (e is IoUringException or OutOfMemoryException)
            {
                FailLocked(e);
                return false;
            }
        }

        FailLocked(new InvalidOperationException("No free provided-buffer group id in 64 attempts."));
        return false;
    }

    /// <summary>An error the receiver cannot get past: the consumer sees it, and the request is not armed again.</summary>
    private void Fail(Exception error)
    {
        lock (_receiver.Gate)
        {
            FailLocked(error);
        }
    }

    private void FailLocked(Exception error)
    {
        _receiver.FailLocked(error, final: true);
        StopFromLoop();
        if (_receiver.TakeWaiterLocked())
        {
            // Completing only queues the continuation to the thread pool: safe under the gate.
            _receiver.WakeWaiter();
        }
    }

    private void Report(Exception error, bool final)
    {
        bool wake;
        lock (_receiver.Gate)
        {
            _receiver.FailLocked(error, final);
            wake = _receiver.TakeWaiterLocked();
        }

        if (wake)
        {
            _receiver.WakeWaiter();
        }
    }

    protected internal override void OnClosed() => Release(kernelDone: true);

    protected internal override void OnEngineStopped(bool stillInKernel) => Release(kernelDone: !stillInKernel);

    /// <summary>Frees the buffers and the msghdr once the kernel is done with them (otherwise the engine keeps this op, and the ring its buffers, forever).</summary>
    private void Release(bool kernelDone)
    {
        bool wake;
        lock (_receiver.Gate)
        {
            _receiver.EndLocked();
            if (kernelDone)
            {
                // Unregistered now; the memory goes once the consumer's lease (if any) lets go of it.
                _receiver.Buffers?.DisposeOutOfKernel();
            }

            _receiver.Buffers = null;
            wake = _receiver.TakeWaiterLocked();
        }

        if (kernelDone)
        {
            _message.Free();
        }

        ReleaseHandleRef();
        if (wake)
        {
            _receiver.WakeWaiter();
        }

        _closed.TrySetResult();
    }

    private void ReleaseHandleRef() => _handleRef.Release();
}
