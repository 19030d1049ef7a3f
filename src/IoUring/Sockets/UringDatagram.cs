using System.Net;

namespace IoUring;

/// <summary>
/// One datagram a <see cref="UringUdpReceiver"/> received: its bytes in the receiver's provided buffer (no copy), the sender,
/// and what the kernel reported about truncation.
/// </summary>
/// <remarks>
/// <see cref="Payload"/> and <see cref="Control"/> point into a buffer the kernel fills again once it is handed back: they are
/// valid until the next <see cref="UringUdpReceiver.TryReceive"/>, <see cref="UringUdpReceiver.ReceiveAsync"/> or
/// <see cref="UringUdpReceiver.WaitToReceiveAsync"/> call, the next step of <see cref="UringUdpReceiver.ReadAllAsync"/>, or
/// <see cref="UringUdpReceiver.Dispose"/>. Copy what you keep longer (<c>Payload.ToArray()</c>).
/// </remarks>
public readonly struct UringDatagram
{
    /// <summary>MSG_TRUNC: the payload was longer than the buffer.</summary>
    private const int MsgTrunc = 0x20;

    /// <summary>MSG_CTRUNC: the ancillary data was longer than its room.</summary>
    private const int MsgCtrunc = 0x08;

    internal UringDatagram(ReadOnlyMemory<byte> payload, ReadOnlyMemory<byte> control, IPEndPoint remoteEndPoint, int length, int flags)
    {
        Payload = payload;
        Control = control;
        RemoteEndPoint = remoteEndPoint;
        Length = length;
        MessageFlags = flags;
    }

    /// <summary>The datagram's bytes (only the first <c>Payload.Length</c> of <see cref="Length"/> when it was truncated).</summary>
    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>The sender. Repeated senders share one instance (the receiver keeps the recent ones), so this allocates only for a new sender.</summary>
    public IPEndPoint RemoteEndPoint { get; }

    /// <summary>The datagram's full length as sent; more than <c>Payload.Length</c> when <see cref="IsTruncated"/>.</summary>
    public int Length { get; }

    /// <summary>True when the datagram did not fit in the buffer and was cut (<c>MSG_TRUNC</c>): raise <see cref="UdpReceiverOptions.BufferSize"/>.</summary>
    public bool IsTruncated => (MessageFlags & MsgTrunc) != 0;

    /// <summary>The ancillary data (<c>cmsghdr</c>s), empty unless <see cref="UdpReceiverOptions.ControlSize"/> gave it room and a socket option produced some.</summary>
    public ReadOnlyMemory<byte> Control { get; }

    /// <summary>True when the ancillary data did not fit in <see cref="UdpReceiverOptions.ControlSize"/> (<c>MSG_CTRUNC</c>).</summary>
    public bool IsControlTruncated => (MessageFlags & MsgCtrunc) != 0;

    /// <summary>The message's <c>MSG_*</c> flags as the kernel reported them (<c>io_uring_recvmsg_out.flags</c>).</summary>
    public int MessageFlags { get; }
}
