using System.Net.Sockets;
using System.Runtime.InteropServices;
using IoUring.Interop;

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

/// <summary>errno to <see cref="SocketError"/>, as System.Net.Sockets maps them on Linux.</summary>
internal static class SocketErrors
{
    public const int ENOTSOCK = 88;
    public const int EDESTADDRREQ = 89;
    public const int EMSGSIZE = 90;
    public const int EPROTONOSUPPORT = 93;
    public const int EAFNOSUPPORT = 97;
    public const int EADDRINUSE = 98;
    public const int EADDRNOTAVAIL = 99;
    public const int ENETDOWN = 100;
    public const int ENETUNREACH = 101;
    public const int ENETRESET = 102;
    public const int ECONNABORTED = 103;
    public const int EISCONN = 106;
    public const int ENOTCONN = 107;
    public const int ESHUTDOWN = 108;
    public const int ECONNREFUSED = 111;
    public const int EHOSTDOWN = 112;
    public const int EHOSTUNREACH = 113;
    public const int EINPROGRESS = 115;

    public static SocketError ToSocketError(int errno) => errno switch
    {
        Errno.ECONNRESET => SocketError.ConnectionReset,
        Errno.EPIPE => SocketError.Shutdown,
        ESHUTDOWN => SocketError.Shutdown,
        ECONNREFUSED => SocketError.ConnectionRefused,
        ECONNABORTED => SocketError.ConnectionAborted,
        Errno.ETIMEDOUT => SocketError.TimedOut,
        ENOTCONN => SocketError.NotConnected,
        EISCONN => SocketError.IsConnected,
        EHOSTUNREACH => SocketError.HostUnreachable,
        EHOSTDOWN => SocketError.HostDown,
        ENETUNREACH => SocketError.NetworkUnreachable,
        ENETDOWN => SocketError.NetworkDown,
        ENETRESET => SocketError.NetworkReset,
        EADDRINUSE => SocketError.AddressAlreadyInUse,
        EADDRNOTAVAIL => SocketError.AddressNotAvailable,
        EAFNOSUPPORT => SocketError.AddressFamilyNotSupported,
        EPROTONOSUPPORT => SocketError.ProtocolNotSupported,
        EMSGSIZE => SocketError.MessageSize,
        EDESTADDRREQ => SocketError.DestinationAddressRequired,
        ENOTSOCK => SocketError.NotSocket,
        EINPROGRESS => SocketError.InProgress,
        Errno.EALREADY => SocketError.AlreadyInProgress,
        Errno.EAGAIN => SocketError.WouldBlock,
        Errno.EINTR => SocketError.Interrupted,
        Errno.EACCES or Errno.EPERM => SocketError.AccessDenied,
        Errno.EFAULT => SocketError.Fault,
        Errno.EINVAL => SocketError.InvalidArgument,
        Errno.EMFILE or Errno.ENFILE => SocketError.TooManyOpenSockets,
        Errno.ENOBUFS or Errno.ENOMEM => SocketError.NoBufferSpaceAvailable,
        Errno.EOPNOTSUPP => SocketError.OperationNotSupported,
        Errno.ECANCELED or Errno.EBADF => SocketError.OperationAborted,
        _ => SocketError.SocketError,
    };

    /// <summary>The C library's text for the errno (the same text <see cref="SocketException"/> uses).</summary>
    public static string Describe(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    /// <summary>
    /// The exception a pipe or stream over a socket reports, like <see cref="NetworkStream"/>: an
    /// <see cref="IOException"/> whose inner exception is the <see cref="UringSocketException"/>.
    /// </summary>
    public static IOException ForTransport(int errno, bool reading)
    {
        var inner = new UringSocketException(errno, reading ? "recv" : "send");
        string verb = reading ? "read data from" : "write data to";
        return new IOException($"Unable to {verb} the transport connection: {inner.Message}.", inner);
    }

    /// <summary>Wraps an exception from a socket request for a pipe or stream (an <see cref="IOException"/> with the socket error inside).</summary>
    public static Exception ForTransport(Exception e, bool reading) => e switch
    {
        UringSocketException s => new IOException($"Unable to {(reading ? "read data from" : "write data to")} the transport connection: {s.Message}.", s),
        IoUringException u => ForTransport(u.Errno, reading),
        _ => e,
    };
}
