using System.Runtime.InteropServices;

namespace IoUring.Interop;

/// <summary><c>struct io_sqring_offsets</c>: where the SQ ring's fields sit in its mmap (40 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct SqRingOffsets
{
    public uint Head;
    public uint Tail;
    public uint RingMask;
    public uint RingEntries;
    public uint Flags;
    public uint Dropped;
    public uint Array;
    public uint Resv1;
    public ulong UserAddr;
}

/// <summary><c>struct io_cqring_offsets</c>: where the CQ ring's fields sit in its mmap (40 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct CqRingOffsets
{
    public uint Head;
    public uint Tail;
    public uint RingMask;
    public uint RingEntries;
    public uint Overflow;
    public uint Cqes;
    public uint Flags;
    public uint Resv1;
    public ulong UserAddr;
}

/// <summary><c>struct io_uring_params</c>: in/out argument of <c>io_uring_setup(2)</c> (120 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct IoUringParams
{
    public uint SqEntries;
    public uint CqEntries;
    public SetupFlags Flags;
    public uint SqThreadCpu;
    public uint SqThreadIdle;
    public RingFeatures Features;
    public uint WqFd;
    public uint Resv0;
    public uint Resv1;
    public uint Resv2;
    public SqRingOffsets SqOff;
    public CqRingOffsets CqOff;
}

/// <summary><c>struct io_uring_getevents_arg</c>: the extended argument of <c>io_uring_enter(2)</c> (24 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct GeteventsArg
{
    public ulong Sigmask;
    public uint SigmaskSz;
    public uint MinWaitUsec;
    public ulong Ts;
}

/// <summary>Memory-map offsets of <c>io_uring_setup(2)</c>'s fd.</summary>
internal static class MmapOffsets
{
    public const long SqRing = 0;
    public const long CqRing = 0x8000000;
    public const long Sqes = 0x10000000;
}
