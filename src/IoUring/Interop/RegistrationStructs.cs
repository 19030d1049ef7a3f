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
