namespace IoUring;

// liburing 2.15's remaining variants of existing opcodes: 64-bit advice lengths, a destination for zero-copy sends,
// zero-copy sendmsg from registered buffers, and discard on a block device.
public partial struct Sqe
{
    /// <summary>BLOCK_URING_CMD_DISCARD: <c>_IO(0x12, 0)</c> from <c>linux/fs.h</c>.</summary>
    internal const uint BlockUringCmdDiscard = 0x12 << 8;

    /// <summary>
    /// <c>posix_fadvise(fd, offset, length, advice)</c> with a 64-bit length (liburing <c>io_uring_prep_fadvise64</c>; the
    /// kernel reads the length from <c>addr</c> since the 2024 change "io_uring/advise: support 64-bit lengths", released
    /// in 6.11; older kernels complete it with <c>-EINVAL</c>). <see cref="PrepFadvise"/> takes 32 bits and works from 5.6.
    /// </summary>
    /// <param name="fd">File descriptor.</param>
    /// <param name="offset">Start offset.</param>
    /// <param name="length">Bytes; not 0 (0 would make the kernel read the 32-bit length instead: use <see cref="PrepFadvise"/> for "to the end").</param>
    /// <param name="advice"><c>POSIX_FADV_*</c>.</param>
    public void PrepFadvise64(int fd, ulong offset, ulong length, int advice)
    {
        PrepRw(Opcode.Fadvise, fd, length, 0, offset);
        FadviseAdvice = (uint)advice;
    }

    /// <summary>
    /// <c>madvise(address, length, advice)</c> with a 64-bit length (liburing <c>io_uring_prep_madvise64</c>; the kernel
    /// reads it from <c>off</c> since 6.11, the same change as <see cref="PrepFadvise64"/>).
    /// </summary>
    /// <param name="address">Start address (page-aligned).</param>
    /// <param name="length">Bytes; not 0.</param>
    /// <param name="advice"><c>MADV_*</c>.</param>
    public void PrepMadvise64(nint address, ulong length, int advice)
    {
        PrepRw(Opcode.Madvise, -1, (ulong)address, 0, length);
        FadviseAdvice = (uint)advice;
    }

    /// <summary>
    /// Sets the destination of a send prepared with <see cref="PrepSendZc"/>, <see cref="PrepSendZcFixed"/> or
    /// <see cref="PrepSend"/> (<c>sendto</c> semantics, for unconnected datagram sockets; Linux 6.0;
    /// liburing <c>io_uring_prep_send_set_addr</c>). Call it after the prep.
    /// </summary>
    /// <param name="address">A native <c>sockaddr</c>, valid until the CQE (the kernel copies it at issue).</param>
    /// <param name="addressLength">Its length.</param>
    public void PrepSendSetAddress(nint address, ushort addressLength)
    {
        Addr2 = (ulong)address;
        AddrLen = addressLength;
    }

    /// <summary>
    /// Zero-copy <c>sendmsg</c> whose iovecs lie inside registered buffer <paramref name="bufIndex"/>
    /// (liburing <c>io_uring_prep_sendmsg_zc_fixed</c>; vectored registered buffers came in 6.15): completes like
    /// <see cref="PrepSendMsgZc"/>, without pinning the pages per request.
    /// </summary>
    /// <param name="fd">Socket.</param>
    /// <param name="msg">Address of a <see cref="MsgHdr"/> whose iovecs point into the registered buffer; valid until the notification CQE.</param>
    /// <param name="bufIndex">Index of the registered buffer (<see cref="Ring.RegisterBuffers(ReadOnlySpan{Memory{byte}})"/>).</param>
    /// <param name="msgFlags"><c>MSG_*</c>.</param>
    public void PrepSendMsgZcFixed(int fd, nint msg, ushort bufIndex, int msgFlags = 0)
    {
        PrepSendMsgZc(fd, msg, msgFlags);
        IoPrio |= (ushort)RecvSendFlags.FixedBuf;
        BufIndex = bufIndex;
    }

    /// <summary>
    /// Discards (<c>BLKDISCARD</c>) <paramref name="length"/> bytes at <paramref name="offset"/> of a block device opened for
    /// writing, asynchronously (<c>IORING_OP_URING_CMD</c> with <c>BLOCK_URING_CMD_DISCARD</c>, 6.12;
    /// liburing <c>io_uring_prep_cmd_discard</c>). Both must be multiples of the device's logical block size; a regular file,
    /// or a block device before 6.12, completes it with <c>-EOPNOTSUPP</c>.
    /// </summary>
    /// <param name="fd">The block device.</param>
    /// <param name="offset">Byte offset.</param>
    /// <param name="length">Bytes.</param>
    public void PrepDiscard(int fd, ulong offset, ulong length)
    {
        PrepUringCmd(fd, BlockUringCmdDiscard);
        Addr = offset;
        Addr3 = length;
    }
}
