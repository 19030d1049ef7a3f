using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using IoUring.Interop;

namespace IoUring;

// Creating: listen, connect, or adopt a Socket or a handle, on the default group, a group or an engine.
public sealed partial class UringSocket
{
    /// <summary>
    /// Creates a TCP socket bound to <paramref name="endPoint"/> and listening, on the process-wide default engines
    /// (<see cref="IoUringEngineGroup.Default"/>): the listener runs on one of them and the connections
    /// <see cref="AcceptAsync(CancellationToken)"/> returns are spread over all of them, round robin.
    /// </summary>
    /// <param name="endPoint">An <see cref="IPEndPoint"/> (IPv4 or IPv6) or a <see cref="UnixDomainSocketEndPoint"/>.</param>
    /// <param name="options">Options, or null for <see cref="UringSocketOptions.Default"/>.</param>
    /// <returns>The listening socket.</returns>
    /// <exception cref="SocketException">Binding or listening failed (for example <see cref="SocketError.AddressAlreadyInUse"/>).</exception>
    /// <exception cref="IoUringSetupException">io_uring is unavailable here; the message says why.</exception>
    public static UringSocket Listen(EndPoint endPoint, UringSocketOptions? options = null) => Listen(IoUringEngineGroup.Default, endPoint, options);

    /// <summary>
    /// Creates a listening TCP socket (as <see cref="Listen(IoUringEngine, EndPoint, UringSocketOptions?)"/>) on one of
    /// <paramref name="group"/>'s engines; the connections <see cref="AcceptAsync(CancellationToken)"/> returns are spread
    /// over all of them, round robin.
    /// </summary>
    /// <param name="group">The engines.</param>
    /// <param name="endPoint">An <see cref="IPEndPoint"/> (IPv4 or IPv6) or a <see cref="UnixDomainSocketEndPoint"/>.</param>
    /// <param name="options">Options, or null for <see cref="UringSocketOptions.Default"/>.</param>
    /// <returns>The listening socket.</returns>
    /// <exception cref="SocketException">Binding or listening failed (for example <see cref="SocketError.AddressAlreadyInUse"/>).</exception>
    public static UringSocket Listen(IoUringEngineGroup group, EndPoint endPoint, UringSocketOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(group);
        UringSocket listener = Listen(group.Next(), endPoint, options);
        listener._acceptGroup = group;
        return listener;
    }

    /// <summary>Connects a new TCP socket to <paramref name="remoteEndPoint"/>, on the default engine for the calling thread's core.</summary>
    /// <param name="remoteEndPoint">An <see cref="IPEndPoint"/>, a <see cref="DnsEndPoint"/> or a <see cref="UnixDomainSocketEndPoint"/>.</param>
    /// <param name="options">Options, or null for <see cref="UringSocketOptions.Default"/>.</param>
    /// <param name="cancellationToken">Cancels the connect.</param>
    /// <returns>The connected socket.</returns>
    /// <exception cref="UringSocketException">The connect failed (for example <see cref="SocketError.ConnectionRefused"/>).</exception>
    /// <exception cref="IoUringSetupException">io_uring is unavailable here; the message says why.</exception>
    public static ValueTask<UringSocket> ConnectAsync(EndPoint remoteEndPoint, UringSocketOptions? options = null, CancellationToken cancellationToken = default) =>
        ConnectAsync(IoUringEngineGroup.Default.Current, remoteEndPoint, options, cancellationToken);

    /// <summary>Connects a new TCP socket to <paramref name="remoteEndPoint"/>, on <paramref name="group"/>'s engine for the calling thread's core.</summary>
    /// <param name="group">The engines.</param>
    /// <param name="remoteEndPoint">An <see cref="IPEndPoint"/>, a <see cref="DnsEndPoint"/> or a <see cref="UnixDomainSocketEndPoint"/>.</param>
    /// <param name="options">Options, or null for <see cref="UringSocketOptions.Default"/>.</param>
    /// <param name="cancellationToken">Cancels the connect.</param>
    /// <returns>The connected socket.</returns>
    public static ValueTask<UringSocket> ConnectAsync(IoUringEngineGroup group, EndPoint remoteEndPoint, UringSocketOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(group);
        return ConnectAsync(group.Current, remoteEndPoint, options, cancellationToken);
    }

    /// <summary>
    /// Creates a TCP socket bound to <paramref name="endPoint"/> and listening (<c>SO_REUSEADDR</c> set). An
    /// <see cref="IPAddress.IPv6Any"/> endpoint accepts IPv4 too (dual mode). Port 0 picks a free port: read it from
    /// <see cref="LocalEndPoint"/>.
    /// </summary>
    /// <param name="engine">The engine to run the socket's requests.</param>
    /// <param name="endPoint">An <see cref="IPEndPoint"/> (IPv4 or IPv6) or a <see cref="UnixDomainSocketEndPoint"/>.</param>
    /// <param name="options">Options, or null for <see cref="UringSocketOptions.Default"/>.</param>
    /// <returns>The listening socket.</returns>
    /// <exception cref="SocketException">Binding or listening failed (for example <see cref="SocketError.AddressAlreadyInUse"/>).</exception>
    public static UringSocket Listen(IoUringEngine engine, EndPoint endPoint, UringSocketOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(endPoint);
        options ??= UringSocketOptions.Default;
        options.Validate();
        ObjectDisposedException.ThrowIf(engine.IsDisposing, engine);
        (SocketFdHandle handle, byte[] address) = CreateSocket(endPoint);
        try
        {
            int fd = (int)handle.DangerousGetHandle();
            options.Apply(fd, SocketRole.Listener, endPoint);
            int r = Libc.Bind(fd, address);
            if (r < 0)
            {
                throw new UringSocketException(-r, $"bind {endPoint}");
            }

            r = Libc.Listen(fd, options.ListenBacklog);
            if (r < 0)
            {
                throw new UringSocketException(-r, "listen");
            }
        }
        catch
        {
            handle.Dispose();
            throw;
        }

        return new UringSocket(engine, handle, socket: null, options, listening: true);
    }

    /// <summary>A new stream socket (<c>SOCK_CLOEXEC</c>) of <paramref name="endPoint"/>'s family, and its native sockaddr.</summary>
    private static (SocketFdHandle Handle, byte[] Address) CreateSocket(EndPoint endPoint)
    {
        int domain = SocketEndPoints.Domain(endPoint.AddressFamily, nameof(endPoint));
        SocketAddress socketAddress = endPoint.Serialize();
        byte[] address = socketAddress.Buffer[..socketAddress.Size].ToArray();
        int fd = Libc.Socket(domain, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            throw new UringSocketException(-fd, "socket");
        }

        return (new SocketFdHandle(fd), address);
    }

    /// <summary>Connects a new TCP socket to <paramref name="remoteEndPoint"/> with <c>IORING_OP_CONNECT</c>.</summary>
    /// <param name="engine">The engine to run the socket's requests.</param>
    /// <param name="remoteEndPoint">An <see cref="IPEndPoint"/>, a <see cref="DnsEndPoint"/> (resolved first; the first address is used) or a <see cref="UnixDomainSocketEndPoint"/>.</param>
    /// <param name="options">Options, or null for <see cref="UringSocketOptions.Default"/>.</param>
    /// <param name="cancellationToken">Cancels the connect.</param>
    /// <returns>The connected socket.</returns>
    /// <exception cref="UringSocketException">The connect failed (for example <see cref="SocketError.ConnectionRefused"/>).</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled first.</exception>
    /// <exception cref="TimeoutException"><see cref="UringSocketOptions.ConnectTimeout"/> passed first (the kernel cancelled the connect).</exception>
    public static async ValueTask<UringSocket> ConnectAsync(IoUringEngine engine, EndPoint remoteEndPoint, UringSocketOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(remoteEndPoint);
        options ??= UringSocketOptions.Default;
        options.Validate();
        if (remoteEndPoint is DnsEndPoint dns)
        {
            IPAddress[] addresses = await Dns.GetHostAddressesAsync(dns.Host, cancellationToken).ConfigureAwait(false);
            if (addresses.Length == 0)
            {
                throw new SocketException((int)SocketError.HostNotFound);
            }

            remoteEndPoint = new IPEndPoint(addresses[0], dns.Port);
        }

        (SocketFdHandle handle, byte[] native) = CreateSocket(remoteEndPoint);
        var result = new UringSocket(engine, handle, socket: null, options, listening: false);
        try
        {
            await engine.ConnectSocketAsync(result._handle, native, cancellationToken, RequestDeadline.After(options.ConnectTimeout)).ConfigureAwait(false);
            options.Apply((int)result._handle.DangerousGetHandle(), SocketRole.Connected, remoteEndPoint);
        }
        catch
        {
            result.Dispose();
            throw;
        }

        return result;
    }

    /// <summary>
    /// Adopts a <see cref="System.Net.Sockets.Socket"/> (connected or listening). The new object owns it: disposing
    /// it disposes the socket. Do not use the socket's own I/O methods afterwards.
    /// </summary>
    /// <param name="engine">The engine to run the socket's requests.</param>
    /// <param name="socket">The socket.</param>
    /// <param name="options">Options, or null for <see cref="UringSocketOptions.Default"/>.</param>
    /// <returns>The adopted socket.</returns>
    /// <exception cref="ArgumentException">The socket is not a stream socket (for example UDP): shutting it down would not wake a pending receive, so it could never be closed.</exception>
    /// <exception cref="ObjectDisposedException">The socket was disposed.</exception>
    public static UringSocket FromSocket(IoUringEngine engine, Socket socket, UringSocketOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(socket);
        options ??= UringSocketOptions.Default;
        options.Validate();
        if (socket.SocketType != SocketType.Stream)
        {
            throw new ArgumentException($"Only stream sockets (TCP, Unix stream) can be adopted, not {socket.SocketType}.", nameof(socket));
        }

        bool listening = (int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.AcceptConnection)! != 0;
        return new UringSocket(engine, socket.SafeHandle, socket, options, listening);
    }

    /// <summary>Adopts a socket handle (connected or listening); the new object owns it.</summary>
    /// <param name="engine">The engine to run the socket's requests.</param>
    /// <param name="handle">The handle.</param>
    /// <param name="options">Options, or null for <see cref="UringSocketOptions.Default"/>.</param>
    /// <returns>The adopted socket.</returns>
    public static UringSocket FromHandle(IoUringEngine engine, SafeSocketHandle handle, UringSocketOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(handle);
        ObjectDisposedException.ThrowIf(handle.IsClosed || handle.IsInvalid, handle);
        return FromSocket(engine, new Socket(handle), options);
    }
}
