using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using IoUring.Interop;

namespace IoUring;

/// <summary>
/// A socket driven by an <see cref="IoUringEngine"/>: listen and accept (multishot where the kernel has it), connect,
/// receive, send and shutdown as io_uring requests. Wrap a connected socket in a <see cref="UringConnection"/>
/// (<see cref="CreateConnection"/>) for System.IO.Pipelines with back-pressure, or use
/// <see cref="ReceiveAsync(Memory{byte}, CancellationToken)"/>/<see cref="SendAsync(ReadOnlyMemory{byte}, CancellationToken)"/> directly.
/// </summary>
/// <remarks>
/// <para>Errors are <see cref="UringSocketException"/>s: <see cref="SocketException"/>s with the
/// <see cref="SocketError"/> System.Net.Sockets reports for the errno (for example <see cref="SocketError.ConnectionReset"/>
/// for <c>ECONNRESET</c>, <see cref="SocketError.Shutdown"/> for <c>EPIPE</c>), plus the errno itself.</para>
/// <para>A socket's descriptor stays open while any request on it is in the kernel, even after
/// <see cref="Dispose"/>: the number is never reused under a pending request.</para>
/// </remarks>
public sealed class UringSocket : IDisposable, IAsyncDisposable
{
    private readonly SafeHandle _handle;
    private readonly UringSocketOptions _options;
    private readonly object _gate = new();
    private Socket? _socket;
    private AcceptOperation? _accept;
    private UringConnection? _connection;
    private int _disposed;

    /// <summary>For a listener made on a group: the engines accepted sockets are spread over.</summary>
    private IoUringEngineGroup? _acceptGroup;

    private UringSocket(IoUringEngine engine, SafeHandle handle, Socket? socket, UringSocketOptions options, bool listening)
    {
        Engine = engine;
        _handle = handle;
        _socket = socket;
        _options = options;
        IsListening = listening;
    }

    /// <summary>The engine that runs the socket's requests.</summary>
    public IoUringEngine Engine { get; }

    /// <summary>
    /// The socket's handle (owned by this object). Closing it closes the descriptor gracefully (FIN, not RST);
    /// an adopted <see cref="System.Net.Sockets.Socket"/>'s own handle for an adopted socket.
    /// </summary>
    public SafeHandle SafeHandle => _handle;

    /// <summary>True for a listening socket (made by <see cref="Listen(IoUringEngine, EndPoint, UringSocketOptions?)"/> or adopted in the listening state).</summary>
    public bool IsListening { get; }

    /// <summary>The local endpoint (<c>getsockname</c>), or null when the socket has none or is closed.</summary>
    public EndPoint? LocalEndPoint => QueryEndPoint(peer: false);

    /// <summary>The remote endpoint of a connected socket (<c>getpeername</c>), or null when it is not connected or closed.</summary>
    public EndPoint? RemoteEndPoint => QueryEndPoint(peer: true);

    private EndPoint? QueryEndPoint(bool peer) => SocketEndPoints.Query(_handle, peer);

    /// <summary>True when the listener accepts with a multishot request (false: one request per connection, or not accepting yet).</summary>
    public bool UsesMultishotAccept => _accept?.IsMultishot ?? false;

    private bool IsDisposed => Volatile.Read(ref _disposed) != 0;

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

    /// <summary>
    /// Waits for the next connection. The first call starts accepting (one multishot request where the kernel has
    /// it); connections that arrive while nobody waits are queued, up to <see cref="UringSocketOptions.MaxQueuedAccepts"/>.
    /// </summary>
    /// <param name="cancellationToken">Cancels this wait (accepting goes on for the next call).</param>
    /// <returns>The connection, on this socket's engine (for a listener made on a group, on the group's next engine).</returns>
    /// <exception cref="InvalidOperationException">The socket is not listening.</exception>
    /// <exception cref="UringSocketException">Accepting failed (for example out of descriptors: <see cref="SocketError.TooManyOpenSockets"/>).
    /// The listener stays usable: call again. After running out of descriptors or memory it waits before accepting
    /// again (10 ms, doubling up to 250 ms while the errors go on), so a loop that retries at once does not spin and
    /// accepting resumes within 250 ms of descriptors being freed; connections meanwhile wait in the backlog.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The listener or its engine was disposed.</exception>
    public ValueTask<UringSocket> AcceptAsync(CancellationToken cancellationToken = default) => AcceptAsync(_acceptGroup?.Next() ?? Engine, cancellationToken);

    /// <summary>Like <see cref="AcceptAsync(CancellationToken)"/>, with the new socket on <paramref name="engine"/> (for example the next engine of an <see cref="IoUringEngineGroup"/>).</summary>
    /// <param name="engine">The engine for the accepted socket's requests.</param>
    /// <param name="cancellationToken">Cancels this wait.</param>
    /// <returns>The connection.</returns>
    public async ValueTask<UringSocket> AcceptAsync(IoUringEngine engine, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (!IsListening)
        {
            throw new InvalidOperationException("The socket is not listening: use UringSocket.Listen.");
        }

        AcceptOperation accept = EnsureAccepting();
        int fd;
        try
        {
            fd = await accept.TakeAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (System.Threading.Channels.ChannelClosedException e)
        {
            throw e.InnerException ?? new ObjectDisposedException(nameof(UringSocket));
        }

        if (fd < 0)
        {
            throw new UringSocketException(-fd, "accept");
        }

        var handle = new SocketFdHandle(fd);
        _options.Apply(fd, SocketRole.Accepted, endPoint: null);

        if (IsDisposed || engine.IsDisposing)
        {
            handle.Dispose();
            throw new ObjectDisposedException(IsDisposed ? nameof(UringSocket) : nameof(IoUringEngine));
        }

        return new UringSocket(engine, handle, socket: null, _options, listening: false);
    }

    private AcceptOperation EnsureAccepting()
    {
        AcceptOperation? accept = Volatile.Read(ref _accept);
        if (accept is not null)
        {
            return accept;
        }

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            if (_accept is null)
            {
                accept = new AcceptOperation(Engine, _handle, _options);
                _ = accept.RequestArm();
                Volatile.Write(ref _accept, accept);
            }

            return _accept;
        }
    }

    /// <summary>Receives into <paramref name="buffer"/> (<c>IORING_OP_RECV</c>).</summary>
    /// <param name="buffer">Where to receive to; pinned until the request completes.</param>
    /// <param name="cancellationToken">Cancels the receive (<c>IORING_OP_ASYNC_CANCEL</c>).</param>
    /// <returns>The number of bytes received; 0 when the peer has shut down its side (end of stream).</returns>
    /// <exception cref="UringSocketException">The receive failed (for example <see cref="SocketError.ConnectionReset"/>).</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before data arrived.</exception>
    /// <exception cref="InvalidOperationException">The socket is used by a <see cref="UringConnection"/>.</exception>
    public ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ThrowIfNotRaw();
        return Engine.ReceiveSocketAsync(_handle, buffer, cancellationToken);
    }

    /// <summary>
    /// Like <see cref="ReceiveAsync(Memory{byte}, CancellationToken)"/>, with a deadline the kernel enforces: the receive
    /// is linked to an <c>IORING_OP_LINK_TIMEOUT</c> (no timer object per call) and cancelled when
    /// <paramref name="timeout"/> passes first.
    /// </summary>
    /// <param name="buffer">Where to receive to; pinned until the request completes.</param>
    /// <param name="timeout">How long to wait for data; <see cref="Timeout.InfiniteTimeSpan"/> for no limit.</param>
    /// <param name="cancellationToken">Cancels the receive.</param>
    /// <returns>The number of bytes received; 0 at end of stream.</returns>
    /// <exception cref="TimeoutException">No data came within <paramref name="timeout"/>; nothing was received, the socket stays usable.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (other than infinite).</exception>
    public ValueTask<int> ReceiveAsync(Memory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        RequestDeadline deadline = RequestDeadline.After(timeout);
        ThrowIfNotRaw();
        return Engine.ReceiveSocketAsync(_handle, buffer, cancellationToken, deadline);
    }

    /// <summary>Sends all of <paramref name="buffer"/> (<c>IORING_OP_SEND</c> with <c>MSG_WAITALL</c>, repeated if the kernel still sends less).</summary>
    /// <param name="buffer">The data; pinned until it is sent.</param>
    /// <param name="cancellationToken">Cancels the send; bytes already sent stay sent.</param>
    /// <returns>A task that completes when every byte was handed to the kernel.</returns>
    /// <exception cref="UringSocketException">The send failed (for example <see cref="SocketError.Shutdown"/> for <c>EPIPE</c>, <see cref="SocketError.ConnectionReset"/>).</exception>
    /// <exception cref="InvalidOperationException">The socket is used by a <see cref="UringConnection"/>.</exception>
    public ValueTask SendAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        SendCoreAsync(buffer, cancellationToken, default);

    /// <summary>
    /// Like <see cref="SendAsync(ReadOnlyMemory{byte}, CancellationToken)"/>, with a deadline the kernel enforces
    /// (<c>IORING_OP_LINK_TIMEOUT</c>): every send request of this call shares the deadline <paramref name="timeout"/>
    /// from now.
    /// </summary>
    /// <param name="buffer">The data; pinned until it is sent.</param>
    /// <param name="timeout">How long the whole send may take; <see cref="Timeout.InfiniteTimeSpan"/> for no limit.</param>
    /// <param name="cancellationToken">Cancels the send; bytes already sent stay sent.</param>
    /// <returns>A task that completes when every byte was handed to the kernel.</returns>
    /// <exception cref="TimeoutException">The peer did not take the data in time (bytes already sent stay sent).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (other than infinite).</exception>
    public ValueTask SendAsync(ReadOnlyMemory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        SendCoreAsync(buffer, cancellationToken, RequestDeadline.After(timeout));

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendCoreAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken, RequestDeadline deadline)
    {
        ThrowIfNotRaw();
        while (!buffer.IsEmpty)
        {
            int sent = await Engine.SendSocketAsync(_handle, buffer, cancellationToken, deadline: deadline).ConfigureAwait(false);
            buffer = buffer[sent..];
        }
    }

    /// <summary>Shuts down one or both directions (<c>IORING_OP_SHUTDOWN</c>): <see cref="SocketShutdown.Send"/> sends FIN, so the peer reads end of stream.</summary>
    /// <param name="how">Which direction.</param>
    /// <returns>A task that completes when the shutdown is done.</returns>
    /// <exception cref="UringSocketException">The shutdown failed (for example <see cref="SocketError.NotConnected"/>).</exception>
    public ValueTask ShutdownAsync(SocketShutdown how)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        return Engine.ShutdownSocketAsync(_handle, (int)how);
    }

    /// <summary>
    /// Wraps the connected socket in a <see cref="UringConnection"/>: an <see cref="System.IO.Pipelines.IDuplexPipe"/>
    /// that receives into its input pipe (multishot, from the engine's buffer ring) and sends what is written to its
    /// output pipe. From then on the connection owns the socket (disposing it disposes the socket), and the socket's
    /// own <see cref="ReceiveAsync(Memory{byte}, CancellationToken)"/>/<see cref="SendAsync(ReadOnlyMemory{byte}, CancellationToken)"/> are refused.
    /// </summary>
    /// <param name="options">Options, or null for <see cref="UringConnectionOptions.Default"/>.</param>
    /// <returns>The connection.</returns>
    /// <exception cref="InvalidOperationException">The socket is listening or already has a connection.</exception>
    public UringConnection CreateConnection(UringConnectionOptions? options = null)
    {
        options ??= UringConnectionOptions.Default;
        options.Validate();
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            if (IsListening)
            {
                throw new InvalidOperationException("A listening socket cannot be a connection; accept one first.");
            }

            if (_connection is not null)
            {
                throw new InvalidOperationException("The socket already has a connection.");
            }

            _connection = new UringConnection(this, options);
            return _connection;
        }
    }

    private void ThrowIfNotRaw()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (_connection is not null)
        {
            throw new InvalidOperationException("The socket is used by a UringConnection: read and write through its pipes.");
        }
    }

    /// <summary>
    /// Closes the socket. A listener stops accepting and closes connections accepted but not taken. Requests still
    /// pending are woken (the socket is shut down first) and the descriptor is closed when the last one completes.
    /// A socket with a <see cref="UringConnection"/> is closed through it, gracefully, as
    /// <see cref="UringConnection.Dispose"/> does: what the application flushed is sent first (up to
    /// <see cref="UringConnectionOptions.CloseTimeout"/>), and a completed output's end of stream reaches the peer.
    /// </summary>
    public void Dispose()
    {
        if (Connection() is UringConnection connection)
        {
            connection.Dispose();
            return;
        }

        DisposeCore(shutdown: true, abortive: false);
    }

    /// <summary>The connection that owns this socket, or null.</summary>
    private UringConnection? Connection()
    {
        lock (_gate)
        {
            return _connection;
        }
    }

    /// <summary>
    /// Closes the socket. <paramref name="shutdown"/> first shuts both directions down, which wakes requests still
    /// pending on it (so their references go and the descriptor really closes); <paramref name="abortive"/> sets
    /// <c>SO_LINGER</c> 0 so the close sends RST (a connection's abort).
    /// </summary>
    internal void DisposeCore(bool shutdown, bool abortive)
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        AcceptOperation? accept;
        lock (_gate)
        {
            accept = _accept;
        }

        accept?.RequestClose();
        if (!IsListening && (shutdown || abortive))
        {
            bool added = false;
            try
            {
                _handle.DangerousAddRef(ref added);
                int fd = (int)_handle.DangerousGetHandle();
                if (abortive)
                {
                    _ = Libc.SetLingerZero(fd);
                }

                if (shutdown)
                {
                    // Wakes requests blocked on the socket (a pending receive returns 0, a send fails), like Socket.Dispose.
                    _ = Libc.Shutdown(fd, Libc.SHUT_RDWR);
                }
            }
            catch (ObjectDisposedException)
            {
            }
            finally
            {
                if (added)
                {
                    _handle.DangerousRelease();
                }
            }
        }

        CloseDescriptor(accept?.Closed);
    }

    /// <summary>
    /// Closes the descriptor without blocking the caller. A bare handle closes when the last pending request lets go
    /// of it. A <see cref="System.Net.Sockets.Socket"/>'s Dispose instead spins until every reference is released, and
    /// those are held by requests the loop completes: so it runs after the listener's accept request is gone, and
    /// never on the loop thread itself (an inline continuation would wait for itself).
    /// </summary>
    private void CloseDescriptor(Task? acceptClosed)
    {
        Socket? socket;
        lock (_gate)
        {
            socket = _socket;
        }

        if (socket is null)
        {
            _handle.Dispose();
        }
        else if (acceptClosed is not null && !acceptClosed.IsCompleted)
        {
            _ = acceptClosed.ContinueWith(static (_, state) => ((Socket)state!).Dispose(), socket, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }
        else if (!Engine.CanWaitForLoop)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static state => state.Dispose(), socket, preferLocal: false);
        }
        else
        {
            socket.Dispose();
        }
    }

    /// <summary>
    /// Like <see cref="Dispose"/>; for a listener, also waits until the kernel has given back its accept request; for
    /// a socket with a <see cref="UringConnection"/>, waits for the connection's graceful close without blocking.
    /// </summary>
    /// <returns>A task that completes when the socket is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Connection() is UringConnection connection)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            return;
        }

        Dispose();
        AcceptOperation? accept = _accept;
        if (accept is not null)
        {
            await accept.Closed.ConfigureAwait(false);
        }
    }

}

/// <summary>
/// A socket descriptor that <c>close(2)</c>s normally when released. (A <see cref="SafeSocketHandle"/> that no
/// <see cref="System.Net.Sockets.Socket"/> closed first releases abortively: it sets <c>SO_LINGER</c> 0, so the peer
/// gets RST and loses data still in flight.)
/// </summary>
internal sealed class SocketFdHandle : SafeHandle
{
    public SocketFdHandle(int fd)
        : base(invalidHandleValue: -1, ownsHandle: true)
    {
        SetHandle(fd);
    }

    public override bool IsInvalid => handle == -1;

    protected override bool ReleaseHandle() => Libc.Close((int)handle) == 0;
}
