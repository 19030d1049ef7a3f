namespace IoUring;

// Preps for sockets. Socket addresses are read at submission (connect, bind) or written before the CQE (accept).
public partial struct Sqe
{
    /// <summary><c>accept4(fd, addr, addrlen, flags)</c>; the CQE result is the connection's fd. (liburing <c>io_uring_prep_accept</c>; Linux 5.5.)</summary>
    /// <param name="fd">Listening socket.</param>
    /// <param name="address">Address of a sockaddr buffer to fill, or 0.</param>
    /// <param name="addressLength">Address of a socklen_t holding the buffer size, or 0.</param>
    /// <param name="flags"><c>SOCK_NONBLOCK</c>/<c>SOCK_CLOEXEC</c>.</param>
    public void PrepAccept(int fd, nint address, nint addressLength, int flags)
    {
        PrepRw(Opcode.Accept, fd, (ulong)address, 0, (ulong)addressLength);
        AcceptFlags = (uint)flags;
    }

    /// <summary>Multishot accept (5.19): one CQE with <see cref="CqeFlags.More"/> per connection. (liburing <c>io_uring_prep_multishot_accept</c>.)</summary>
    /// <param name="fd">Listening socket.</param>
    /// <param name="flags"><c>SOCK_*</c> flags.</param>
    public void PrepMultishotAccept(int fd, int flags)
    {
        PrepAccept(fd, 0, 0, flags);
        IoPrio |= (ushort)IoUring.AcceptFlags.Multishot;
    }

    /// <summary>
    /// Accept into direct-descriptor slot <paramref name="fileIndex"/> (or <see cref="SqeConstants.FileIndexAlloc"/>) of the
    /// registered file table, instead of a normal fd. The CQE result is 0 for a given slot, or the slot picked with
    /// <see cref="SqeConstants.FileIndexAlloc"/>. Use the slot with <see cref="SqeFlags.FixedFile"/>.
    /// (liburing <c>io_uring_prep_accept_direct</c>; Linux 5.15.)
    /// </summary>
    /// <param name="fd">Listening socket.</param>
    /// <param name="flags"><c>SOCK_NONBLOCK</c>; <c>SOCK_CLOEXEC</c> is refused with <c>-EINVAL</c> (a direct descriptor has no fd).</param>
    /// <param name="fileIndex">Registered-file slot or <see cref="SqeConstants.FileIndexAlloc"/>.</param>
    public void PrepAcceptDirect(int fd, int flags, uint fileIndex)
    {
        PrepAccept(fd, 0, 0, flags);
        FileIndex = fileIndex == SqeConstants.FileIndexAlloc ? fileIndex : fileIndex + 1;
    }

    /// <summary>
    /// Multishot accept into direct descriptors (5.19): each connection lands in a free slot of the registered file
    /// table, whose index is the CQE result (<see cref="CqeFlags.More"/> set while the request stays armed).
    /// (liburing <c>io_uring_prep_multishot_accept_direct</c>.)
    /// </summary>
    /// <param name="fd">Listening socket.</param>
    /// <param name="flags"><c>SOCK_NONBLOCK</c> or 0 (<c>SOCK_CLOEXEC</c> is refused).</param>
    public void PrepMultishotAcceptDirect(int fd, int flags)
    {
        PrepAcceptDirect(fd, flags, SqeConstants.FileIndexAlloc);
        IoPrio |= (ushort)IoUring.AcceptFlags.Multishot;
    }

    /// <summary><c>connect(fd, addr, addrlen)</c>. (liburing <c>io_uring_prep_connect</c>; Linux 5.5.)</summary>
    /// <param name="fd">Socket.</param>
    /// <param name="address">Address of the sockaddr, valid until the CQE.</param>
    /// <param name="addressLength">Its length.</param>
    public void PrepConnect(int fd, nint address, uint addressLength) =>
        PrepRw(Opcode.Connect, fd, (ulong)address, 0, addressLength);

    /// <summary><c>bind(fd, addr, addrlen)</c> (6.11). (liburing <c>io_uring_prep_bind</c>.)</summary>
    /// <param name="fd">Socket.</param>
    /// <param name="address">Address of the sockaddr.</param>
    /// <param name="addressLength">Its length.</param>
    public void PrepBind(int fd, nint address, uint addressLength) =>
        PrepRw(Opcode.Bind, fd, (ulong)address, 0, addressLength);

    /// <summary><c>listen(fd, backlog)</c> (6.11). (liburing <c>io_uring_prep_listen</c>.)</summary>
    /// <param name="fd">Socket.</param>
    /// <param name="backlog">Backlog.</param>
    public void PrepListen(int fd, int backlog) => PrepRw(Opcode.Listen, fd, 0, (uint)backlog, 0);

    /// <summary><c>send(fd, buf, len, flags)</c>. (liburing <c>io_uring_prep_send</c>; Linux 5.6.)</summary>
    /// <param name="fd">Socket.</param>
    /// <param name="buffer">Data address, valid until the CQE.</param>
    /// <param name="length">Bytes.</param>
    /// <param name="msgFlags"><c>MSG_*</c>.</param>
    public void PrepSend(int fd, nint buffer, uint length, int msgFlags = 0)
    {
        PrepRw(Opcode.Send, fd, (ulong)buffer, length, 0);
        MsgFlags = (uint)msgFlags;
    }

    /// <summary>
    /// <c>sendto(fd, buf, len, flags, addr, addrlen)</c>: a send to an explicit address, for unconnected datagram
    /// sockets. Kernels that do not read an address for <see cref="Opcode.Send"/> fail it with <c>-EINVAL</c>.
    /// (liburing <c>io_uring_prep_sendto</c>; Linux 6.0.)
    /// </summary>
    /// <param name="fd">Socket.</param>
    /// <param name="buffer">Data address, valid until the CQE.</param>
    /// <param name="length">Bytes.</param>
    /// <param name="address">Address of the destination sockaddr, read at submission.</param>
    /// <param name="addressLength">Its length in bytes.</param>
    /// <param name="msgFlags"><c>MSG_*</c>.</param>
    public void PrepSendTo(int fd, nint buffer, uint length, nint address, ushort addressLength, int msgFlags = 0)
    {
        PrepSend(fd, buffer, length, msgFlags);
        Addr2 = (ulong)address;
        AddrLen = addressLength;
    }

    /// <summary>Zero-copy send (6.0): a first CQE with the result (<see cref="CqeFlags.More"/> set), then a <see cref="CqeFlags.Notif"/> CQE once the buffer may be reused. (liburing <c>io_uring_prep_send_zc</c>.)</summary>
    /// <param name="fd">Socket.</param>
    /// <param name="buffer">Data address, valid until the notification CQE.</param>
    /// <param name="length">Bytes.</param>
    /// <param name="msgFlags"><c>MSG_*</c>.</param>
    /// <param name="zcFlags">Zero-copy flags.</param>
    public void PrepSendZc(int fd, nint buffer, uint length, int msgFlags = 0, RecvSendFlags zcFlags = RecvSendFlags.None)
    {
        PrepRw(Opcode.SendZc, fd, (ulong)buffer, length, 0);
        MsgFlags = (uint)msgFlags;
        IoPrio = (ushort)zcFlags;
    }

    /// <summary>
    /// Zero-copy send from registered buffer <paramref name="bufIndex"/> (6.0): like <see cref="PrepSendZc"/>, with
    /// the pages already pinned by <see cref="Ring.RegisterBuffers(ReadOnlySpan{Memory{byte}})"/>.
    /// (liburing <c>io_uring_prep_send_zc_fixed</c>.)
    /// </summary>
    /// <param name="fd">Socket.</param>
    /// <param name="buffer">Data address inside the registered buffer.</param>
    /// <param name="length">Bytes.</param>
    /// <param name="bufIndex">Index of the registered buffer.</param>
    /// <param name="msgFlags"><c>MSG_*</c>.</param>
    /// <param name="zcFlags">Zero-copy flags; <see cref="RecvSendFlags.FixedBuf"/> is added.</param>
    public void PrepSendZcFixed(int fd, nint buffer, uint length, ushort bufIndex, int msgFlags = 0, RecvSendFlags zcFlags = RecvSendFlags.None)
    {
        PrepSendZc(fd, buffer, length, msgFlags, zcFlags | RecvSendFlags.FixedBuf);
        BufIndex = bufIndex;
    }

    /// <summary>
    /// Zero-copy <c>sendmsg</c> (6.1): completes like <see cref="PrepSendZc"/>, a result CQE with
    /// <see cref="CqeFlags.More"/> and then a <see cref="CqeFlags.Notif"/> CQE once the data buffers may be reused.
    /// (liburing <c>io_uring_prep_sendmsg_zc</c>.)
    /// </summary>
    /// <param name="fd">Socket.</param>
    /// <param name="msg">Address of a <see cref="MsgHdr"/>; it and its buffers stay valid until the notification CQE.</param>
    /// <param name="msgFlags"><c>MSG_*</c>.</param>
    public void PrepSendMsgZc(int fd, nint msg, int msgFlags = 0)
    {
        PrepSendMsg(fd, msg, msgFlags);
        Opcode = Opcode.SendMsgZc;
    }

    /// <summary><c>recv(fd, buf, len, flags)</c>. (liburing <c>io_uring_prep_recv</c>; Linux 5.6.)</summary>
    /// <param name="fd">Socket.</param>
    /// <param name="buffer">Destination address, valid until the CQE.</param>
    /// <param name="length">Bytes.</param>
    /// <param name="msgFlags"><c>MSG_*</c>.</param>
    public void PrepRecv(int fd, nint buffer, uint length, int msgFlags = 0)
    {
        PrepRw(Opcode.Recv, fd, (ulong)buffer, length, 0);
        MsgFlags = (uint)msgFlags;
    }

    /// <summary>Multishot recv (6.0) into buffers picked from provided-buffer group <paramref name="bufferGroup"/>. (liburing <c>io_uring_prep_recv_multishot</c>.)</summary>
    /// <param name="fd">Socket.</param>
    /// <param name="bufferGroup">The group id (see <see cref="Ring.SetupBufferRing(ushort, ushort, int)"/>).</param>
    /// <param name="msgFlags"><c>MSG_*</c>.</param>
    public void PrepRecvMultishot(int fd, ushort bufferGroup, int msgFlags = 0)
    {
        PrepRecv(fd, 0, 0, msgFlags);
        IoPrio |= (ushort)RecvSendFlags.RecvMultishot;
        Flags |= SqeFlags.BufferSelect;
        BufGroup = bufferGroup;
    }

    /// <summary><c>sendmsg(fd, msg, flags)</c>. (liburing <c>io_uring_prep_sendmsg</c>; Linux 5.3.)</summary>
    /// <param name="fd">Socket.</param>
    /// <param name="msg">Address of a <see cref="MsgHdr"/>, valid until the CQE.</param>
    /// <param name="msgFlags"><c>MSG_*</c>.</param>
    public void PrepSendMsg(int fd, nint msg, int msgFlags = 0)
    {
        PrepRw(Opcode.SendMsg, fd, (ulong)msg, 1, 0);
        MsgFlags = (uint)msgFlags;
    }

    /// <summary><c>recvmsg(fd, msg, flags)</c>. (liburing <c>io_uring_prep_recvmsg</c>; Linux 5.3.)</summary>
    /// <param name="fd">Socket.</param>
    /// <param name="msg">Address of a <see cref="MsgHdr"/>, valid until the CQE.</param>
    /// <param name="msgFlags"><c>MSG_*</c>.</param>
    public void PrepRecvMsg(int fd, nint msg, int msgFlags = 0)
    {
        PrepRw(Opcode.RecvMsg, fd, (ulong)msg, 1, 0);
        MsgFlags = (uint)msgFlags;
    }

    /// <summary><c>shutdown(fd, how)</c>: 0 read, 1 write, 2 both. (liburing <c>io_uring_prep_shutdown</c>; Linux 5.11.)</summary>
    /// <param name="fd">Socket.</param>
    /// <param name="how"><c>SHUT_*</c>.</param>
    public void PrepShutdown(int fd, int how) => PrepRw(Opcode.Shutdown, fd, 0, (uint)how, 0);

    /// <summary><c>socket(domain, type, protocol)</c> (5.19); the CQE result is the fd. (liburing <c>io_uring_prep_socket</c>.)</summary>
    /// <param name="domain"><c>AF_*</c>.</param>
    /// <param name="type"><c>SOCK_*</c>.</param>
    /// <param name="protocol">Protocol.</param>
    public void PrepSocket(int domain, int type, int protocol) =>
        PrepRw(Opcode.Socket, domain, 0, (uint)protocol, (ulong)type);

    /// <summary>
    /// <c>socket</c> into direct-descriptor slot <paramref name="fileIndex"/> (or <see cref="SqeConstants.FileIndexAlloc"/>);
    /// the CQE result is 0, or the slot picked with <see cref="SqeConstants.FileIndexAlloc"/>.
    /// (liburing <c>io_uring_prep_socket_direct</c>; Linux 5.19.)
    /// </summary>
    /// <param name="domain"><c>AF_*</c>.</param>
    /// <param name="type"><c>SOCK_*</c>, without <c>SOCK_CLOEXEC</c> (refused with <c>-EINVAL</c> for a direct descriptor).</param>
    /// <param name="protocol">Protocol.</param>
    /// <param name="fileIndex">Registered-file slot.</param>
    public void PrepSocketDirect(int domain, int type, int protocol, uint fileIndex)
    {
        PrepSocket(domain, type, protocol);
        FileIndex = fileIndex == SqeConstants.FileIndexAlloc ? fileIndex : fileIndex + 1;
    }

    /// <summary>
    /// <c>socket</c> into a free direct-descriptor slot (5.19; liburing <c>io_uring_prep_socket_direct_alloc</c>): the CQE
    /// result is the slot the kernel picked (from the range <see cref="Ring.SetFileAllocRange"/> set, if any), or
    /// <c>-ENFILE</c> when the table is full.
    /// </summary>
    /// <param name="domain"><c>AF_*</c>.</param>
    /// <param name="type"><c>SOCK_*</c>, without <c>SOCK_CLOEXEC</c>.</param>
    /// <param name="protocol">Protocol.</param>
    public void PrepSocketDirectAlloc(int domain, int type, int protocol) =>
        PrepSocketDirect(domain, type, protocol, SqeConstants.FileIndexAlloc);

    /// <summary>
    /// Multishot <c>recvmsg</c> (6.0; liburing <c>io_uring_prep_recvmsg_multishot</c>) into buffers of provided-buffer group
    /// <paramref name="bufferGroup"/>: one CQE per datagram (or per read, on a stream), each buffer starting with the
    /// kernel's <c>io_uring_recvmsg_out</c> header; parse it with <see cref="ReceivedMessage.TryParse"/>. Only the
    /// <c>msg_namelen</c> and <c>msg_controllen</c> of <paramref name="msg"/> are used: they size the name and control parts.
    /// </summary>
    /// <param name="fd">Socket.</param>
    /// <param name="msg">Address of a <see cref="MsgHdr"/>, valid until the final CQE (the kernel reads it once at submission on 6.0+).</param>
    /// <param name="bufferGroup">The provided-buffer group (see <see cref="Ring.SetupBufferRing(ushort, ushort, int)"/>).</param>
    /// <param name="msgFlags"><c>MSG_*</c>.</param>
    public void PrepRecvMsgMultishot(int fd, nint msg, ushort bufferGroup, int msgFlags = 0)
    {
        PrepRecvMsg(fd, msg, msgFlags);
        IoPrio |= (ushort)RecvSendFlags.RecvMultishot;
        Flags |= SqeFlags.BufferSelect;
        BufGroup = bufferGroup;
    }

    /// <summary>
    /// Send bundle (6.10; liburing <c>io_uring_prep_send_bundle</c>): sends the data of as many consecutive buffers of
    /// provided-buffer group <paramref name="bufferGroup"/> as are queued (up to <paramref name="length"/> bytes, 0 for no
    /// limit), in one request. The CQE result is the bytes sent, and its <see cref="Cqe.BufferId"/> the first buffer used;
    /// the buffers used are consumed. Needs <see cref="RingFeatures.RecvSendBundle"/>.
    /// </summary>
    /// <param name="fd">Socket.</param>
    /// <param name="bufferGroup">The group holding the data to send (fill its buffers with <see cref="BufferRing.Provide"/>).</param>
    /// <param name="length">Byte limit, or 0.</param>
    /// <param name="msgFlags"><c>MSG_*</c>.</param>
    public void PrepSendBundle(int fd, ushort bufferGroup, uint length = 0, int msgFlags = 0)
    {
        PrepSend(fd, 0, length, msgFlags);
        IoPrio |= (ushort)RecvSendFlags.Bundle;
        Flags |= SqeFlags.BufferSelect;
        BufGroup = bufferGroup;
    }

    /// <summary>
    /// Receive bundle (6.10; liburing <c>io_uring_prep_recv</c> with <c>IORING_RECVSEND_BUNDLE</c>): fills as many
    /// consecutive buffers of group <paramref name="bufferGroup"/> as the data waiting needs, in one CQE whose
    /// <see cref="Cqe.BufferId"/> is the first buffer and whose result is the total bytes (spread over buffers
    /// <c>BufferId</c>, <c>BufferId + 1</c>, ... in ring order). With <paramref name="multishot"/> it stays armed.
    /// Needs <see cref="RingFeatures.RecvSendBundle"/>.
    /// </summary>
    /// <param name="fd">Socket.</param>
    /// <param name="bufferGroup">The provided-buffer group.</param>
    /// <param name="multishot">Keep receiving (<see cref="RecvSendFlags.RecvMultishot"/>).</param>
    /// <param name="msgFlags"><c>MSG_*</c>.</param>
    public void PrepRecvBundle(int fd, ushort bufferGroup, bool multishot = false, int msgFlags = 0)
    {
        PrepRecv(fd, 0, 0, msgFlags);
        IoPrio |= (ushort)(RecvSendFlags.Bundle | (multishot ? RecvSendFlags.RecvMultishot : RecvSendFlags.None));
        Flags |= SqeFlags.BufferSelect;
        BufGroup = bufferGroup;
    }

    /// <summary>
    /// Zero-copy receive (6.15; liburing <c>io_uring_prep_rw</c> with <c>IORING_OP_RECV_ZC</c>, having no prep of its own): multishot
    /// receive whose data the NIC places straight into the area of zero-copy receive queue <paramref name="queueIndex"/>
    /// (<see cref="Ring.RegisterZeroCopyReceiveQueue"/>). Each CQE (on a <see cref="RingOptions.Cqe32"/> ring) carries the
    /// data's offset in its second half. Without that queue the kernel refuses the request with <c>-EINVAL</c>.
    /// </summary>
    /// <param name="fd">A TCP socket whose flow the NIC steers to the queue.</param>
    /// <param name="queueIndex">The queue's id (<c>zcrx_ifq_idx</c>).</param>
    /// <param name="length">Bytes to receive before the request ends, or 0 for no limit.</param>
    public void PrepRecvZc(int fd, uint queueIndex, uint length = 0)
    {
        PrepRw(Opcode.RecvZc, fd, 0, length, 0);
        IoPrio = (ushort)RecvSendFlags.RecvMultishot;
        ZcrxIfqIdx = queueIndex;
    }
}
