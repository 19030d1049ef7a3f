using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace IoUring;

/// <summary>
/// A 128-byte submission queue entry of a <see cref="RingOptions.Sqe128"/> ring (<c>IORING_SETUP_SQE128</c>, 5.19): an
/// ordinary <see cref="Sqe"/> followed by 64 more bytes. For <see cref="Opcode.UringCmd"/> the kernel reads an 80-byte
/// command (<c>sqe->cmd</c>) from offset 48: the last 16 bytes of the ordinary SQE and the whole second half, which is
/// <see cref="Command"/>. Obtain one with <see cref="Ring.GetSqe128"/> (it comes zeroed); liburing has no separate type,
/// its <c>io_uring_sqe_cmd()</c> returns the same bytes.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
public struct Sqe128
{
    /// <summary>Size in bytes.</summary>
    public const int Size = 128;

    /// <summary>Offset of <c>sqe->cmd</c> inside the entry.</summary>
    public const int CommandOffset = 48;

    /// <summary>Length of <c>sqe->cmd</c> in a 128-byte entry.</summary>
    public const int CommandLength = Size - CommandOffset;

    /// <summary>The ordinary first 64 bytes: opcode, fd, user data and the rest, filled by the <c>Prep*</c> methods.</summary>
    [FieldOffset(0)] public Sqe Sqe;

    /// <summary>
    /// The 80 command bytes (<c>sqe->cmd</c>) a driver's uring_cmd reads: they overlay <see cref="IoUring.Sqe.Addr3"/>
    /// and <see cref="IoUring.Sqe.Pad2"/> and continue over the second half of the entry. The span aliases this entry,
    /// so on a ring slot it writes straight into the submission queue; fill it after the <c>Prep*</c> call.
    /// </summary>
    [UnscopedRef]
    public Span<byte> Command
    {
        get
        {
            // SAFETY: this struct is 128 bytes (explicit Size), so bytes 48..127 lie inside it; the span is scoped to
            // the reference it was taken from (UnscopedRef on a ref to this struct), so it cannot outlive the entry.
            return MemoryMarshal.CreateSpan(ref Unsafe.Add(ref Unsafe.As<Sqe128, byte>(ref this), CommandOffset), CommandLength);
        }
    }
}
