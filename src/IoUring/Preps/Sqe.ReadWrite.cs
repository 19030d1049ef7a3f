namespace IoUring;

// Preps for data transfer and file-state requests. Each sets only the fields its opcode reads: the SQE comes
// zeroed from Ring.GetSqe.
public partial struct Sqe
{
    /// <summary>Sets the fields shared by most requests (liburing <c>io_uring_prep_rw</c>; Linux 5.1).</summary>
    /// <param name="op">The opcode.</param>
    /// <param name="fd">The file descriptor.</param>
    /// <param name="addr">The address field.</param>
    /// <param name="len">The length field.</param>
    /// <param name="offset">The offset field.</param>
    public void PrepRw(Opcode op, int fd, ulong addr, uint len, ulong offset)
    {
        Opcode = op;
        Fd = fd;
        Addr = addr;
        Len = len;
        Off = offset;
    }

    /// <summary>The fields of a request on a registered buffer: <see cref="PrepRw"/>, the buffer's index and the <c>RWF_*</c> flags.</summary>
    private void PrepRwFixed(Opcode op, int fd, ulong addr, uint len, ulong offset, ushort bufIndex, ReadWriteFlags rwFlags)
    {
        PrepRw(op, fd, addr, len, offset);
        BufIndex = bufIndex;
        RwFlags = (int)rwFlags;
    }

    /// <summary>A no-op that completes with 0. (liburing <c>io_uring_prep_nop</c>; Linux 5.1.)</summary>
    public void PrepNop() => Opcode = Opcode.Nop;

    /// <summary><c>pread(fd, buffer, length, offset)</c>. (liburing <c>io_uring_prep_read</c>; Linux 5.6.)</summary>
    /// <param name="fd">File descriptor.</param>
    /// <param name="buffer">Destination address; must stay valid until the CQE.</param>
    /// <param name="length">Bytes to read.</param>
    /// <param name="offset">File offset, or <c>ulong.MaxValue</c> for the current position.</param>
    /// <param name="rwFlags"><c>RWF_*</c> flags, as for <c>preadv2</c>.</param>
    public void PrepRead(int fd, nint buffer, uint length, ulong offset, ReadWriteFlags rwFlags = ReadWriteFlags.None)
    {
        PrepRw(Opcode.Read, fd, (ulong)buffer, length, offset);
        RwFlags = (int)rwFlags;
    }

    /// <summary><c>pread</c> into a <see cref="NativeBuffer"/> (its whole length). (liburing <c>io_uring_prep_read</c>; Linux 5.6.)</summary>
    /// <param name="fd">File descriptor.</param>
    /// <param name="buffer">Destination. On an SQE from <see cref="Ring.GetSqe"/> the ring keeps the buffer's memory alive until the final CQE, even if it is disposed first.</param>
    /// <param name="offset">File offset.</param>
    /// <param name="rwFlags"><c>RWF_*</c> flags.</param>
    /// <exception cref="ObjectDisposedException">The buffer was disposed.</exception>
    public void PrepRead(int fd, NativeBuffer buffer, ulong offset, ReadWriteFlags rwFlags = ReadWriteFlags.None)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        PrepRead(fd, buffer.Address, (uint)buffer.Length, offset, rwFlags);
        Ring.LeaseFor(ref this, buffer);
    }

    /// <summary><c>pwrite(fd, buffer, length, offset)</c>. (liburing <c>io_uring_prep_write</c>; Linux 5.6.)</summary>
    /// <param name="fd">File descriptor.</param>
    /// <param name="buffer">Source address; must stay valid until the CQE.</param>
    /// <param name="length">Bytes to write.</param>
    /// <param name="offset">File offset, or <c>ulong.MaxValue</c> for the current position.</param>
    /// <param name="rwFlags"><c>RWF_*</c> flags, as for <c>pwritev2</c> (for example <see cref="ReadWriteFlags.DSync"/> or <see cref="ReadWriteFlags.Append"/>).</param>
    public void PrepWrite(int fd, nint buffer, uint length, ulong offset, ReadWriteFlags rwFlags = ReadWriteFlags.None)
    {
        PrepRw(Opcode.Write, fd, (ulong)buffer, length, offset);
        RwFlags = (int)rwFlags;
    }

    /// <summary><c>pwrite</c> from a <see cref="NativeBuffer"/> (its whole length). (liburing <c>io_uring_prep_write</c>; Linux 5.6.)</summary>
    /// <param name="fd">File descriptor.</param>
    /// <param name="buffer">Source. On an SQE from <see cref="Ring.GetSqe"/> the ring keeps the buffer's memory alive until the final CQE, even if it is disposed first.</param>
    /// <param name="offset">File offset.</param>
    /// <param name="rwFlags"><c>RWF_*</c> flags.</param>
    /// <exception cref="ObjectDisposedException">The buffer was disposed.</exception>
    public void PrepWrite(int fd, NativeBuffer buffer, ulong offset, ReadWriteFlags rwFlags = ReadWriteFlags.None)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        PrepWrite(fd, buffer.Address, (uint)buffer.Length, offset, rwFlags);
        Ring.LeaseFor(ref this, buffer);
    }

    /// <summary>
    /// Multishot read (6.7) from a pollable file (pipe, socket, eventfd): a CQE with <see cref="CqeFlags.More"/> each
    /// time data arrives, each in a buffer picked from provided-buffer group <paramref name="bufferGroup"/>. It ends
    /// (a CQE without <see cref="CqeFlags.More"/>) at end of file, on error, or when the group runs out of buffers
    /// (<c>-ENOBUFS</c>). Regular files are refused with <c>-EBADFD</c>.
    /// (liburing <c>io_uring_prep_read_multishot</c>.)
    /// </summary>
    /// <param name="fd">A pollable file descriptor.</param>
    /// <param name="bufferGroup">The provided-buffer group (see <see cref="Ring.SetupBufferRing(ushort, ushort, int)"/>).</param>
    /// <param name="offset">File offset; 0 (or <c>ulong.MaxValue</c>) for streams.</param>
    public void PrepReadMultishot(int fd, ushort bufferGroup, ulong offset = 0)
    {
        PrepRw(Opcode.ReadMultishot, fd, 0, 0, offset);
        Flags |= SqeFlags.BufferSelect;
        BufGroup = bufferGroup;
    }

    /// <summary><c>preadv2(fd, iovecs, count, offset, flags)</c>. (liburing <c>io_uring_prep_readv2</c>; Linux 5.1.)</summary>
    /// <param name="fd">File descriptor.</param>
    /// <param name="iovecs">Address of an <see cref="IoVec"/> array (read at submission; the buffers until the CQE).</param>
    /// <param name="count">Number of iovecs.</param>
    /// <param name="offset">File offset.</param>
    /// <param name="rwFlags"><c>RWF_*</c> flags.</param>
    public void PrepReadv(int fd, nint iovecs, uint count, ulong offset, ReadWriteFlags rwFlags = ReadWriteFlags.None)
    {
        PrepRw(Opcode.Readv, fd, (ulong)iovecs, count, offset);
        RwFlags = (int)rwFlags;
    }

    /// <summary><c>pwritev2(fd, iovecs, count, offset, flags)</c>. (liburing <c>io_uring_prep_writev2</c>; Linux 5.1.)</summary>
    /// <param name="fd">File descriptor.</param>
    /// <param name="iovecs">Address of an <see cref="IoVec"/> array.</param>
    /// <param name="count">Number of iovecs.</param>
    /// <param name="offset">File offset.</param>
    /// <param name="rwFlags"><c>RWF_*</c> flags.</param>
    public void PrepWritev(int fd, nint iovecs, uint count, ulong offset, ReadWriteFlags rwFlags = ReadWriteFlags.None)
    {
        PrepRw(Opcode.Writev, fd, (ulong)iovecs, count, offset);
        RwFlags = (int)rwFlags;
    }

    /// <summary>Read into registered buffer <paramref name="bufIndex"/>; <paramref name="buffer"/> must lie inside it. (liburing <c>io_uring_prep_read_fixed</c>; Linux 5.1.)</summary>
    /// <param name="fd">File descriptor.</param>
    /// <param name="buffer">Address inside the registered buffer.</param>
    /// <param name="length">Bytes to read.</param>
    /// <param name="offset">File offset.</param>
    /// <param name="bufIndex">Index of the registered buffer.</param>
    /// <param name="rwFlags"><c>RWF_*</c> flags.</param>
    public void PrepReadFixed(int fd, nint buffer, uint length, ulong offset, ushort bufIndex, ReadWriteFlags rwFlags = ReadWriteFlags.None)
    {
        PrepRwFixed(Opcode.ReadFixed, fd, (ulong)buffer, length, offset, bufIndex, rwFlags);
    }

    /// <summary>Write from registered buffer <paramref name="bufIndex"/>; <paramref name="buffer"/> must lie inside it. (liburing <c>io_uring_prep_write_fixed</c>; Linux 5.1.)</summary>
    /// <param name="fd">File descriptor.</param>
    /// <param name="buffer">Address inside the registered buffer.</param>
    /// <param name="length">Bytes to write.</param>
    /// <param name="offset">File offset.</param>
    /// <param name="bufIndex">Index of the registered buffer.</param>
    /// <param name="rwFlags"><c>RWF_*</c> flags.</param>
    public void PrepWriteFixed(int fd, nint buffer, uint length, ulong offset, ushort bufIndex, ReadWriteFlags rwFlags = ReadWriteFlags.None)
    {
        PrepRwFixed(Opcode.WriteFixed, fd, (ulong)buffer, length, offset, bufIndex, rwFlags);
    }

    /// <summary>
    /// Vectored read into registered buffer <paramref name="bufIndex"/> (6.15): every iovec must lie inside that buffer.
    /// (liburing <c>io_uring_prep_readv_fixed</c>.)
    /// </summary>
    /// <param name="fd">File descriptor.</param>
    /// <param name="iovecs">Address of an <see cref="IoVec"/> array naming ranges inside the registered buffer; read at submission.</param>
    /// <param name="count">Number of iovecs.</param>
    /// <param name="offset">File offset.</param>
    /// <param name="bufIndex">Index of the registered buffer.</param>
    /// <param name="rwFlags"><c>RWF_*</c> flags.</param>
    public void PrepReadvFixed(int fd, nint iovecs, uint count, ulong offset, ushort bufIndex, ReadWriteFlags rwFlags = ReadWriteFlags.None)
    {
        PrepRwFixed(Opcode.ReadvFixed, fd, (ulong)iovecs, count, offset, bufIndex, rwFlags);
    }

    /// <summary>
    /// Vectored write from registered buffer <paramref name="bufIndex"/> (6.15): every iovec must lie inside that buffer.
    /// (liburing <c>io_uring_prep_writev_fixed</c>.)
    /// </summary>
    /// <param name="fd">File descriptor.</param>
    /// <param name="iovecs">Address of an <see cref="IoVec"/> array naming ranges inside the registered buffer; read at submission.</param>
    /// <param name="count">Number of iovecs.</param>
    /// <param name="offset">File offset.</param>
    /// <param name="bufIndex">Index of the registered buffer.</param>
    /// <param name="rwFlags"><c>RWF_*</c> flags.</param>
    public void PrepWritevFixed(int fd, nint iovecs, uint count, ulong offset, ushort bufIndex, ReadWriteFlags rwFlags = ReadWriteFlags.None)
    {
        PrepRwFixed(Opcode.WritevFixed, fd, (ulong)iovecs, count, offset, bufIndex, rwFlags);
    }

    /// <summary><c>fsync</c>, or <c>fdatasync</c> with <see cref="FsyncFlags.DataSync"/>; optionally limited to a byte range. (liburing <c>io_uring_prep_fsync</c>; Linux 5.1.)</summary>
    /// <param name="fd">File descriptor.</param>
    /// <param name="flags">Flags.</param>
    /// <param name="offset">Start of the range to sync.</param>
    /// <param name="length">Bytes to sync from <paramref name="offset"/>. With both 0 the whole file is synced; the kernel
    /// syncs up to <c>offset + length</c>, so a non-zero offset needs a non-zero length.</param>
    public void PrepFsync(int fd, FsyncFlags flags = FsyncFlags.None, ulong offset = 0, uint length = 0)
    {
        PrepRw(Opcode.Fsync, fd, 0, length, offset);
        FsyncFlags = flags;
    }

    /// <summary><c>sync_file_range(fd, offset, length, flags)</c>. (liburing <c>io_uring_prep_sync_file_range</c>; Linux 5.2.)</summary>
    /// <param name="fd">File descriptor.</param>
    /// <param name="length">Bytes.</param>
    /// <param name="offset">Start offset.</param>
    /// <param name="flags"><c>SYNC_FILE_RANGE_*</c>.</param>
    public void PrepSyncFileRange(int fd, uint length, ulong offset, uint flags)
    {
        PrepRw(Opcode.SyncFileRange, fd, 0, length, offset);
        SyncRangeFlags = flags;
    }

    /// <summary><c>fallocate(fd, mode, offset, length)</c>. (liburing <c>io_uring_prep_fallocate</c>; Linux 5.6.)</summary>
    /// <param name="fd">File descriptor.</param>
    /// <param name="mode"><c>FALLOC_FL_*</c>.</param>
    /// <param name="offset">Start offset.</param>
    /// <param name="length">Bytes.</param>
    public void PrepFallocate(int fd, int mode, ulong offset, ulong length)
    {
        // The kernel reads the length from addr and the mode from len.
        PrepRw(Opcode.Fallocate, fd, length, (uint)mode, offset);
    }

    /// <summary><c>posix_fadvise(fd, offset, length, advice)</c>. (liburing <c>io_uring_prep_fadvise</c>; Linux 5.6.)</summary>
    /// <param name="fd">File descriptor.</param>
    /// <param name="offset">Start offset.</param>
    /// <param name="length">Bytes (0 to the end).</param>
    /// <param name="advice"><c>POSIX_FADV_*</c>.</param>
    public void PrepFadvise(int fd, ulong offset, uint length, int advice)
    {
        PrepRw(Opcode.Fadvise, fd, 0, length, offset);
        FadviseAdvice = (uint)advice;
    }

    /// <summary><c>madvise(address, length, advice)</c>. (liburing <c>io_uring_prep_madvise</c>; Linux 5.6.)</summary>
    /// <param name="address">Start address.</param>
    /// <param name="length">Bytes.</param>
    /// <param name="advice"><c>MADV_*</c>.</param>
    public void PrepMadvise(nint address, uint length, int advice)
    {
        PrepRw(Opcode.Madvise, -1, (ulong)address, length, 0);
        FadviseAdvice = (uint)advice;
    }

    /// <summary><c>splice(fdIn, offIn, fdOut, offOut, length, flags)</c>; an offset of -1 means "none / current". (liburing <c>io_uring_prep_splice</c>; Linux 5.7.)</summary>
    /// <param name="fdIn">Source fd.</param>
    /// <param name="offsetIn">Source offset, or -1.</param>
    /// <param name="fdOut">Destination fd.</param>
    /// <param name="offsetOut">Destination offset, or -1.</param>
    /// <param name="length">Bytes.</param>
    /// <param name="flags"><c>SPLICE_F_*</c>, plus <see cref="SqeConstants.SpliceFdInFixed"/>.</param>
    public void PrepSplice(int fdIn, long offsetIn, int fdOut, long offsetOut, uint length, uint flags = 0)
    {
        PrepRw(Opcode.Splice, fdOut, 0, length, (ulong)offsetOut);
        SpliceOffIn = (ulong)offsetIn;
        SpliceFdIn = fdIn;
        SpliceFlags = flags;
    }

    /// <summary><c>tee(fdIn, fdOut, length, flags)</c> between two pipes. (liburing <c>io_uring_prep_tee</c>; Linux 5.8.)</summary>
    /// <param name="fdIn">Source pipe.</param>
    /// <param name="fdOut">Destination pipe.</param>
    /// <param name="length">Bytes.</param>
    /// <param name="flags"><c>SPLICE_F_*</c>.</param>
    public void PrepTee(int fdIn, int fdOut, uint length, uint flags = 0)
    {
        PrepRw(Opcode.Tee, fdOut, 0, length, 0);
        SpliceFdIn = fdIn;
        SpliceFlags = flags;
    }

    /// <summary><c>ftruncate(fd, length)</c> (6.9). (liburing <c>io_uring_prep_ftruncate</c>.)</summary>
    /// <param name="fd">File descriptor.</param>
    /// <param name="length">New size.</param>
    public void PrepFtruncate(int fd, ulong length) => PrepRw(Opcode.Ftruncate, fd, 0, 0, length);
}
