using System.Runtime.InteropServices;

namespace IoUring;

/// <summary><c>struct iovec</c>: one buffer of a scatter/gather list.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IoVec
{
    /// <summary><c>iov_base</c>.</summary>
    public nint Base;
    /// <summary><c>iov_len</c>.</summary>
    public nuint Length;

    /// <summary>Creates an iovec.</summary>
    /// <param name="address">The buffer's address.</param>
    /// <param name="length">The buffer's length in bytes.</param>
    public IoVec(nint address, nuint length)
    {
        Base = address;
        Length = length;
    }
}
