using System.Net.Sockets;

namespace IoUring;

/// <summary>
/// A failed io_uring socket request: a <see cref="SocketException"/> (so code written for
/// <see cref="System.Net.Sockets.Socket"/> catches it) that also carries the kernel's errno and names the operation.
/// </summary>
public sealed class UringSocketException : SocketException
{
    /// <summary>Creates the exception for <paramref name="errno"/>.</summary>
    /// <param name="errno">The positive errno the kernel returned.</param>
    /// <param name="operation">The request, for the message (for example <c>recv</c>).</param>
    public UringSocketException(int errno, string operation)
        : base((int)SocketErrors.ToSocketError(errno), $"{operation} failed: {IoUringException.ErrnoName(errno)} ({errno}): {SocketErrors.Describe(errno)}")
    {
        Errno = errno;
        Operation = operation;
    }

    /// <summary>The positive errno (for example 104, <c>ECONNRESET</c>).</summary>
    public int Errno { get; }

    /// <summary>The request that failed.</summary>
    public string Operation { get; }
}
