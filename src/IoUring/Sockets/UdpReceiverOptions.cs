namespace IoUring;

/// <summary>
/// How <see cref="UringUdpSocket.StartReceiving"/> sizes the receiver's provided-buffer ring: how many datagrams can wait
/// for the consumer, and how large each one may be.
/// </summary>
public sealed class UdpReceiverOptions
{
    /// <summary>The defaults: 256 buffers of 2,048 bytes (a 1,500-byte MTU datagram fits whole).</summary>
    public static UdpReceiverOptions Default { get; } = new();

    /// <summary>
    /// Bytes per buffer: each holds one datagram, after the kernel's 16-byte <c>io_uring_recvmsg_out</c> header, the
    /// sender's address (16 bytes for IPv4, 28 for IPv6) and <see cref="ControlSize"/>. A longer datagram is truncated to
    /// what is left (<see cref="UringDatagram.IsTruncated"/>). Default 2,048; at most 1 MiB.
    /// </summary>
    public int BufferSize { get; init; } = 2048;

    /// <summary>
    /// Number of buffers: a power of two from 1 to 32,768 (default 256). It bounds how many datagrams wait for a slow
    /// consumer; past it the kernel stops receiving (<c>ENOBUFS</c>) and datagrams queue in the socket's own receive
    /// buffer (<c>SO_RCVBUF</c>) until the consumer frees one.
    /// </summary>
    public int BufferCount { get; init; } = 256;

    /// <summary>
    /// Room in each buffer for ancillary data (<c>msg_control</c>), 0 (the default) for none: enable an option such as
    /// <c>IP_PKTINFO</c> or <c>SO_TIMESTAMPNS</c> on the socket and read the <c>cmsghdr</c>s from
    /// <see cref="UringDatagram.Control"/>. A multiple of 8, at most 4,096.
    /// </summary>
    public int ControlSize { get; init; }

    /// <summary>Throws when an option is out of range for a socket whose sender addresses take <paramref name="nameRoom"/> bytes.</summary>
    internal void Validate(int nameRoom)
    {
        if (BufferCount < 1 || BufferCount > 32768 || (BufferCount & (BufferCount - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(BufferCount), BufferCount, "The buffer count must be a power of two from 1 to 32768.");
        }

        if (ControlSize < 0 || ControlSize > 4096 || ControlSize % 8 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ControlSize), ControlSize, "The control size must be a multiple of 8 from 0 to 4096.");
        }

        int overhead = ReceivedMessage.HeaderSize + nameRoom + ControlSize;
        if (BufferSize <= overhead || BufferSize > 1 << 20)
        {
            throw new ArgumentOutOfRangeException(
                nameof(BufferSize), BufferSize, $"Each buffer needs more than {overhead} bytes (header, sender address and control room) and at most 1 MiB.");
        }

        if ((long)BufferSize * BufferCount > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(BufferSize), BufferSize, $"{BufferCount} buffers of {BufferSize} bytes exceed 2 GiB.");
        }
    }
}
