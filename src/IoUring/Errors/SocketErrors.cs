using System.Net.Sockets;
using System.Runtime.InteropServices;
using IoUring.Interop;

namespace IoUring;

/// <summary>errno to <see cref="SocketError"/>, as System.Net.Sockets maps them on Linux.</summary>
internal static class SocketErrors
{
    public static SocketError ToSocketError(int errno) => errno switch
    {
        Errno.ECONNRESET => SocketError.ConnectionReset,
        Errno.EPIPE => SocketError.Shutdown,
        Errno.ESHUTDOWN => SocketError.Shutdown,
        Errno.ECONNREFUSED => SocketError.ConnectionRefused,
        Errno.ECONNABORTED => SocketError.ConnectionAborted,
        Errno.ETIMEDOUT => SocketError.TimedOut,
        Errno.ENOTCONN => SocketError.NotConnected,
        Errno.EISCONN => SocketError.IsConnected,
        Errno.EHOSTUNREACH => SocketError.HostUnreachable,
        Errno.EHOSTDOWN => SocketError.HostDown,
        Errno.ENETUNREACH => SocketError.NetworkUnreachable,
        Errno.ENETDOWN => SocketError.NetworkDown,
        Errno.ENETRESET => SocketError.NetworkReset,
        Errno.EADDRINUSE => SocketError.AddressAlreadyInUse,
        Errno.EADDRNOTAVAIL => SocketError.AddressNotAvailable,
        Errno.EAFNOSUPPORT => SocketError.AddressFamilyNotSupported,
        Errno.EPROTONOSUPPORT => SocketError.ProtocolNotSupported,
        Errno.EMSGSIZE => SocketError.MessageSize,
        Errno.EDESTADDRREQ => SocketError.DestinationAddressRequired,
        Errno.ENOTSOCK => SocketError.NotSocket,
        Errno.EINPROGRESS => SocketError.InProgress,
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
