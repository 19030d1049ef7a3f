using System.Runtime.InteropServices;
using IoUring.Interop;

namespace IoUring;

/// <summary>
/// One message a multishot <c>recvmsg</c> (<see cref="Sqe.PrepRecvMsgMultishot"/>) wrote into a provided buffer: the
/// kernel's <c>io_uring_recvmsg_out</c> header, then the source address, the control data and the payload, each part
/// sized by the <see cref="MsgHdr"/> given at submission (liburing <c>io_uring_recvmsg_validate</c>,
/// <c>io_uring_recvmsg_name</c>, <c>io_uring_recvmsg_cmsg_firsthdr</c>, <c>io_uring_recvmsg_payload</c>).
/// </summary>
public readonly ref struct ReceivedMessage
{
    private ReceivedMessage(ReadOnlySpan<byte> name, ReadOnlySpan<byte> control, ReadOnlySpan<byte> payload, RecvMsgOutHeader header)
    {
        Name = name;
        Control = control;
        Payload = payload;
        NameLength = (int)header.NameLen;
        PayloadLength = (int)header.PayloadLen;
        Flags = (int)header.Flags;
    }

    /// <summary>Size of the header the kernel writes first (<c>sizeof(struct io_uring_recvmsg_out)</c>).</summary>
    public static int HeaderSize => Marshal.SizeOf<RecvMsgOutHeader>();

    /// <summary>The source address (a <c>sockaddr</c>), cut to the room the <see cref="MsgHdr.NameLength"/> gave it.</summary>
    public ReadOnlySpan<byte> Name { get; }

    /// <summary>The address's full length as the kernel reported it (more than <see cref="Name"/> holds when it was cut).</summary>
    public int NameLength { get; }

    /// <summary>The control (ancillary) data the kernel wrote.</summary>
    public ReadOnlySpan<byte> Control { get; }

    /// <summary>The payload bytes in the buffer.</summary>
    public ReadOnlySpan<byte> Payload { get; }

    /// <summary>The payload's full length as the kernel reported it (more than <see cref="Payload"/> holds when the buffer was too small).</summary>
    public int PayloadLength { get; }

    /// <summary>The message's <c>MSG_*</c> flags, for example <c>MSG_TRUNC</c> (0x20).</summary>
    public int Flags { get; }

    /// <summary>
    /// Parses the <paramref name="received"/> bytes of one completion: the first <see cref="Cqe.Res"/> bytes of the buffer
    /// it names (<see cref="BufferRing.GetData"/>).
    /// </summary>
    /// <param name="received">The bytes the CQE delivered.</param>
    /// <param name="msg">The <see cref="MsgHdr"/> the request was prepared with (only its name and control lengths matter).</param>
    /// <param name="message">The message.</param>
    /// <returns>False when the bytes are too short to hold the header, name and control parts (the buffer was too small).</returns>
    public static bool TryParse(ReadOnlySpan<byte> received, in MsgHdr msg, out ReceivedMessage message)
    {
        message = default;
        ulong header = (ulong)HeaderSize;
        ulong nameRoom = msg.NameLength;
        ulong controlRoom = msg.ControlLength;
        ulong length = (ulong)received.Length;
        if (length < header || nameRoom > length - header || controlRoom > length - header - nameRoom)
        {
            return false;
        }

        RecvMsgOutHeader h = MemoryMarshal.Read<RecvMsgOutHeader>(received);
        int nameStart = (int)header;
        int controlStart = nameStart + (int)nameRoom;
        int payloadStart = controlStart + (int)controlRoom;
        ReadOnlySpan<byte> name = received.Slice(nameStart, (int)Math.Min(h.NameLen, nameRoom));
        ReadOnlySpan<byte> control = received.Slice(controlStart, (int)Math.Min(h.ControlLen, controlRoom));
        message = new ReceivedMessage(name, control, received[payloadStart..], h);
        return true;
    }
}
