using System.Runtime.InteropServices;

namespace IoUring.Interop;

/// <summary><c>struct io_uring_probe_op</c> (8 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct ProbeOp
{
    public byte Op;
    public byte Resv;
    public ushort Flags;
    public uint Resv2;

    /// <summary><c>IO_URING_OP_SUPPORTED</c>.</summary>
    public const ushort Supported = 1;
}

/// <summary><c>struct io_uring_probe</c> header (16 bytes), followed by <see cref="ProbeOp"/>s.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct ProbeHeader
{
    public byte LastOp;
    public byte OpsLen;
    public ushort Resv;
    public uint Resv2a;
    public uint Resv2b;
    public uint Resv2c;
}
