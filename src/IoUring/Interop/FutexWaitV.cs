using System.Runtime.InteropServices;

namespace IoUring;

/// <summary>
/// <c>struct futex_waitv</c> (<c>linux/futex.h</c>, 24 bytes): one futex of a vectored wait
/// (<see cref="Sqe.PrepFutexWaitV"/>, <c>io_uring_prep_futex_waitv</c>). Keep an array of them in memory the GC does not
/// move (a pinned array or native memory) until the wait's CQE.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct FutexWaitV
{
    /// <summary><c>val</c>: the value the futex must hold for the wait to start.</summary>
    public ulong Value;

    /// <summary><c>uaddr</c>: the futex word's address.</summary>
    public ulong Address;

    /// <summary><c>flags</c>: size and flags of this futex, e.g. <see cref="Futex2Flags.SizeU32"/> | <see cref="Futex2Flags.Private"/>.</summary>
    public Futex2Flags Flags;

    /// <summary><c>__reserved</c>: must be 0.</summary>
    public uint Reserved;

    /// <summary>Creates an entry waiting on <paramref name="address"/> while it holds <paramref name="value"/>.</summary>
    /// <param name="address">Address of the futex word.</param>
    /// <param name="value">The expected value.</param>
    /// <param name="flags">Size and flags.</param>
    public FutexWaitV(nint address, ulong value, Futex2Flags flags)
    {
        Address = (ulong)address;
        Value = value;
        Flags = flags;
        Reserved = 0;
    }
}
