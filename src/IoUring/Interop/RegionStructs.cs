using System.Runtime.InteropServices;

namespace IoUring.Interop;

/// <summary><c>struct io_uring_region_desc</c>: a memory region for <c>IORING_REGISTER_MEM_REGION</c> and zcrx (64 bytes, 6.13).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct RegionDesc
{
    public ulong UserAddr;
    public ulong Size;
    public uint Flags;
    public uint Id;
    public ulong MmapOffset;
    public ulong Resv0;
    public ulong Resv1;
    public ulong Resv2;
    public ulong Resv3;

    /// <summary><c>IORING_MEM_REGION_TYPE_USER</c>: the region is the user memory at <see cref="UserAddr"/>.</summary>
    public const uint TypeUser = 1;
}

/// <summary><c>struct io_uring_mem_region_reg</c>: argument of <c>IORING_REGISTER_MEM_REGION</c> (32 bytes, 6.13).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MemRegionReg
{
    public ulong RegionUptr;
    public ulong Flags;
    public ulong Resv0;
    public ulong Resv1;

    /// <summary><c>IORING_MEM_REGION_REG_WAIT_ARG</c>: the region holds registered wait arguments.</summary>
    public const ulong RegWaitArg = 1;
}

/// <summary>
/// <c>struct io_uring_reg_wait</c>: one registered wait argument (64 bytes, 6.13), read by <c>io_uring_enter</c> with
/// <c>IORING_ENTER_EXT_ARG_REG</c> from a region registered with <c>IORING_MEM_REGION_REG_WAIT_ARG</c>.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct RegWait
{
    public KernelTimespec Ts;
    public uint MinWaitUsec;
    public uint Flags;
    public ulong Sigmask;
    public uint SigmaskSz;
    public uint Pad0;
    public uint Pad1;
    public uint Pad2;
    public ulong Pad3;
    public ulong Pad4;

    /// <summary><c>IORING_REG_WAIT_TS</c>: <see cref="Ts"/> is valid.</summary>
    public const uint FlagTs = 1;
}

/// <summary><c>struct io_uring_zcrx_offsets</c>: where the refill ring's fields sit in its region (32 bytes, 6.15).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct ZcrxOffsets
{
    public uint Head;
    public uint Tail;
    public uint Rqes;
    public uint Resv2;
    public ulong Resv0;
    public ulong Resv1;
}

/// <summary><c>struct io_uring_zcrx_area_reg</c>: the memory a zero-copy receive queue fills (48 bytes, 6.15).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct ZcrxAreaReg
{
    public ulong Addr;
    public ulong Len;
    public ulong RqAreaToken;
    public uint Flags;
    public uint DmabufFd;
    public ulong Resv0;
    public ulong Resv1;
}

/// <summary><c>struct io_uring_zcrx_ifq_reg</c>: argument of <c>IORING_REGISTER_ZCRX_IFQ</c> (96 bytes, 6.15).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct ZcrxIfqReg
{
    public uint IfIdx;
    public uint IfRxq;
    public uint RqEntries;
    public uint Flags;
    public ulong AreaPtr;
    public ulong RegionPtr;
    public ZcrxOffsets Offsets;
    public uint ZcrxId;
    /// <summary><c>rx_buf_len</c> (6.17+); <c>__resv2</c> before.</summary>
    public uint RxBufLen;
    public ulong Resv0;
    public ulong Resv1;
    public ulong Resv2;
}

/// <summary><c>struct io_uring_zcrx_rqe</c>: a refill-queue entry giving a received buffer back (16 bytes, 6.15).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct ZcrxRqe
{
    public ulong Off;
    public uint Len;
    public uint Pad;
}

/// <summary><c>struct io_uring_zcrx_cqe</c>: the second half of a <see cref="Opcode.RecvZc"/> CQE32 (16 bytes, 6.15).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct ZcrxCqe
{
    public ulong Off;
    public ulong Pad;
}
