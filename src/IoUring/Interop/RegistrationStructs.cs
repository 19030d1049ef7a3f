using System.Runtime.InteropServices;

namespace IoUring.Interop;

/// <summary><c>struct io_uring_rsrc_register</c> (32 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct RsrcRegister
{
    public uint Nr;
    public uint Flags;
    public ulong Resv2;
    public ulong Data;
    public ulong Tags;

    /// <summary><c>IORING_RSRC_REGISTER_SPARSE</c>.</summary>
    public const uint FlagSparse = 1;
}

/// <summary><c>struct io_uring_rsrc_update</c> / <c>io_uring_files_update</c> (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct RsrcUpdate
{
    public uint Offset;
    public uint Resv;
    public ulong Data;
}

/// <summary><c>struct io_uring_rsrc_update2</c> (32 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct RsrcUpdate2
{
    public uint Offset;
    public uint Resv;
    public ulong Data;
    public ulong Tags;
    public uint Nr;
    public uint Resv2;
}

/// <summary><c>struct io_uring_buf</c>: one entry of a provided-buffer ring (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct BufRingEntry
{
    public ulong Addr;
    public uint Len;
    public ushort Bid;
    /// <summary>In entry 0 this is the ring's <c>tail</c> (<c>struct io_uring_buf_ring</c>).</summary>
    public ushort Resv;

    /// <summary>Offset of the ring tail inside the first entry.</summary>
    public const int TailOffset = 14;
}

/// <summary><c>struct io_uring_buf_reg</c>: argument of <c>IORING_REGISTER_PBUF_RING</c> (40 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct BufReg
{
    public ulong RingAddr;
    public uint RingEntries;
    public ushort Bgid;
    public ushort Flags;
    public ulong Resv0;
    public ulong Resv1;
    public ulong Resv2;
}

/// <summary><c>struct io_uring_sync_cancel_reg</c>: argument of <c>IORING_REGISTER_SYNC_CANCEL</c> (64 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct SyncCancelReg
{
    public ulong Addr;
    public int Fd;
    public uint Flags;
    public KernelTimespec Timeout;
    public byte Opcode;
    public byte Pad0;
    public ushort Pad1;
    public uint Pad2;
    public ulong Pad3;
    public ulong Pad4;
    public ulong Pad5;
}

/// <summary><c>struct io_uring_buf_status</c>: argument of <c>IORING_REGISTER_PBUF_STATUS</c> (40 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct BufStatus
{
    public uint BufGroup;
    public uint Head;
    public ulong Resv0;
    public ulong Resv1;
    public ulong Resv2;
    public ulong Resv3;
}

/// <summary><c>struct io_uring_file_index_range</c>: argument of <c>IORING_REGISTER_FILE_ALLOC_RANGE</c> (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FileIndexRange
{
    public uint Off;
    public uint Len;
    public ulong Resv;
}

/// <summary><c>struct io_uring_napi</c>: argument of <c>IORING_(UN)REGISTER_NAPI</c> (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NapiReg
{
    public uint BusyPollTo;
    public byte PreferBusyPoll;
    /// <summary>6.13+: <c>opcode</c> (0 = <c>IO_URING_NAPI_REGISTER_OP</c>); <c>pad[0]</c> in older headers.</summary>
    public byte Opcode;
    public ushort Pad;
    /// <summary>6.13+: <c>op_param</c> (0 = dynamic tracking); the low half of <c>resv</c> in older headers.</summary>
    public uint OpParam;
    public uint Resv;
}

/// <summary><c>struct io_uring_clone_buffers</c>: argument of <c>IORING_REGISTER_CLONE_BUFFERS</c> (32 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct CloneBuffersReg
{
    public uint SrcFd;
    public uint Flags;
    public uint SrcOff;
    public uint DstOff;
    public uint Nr;
    public uint Pad0;
    public uint Pad1;
    public uint Pad2;

    /// <summary><c>IORING_REGISTER_SRC_REGISTERED</c>: <see cref="SrcFd"/> is a registered ring index.</summary>
    public const uint SrcRegistered = 1;

    /// <summary><c>IORING_REGISTER_DST_REPLACE</c>: replace buffers already registered at the destination.</summary>
    public const uint DstReplace = 2;
}

/// <summary><c>struct io_uring_restriction</c>: one entry of <c>IORING_REGISTER_RESTRICTIONS</c> (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct RestrictionEntry
{
    /// <summary><c>IORING_RESTRICTION_*</c>.</summary>
    public ushort Opcode;
    /// <summary>The union of <c>register_op</c>, <c>sqe_op</c> and <c>sqe_flags</c>.</summary>
    public byte Value;
    public byte Resv;
    public uint Resv2a;
    public uint Resv2b;
    public uint Resv2c;

    public const ushort RegisterOp = 0;
    public const ushort SqeOp = 1;
    public const ushort SqeFlagsAllowed = 2;
    public const ushort SqeFlagsRequired = 3;
}

/// <summary><c>struct io_uring_recvmsg_out</c>: the header a multishot recvmsg writes at the start of each buffer (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct RecvMsgOutHeader
{
    public uint NameLen;
    public uint ControlLen;
    public uint PayloadLen;
    public uint Flags;
}
