using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using IoUring.Interop;

namespace IoUring;

/// <summary>
/// A UDP socket on an <see cref="IoUringEngine"/>: each datagram is one <c>IORING_OP_SENDMSG</c> or
/// <c>IORING_OP_RECVMSG</c> (5.3) carrying the peer's address, with no thread blocked and no allocation per datagram
/// on the <see cref="SocketAddress"/> overloads.
/// </summary>
/// <remarks>
/// <para>Create one with <see cref="Bind(EndPoint)"/> (a server, or a client that wants a known port) or
/// <see cref="Create(AddressFamily)"/> (the kernel picks a port at the first send). <see cref="ConnectAsync"/> fixes
/// the peer: then <see cref="SendAsync"/> and <see cref="ReceiveAsync"/> work without addresses, and datagrams from
/// other peers are dropped by the kernel. IPv4 and IPv6 both work; an IPv6 socket bound to
/// <see cref="IPAddress.IPv6Any"/> also receives IPv4 datagrams (dual mode), whose senders appear as IPv4-mapped
/// addresses.</para>
/// <para>A datagram longer than the receive buffer is truncated to it (<c>MSG_TRUNC</c>), as <c>recvmsg(2)</c> does:
/// give a buffer of the largest datagram you expect (at most 65,507 bytes over IPv4).</para>
/// <para><see cref="ReceiveTimeout"/> and <see cref="SendTimeout"/> put a kernel-side deadline on every request
/// (<c>IORING_OP_LINK_TIMEOUT</c>): a request that passes it fails with <see cref="TimeoutException"/>.</para>
/// <para><see cref="Dispose"/> wakes pending requests with <c>IORING_OP_ASYNC_CANCEL</c> (a <c>shutdown(2)</c> does not
/// wake a receive on an unconnected UDP socket): they fail with <see cref="ObjectDisposedException"/>, and the
/// descriptor closes once the kernel has let go of it.</para>
/// </remarks>
public sealed class UringUdpSocket : IDisposable
{
    private const int SockDgram = 2;

    /// <summary>The socket's descriptor, referenced by every request in flight.</summary>
    private readonly SocketFdHandle _handle;

    /// <summary>Cancelled by <see cref="Dispose"/>: every request carries this token (linked with the caller's), so disposing cancels them in the kernel.</summary>
    private readonly CancellationTokenSource _closed = new();

    /// <summary>The socket's kernel-side receive deadline, or infinite.</summary>
    private TimeSpan _receiveTimeout = Timeout.InfiniteTimeSpan;

    /// <summary>The socket's kernel-side send deadline, or infinite.</summary>
    private TimeSpan _sendTimeout = Timeout.InfiniteTimeSpan;

    /// <summary>1 once disposed.</summary>
    private int _disposed;

    private UringUdpSocket(IoUringEngine engine, SocketFdHandle handle, AddressFamily family)
    {
        Engine = engine;
        _handle = handle;
        AddressFamily = family;
    }

    /// <summary>The engine that runs the socket's requests.</summary>
    public IoUringEngine Engine { get; }

    /// <summary>The socket's address family: <see cref="AddressFamily.InterNetwork"/> or <see cref="AddressFamily.InterNetworkV6"/>.</summary>
    public AddressFamily AddressFamily { get; }

    /// <summary>The bound endpoint (<c>getsockname</c>), or null before the socket is bound or once it is closed.</summary>
    public EndPoint? LocalEndPoint => SocketEndPoints.Query(_handle, peer: false) is IPEndPoint { Port: not 0 } local ? local : null;

    /// <summary>The connected peer (<c>getpeername</c>), or null when not connected or closed.</summary>
    public EndPoint? RemoteEndPoint => SocketEndPoints.Query(_handle, peer: true);

    /// <summary>
    /// How long each receive may wait for a datagram: the kernel cancels it when the time passes, and the call fails with
    /// <see cref="TimeoutException"/>. <see cref="Timeout.InfiniteTimeSpan"/> (the default) for no limit.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative (other than infinite).</exception>
    public TimeSpan ReceiveTimeout
    {
        get => _receiveTimeout;
        set => _receiveTimeout = ValidTimeout(value);
    }

    /// <summary>How long each send may take before the kernel cancels it (<see cref="TimeoutException"/>); infinite by default.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative (other than infinite).</exception>
    public TimeSpan SendTimeout
    {
        get => _sendTimeout;
        set => _sendTimeout = ValidTimeout(value);
    }

    private bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>The descriptor's handle (tests watch it close).</summary>
    internal SafeHandle Handle => _handle;

    /// <summary>A UDP socket bound to <paramref name="localEndPoint"/>, on the default engine for the calling thread's core.</summary>
    /// <param name="localEndPoint">An IPv4 or IPv6 <see cref="IPEndPoint"/>; port 0 picks a free port (read it from <see cref="LocalEndPoint"/>).</param>
    /// <returns>The bound socket.</returns>
    /// <exception cref="UringSocketException">The bind failed (for example <see cref="SocketError.AddressAlreadyInUse"/>).</exception>
    public static UringUdpSocket Bind(EndPoint localEndPoint) => Bind(IoUringEngineGroup.Default.Current, localEndPoint);

    /// <summary>A UDP socket bound to <paramref name="localEndPoint"/>, on <paramref name="group"/>'s engine for the calling thread's core.</summary>
    /// <param name="group">The engines.</param>
    /// <param name="localEndPoint">An IPv4 or IPv6 <see cref="IPEndPoint"/>.</param>
    /// <returns>The bound socket.</returns>
    public static UringUdpSocket Bind(IoUringEngineGroup group, EndPoint localEndPoint)
    {
        ArgumentNullException.ThrowIfNull(group);
        return Bind(group.Current, localEndPoint);
    }

    /// <summary>A UDP socket bound to <paramref name="localEndPoint"/> on <paramref name="engine"/>.</summary>
    /// <param name="engine">The engine to run the socket's requests.</param>
    /// <param name="localEndPoint">An IPv4 or IPv6 <see cref="IPEndPoint"/>; <see cref="IPAddress.IPv6Any"/> receives IPv4 too.</param>
    /// <returns>The bound socket.</returns>
    /// <exception cref="ArgumentException">The endpoint is not an IPv4 or IPv6 endpoint.</exception>
    /// <exception cref="UringSocketException">The bind failed (for example <see cref="SocketError.AddressAlreadyInUse"/>).</exception>
    public static UringUdpSocket Bind(IoUringEngine engine, EndPoint localEndPoint)
    {
        ArgumentNullException.ThrowIfNull(localEndPoint);
        UringUdpSocket socket = Create(engine, localEndPoint.AddressFamily);
        try
        {
            int fd = (int)socket._handle.DangerousGetHandle();
            UringSocketOptions.Default.Apply(fd, SocketRole.Datagram, localEndPoint);

            SocketAddress address = localEndPoint.Serialize();
            int r = Libc.Bind(fd, address.Buffer.Span[..address.Size]);
            if (r < 0)
            {
                throw new UringSocketException(-r, $"bind {localEndPoint}");
            }
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return socket;
    }

    /// <summary>An unbound UDP socket of <paramref name="family"/> on the default engine; the kernel binds it to a free port at the first send.</summary>
    /// <param name="family"><see cref="AddressFamily.InterNetwork"/> or <see cref="AddressFamily.InterNetworkV6"/>.</param>
    /// <returns>The socket.</returns>
    public static UringUdpSocket Create(AddressFamily family = AddressFamily.InterNetwork) => Create(IoUringEngineGroup.Default.Current, family);

    /// <summary>An unbound UDP socket of <paramref name="family"/> on <paramref name="engine"/>.</summary>
    /// <param name="engine">The engine to run the socket's requests.</param>
    /// <param name="family"><see cref="AddressFamily.InterNetwork"/> or <see cref="AddressFamily.InterNetworkV6"/>.</param>
    /// <returns>The socket.</returns>
    /// <exception cref="ArgumentException">Another address family.</exception>
    /// <exception cref="ObjectDisposedException">The engine is disposed.</exception>
    public static UringUdpSocket Create(IoUringEngine engine, AddressFamily family = AddressFamily.InterNetwork)
    {
        ArgumentNullException.ThrowIfNull(engine);
        int domain = SocketEndPoints.Domain(family, nameof(family), allowUnix: false);
        ObjectDisposedException.ThrowIf(engine.IsDisposing, engine);
        int fd = Libc.Socket(domain, SockDgram | Libc.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            throw new UringSocketException(-fd, "socket");
        }

        return new UringUdpSocket(engine, new SocketFdHandle(fd), family);
    }

    /// <summary>
    /// Fixes the peer (<c>IORING_OP_CONNECT</c>): <see cref="SendAsync"/> sends to it, <see cref="ReceiveAsync"/> receives
    /// only from it, and an ICMP "port unreachable" from it fails the next receive with
    /// <see cref="SocketError.ConnectionRefused"/>. No packet is sent.
    /// </summary>
    /// <param name="remoteEndPoint">The peer, of the socket's address family.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the peer is set.</returns>
    /// <exception cref="UringSocketException">The kernel refused the address (for example <see cref="SocketError.NetworkUnreachable"/>).</exception>
    public async ValueTask ConnectAsync(EndPoint remoteEndPoint, CancellationToken cancellationToken = default)
    {
        SocketAddress address = Serialize(remoteEndPoint, nameof(remoteEndPoint));
        CancellationTokenSource? linked = Begin(cancellationToken, out CancellationToken token);
        try
        {
            await Engine.ConnectSocketAsync(_handle, address.Buffer[..address.Size], token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && IsDisposed)
        {
            throw Disposed();
        }
        finally
        {
            linked?.Dispose();
        }
    }

    /// <summary>Sends <paramref name="datagram"/> to <paramref name="remoteEndPoint"/> (<c>IORING_OP_SENDMSG</c>).</summary>
    /// <param name="datagram">The datagram; pinned until it is sent.</param>
    /// <param name="remoteEndPoint">The peer, of the socket's address family.</param>
    /// <param name="cancellationToken">Cancels the send.</param>
    /// <returns>The number of bytes sent (the whole datagram).</returns>
    /// <exception cref="UringSocketException">The send failed (for example <see cref="SocketError.MessageSize"/> for a datagram too large).</exception>
    /// <exception cref="TimeoutException"><see cref="SendTimeout"/> passed.</exception>
    /// <exception cref="ObjectDisposedException">The socket was disposed.</exception>
    public ValueTask<int> SendToAsync(ReadOnlyMemory<byte> datagram, EndPoint remoteEndPoint, CancellationToken cancellationToken = default) =>
        SendToAsync(datagram, Serialize(remoteEndPoint, nameof(remoteEndPoint)), cancellationToken);

    /// <summary>
    /// Sends <paramref name="datagram"/> to the peer at <paramref name="remoteAddress"/>, without allocating: serialize the
    /// peer once (<see cref="EndPoint.Serialize"/>) and reuse it. The address is pinned until the send completes; do
    /// not change it meanwhile.
    /// </summary>
    /// <param name="datagram">The datagram.</param>
    /// <param name="remoteAddress">The peer's address, of the socket's address family.</param>
    /// <param name="cancellationToken">Cancels the send.</param>
    /// <returns>The number of bytes sent.</returns>
    public ValueTask<int> SendToAsync(ReadOnlyMemory<byte> datagram, SocketAddress remoteAddress, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(remoteAddress);
        CheckFamily(remoteAddress.Family, nameof(remoteAddress));
        return SendCoreAsync(datagram, remoteAddress.Buffer[..remoteAddress.Size], cancellationToken);
    }

    /// <summary>Sends <paramref name="datagram"/> to the connected peer (see <see cref="ConnectAsync"/>).</summary>
    /// <param name="datagram">The datagram.</param>
    /// <param name="cancellationToken">Cancels the send.</param>
    /// <returns>The number of bytes sent.</returns>
    /// <exception cref="UringSocketException"><see cref="SocketError.DestinationAddressRequired"/> when no peer was set, or another failure.</exception>
    public ValueTask<int> SendAsync(ReadOnlyMemory<byte> datagram, CancellationToken cancellationToken = default) =>
        SendCoreAsync(datagram, default, cancellationToken);

    /// <summary>Receives one datagram and its sender (<c>IORING_OP_RECVMSG</c>).</summary>
    /// <param name="buffer">Where to receive to; a longer datagram is truncated to it.</param>
    /// <param name="cancellationToken">Cancels the receive.</param>
    /// <returns>The bytes received and the sender.</returns>
    /// <exception cref="TimeoutException"><see cref="ReceiveTimeout"/> passed before a datagram came.</exception>
    /// <exception cref="ObjectDisposedException">The socket was disposed (also while the receive was pending).</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public async ValueTask<SocketReceiveFromResult> ReceiveFromAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var address = new SocketAddress(AddressFamily);
        int received = await ReceiveFromAsync(buffer, address, cancellationToken).ConfigureAwait(false);
        EndPoint template = AddressFamily == AddressFamily.InterNetworkV6 ? new IPEndPoint(IPAddress.IPv6Any, 0) : new IPEndPoint(IPAddress.Any, 0);
        return new SocketReceiveFromResult { ReceivedBytes = received, RemoteEndPoint = template.Create(address) };
    }

    /// <summary>
    /// Receives one datagram into <paramref name="buffer"/> and its sender's address into
    /// <paramref name="receivedAddress"/> (its <see cref="SocketAddress.Size"/> is set), without allocating: keep one
    /// <see cref="SocketAddress"/> per pending receive and compare it with a known peer's, or turn it into an
    /// <see cref="IPEndPoint"/> with <see cref="EndPoint.Create"/> when needed.
    /// </summary>
    /// <param name="buffer">Where to receive to; pinned until the datagram came.</param>
    /// <param name="receivedAddress">Filled with the sender's address; of the socket's address family, pinned until the receive completes.</param>
    /// <param name="cancellationToken">Cancels the receive.</param>
    /// <returns>The number of bytes received.</returns>
    public ValueTask<int> ReceiveFromAsync(Memory<byte> buffer, SocketAddress receivedAddress, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(receivedAddress);
        CheckFamily(receivedAddress.Family, nameof(receivedAddress));
        return ReceiveCoreAsync(buffer, receivedAddress, cancellationToken);
    }

    /// <summary>Receives one datagram from the connected peer (see <see cref="ConnectAsync"/>).</summary>
    /// <param name="buffer">Where to receive to; a longer datagram is truncated to it.</param>
    /// <param name="cancellationToken">Cancels the receive.</param>
    /// <returns>The number of bytes received (0 for an empty datagram).</returns>
    /// <exception cref="UringSocketException">For example <see cref="SocketError.ConnectionRefused"/>: the peer's port was unreachable.</exception>
    public ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ReceiveCoreAsync(buffer, null, cancellationToken);

    /// <summary>
    /// Starts a standing receive: one multishot <c>recvmsg</c> (Linux 6.0; liburing <c>io_uring_prep_recvmsg_multishot</c>)
    /// over a provided-buffer ring of its own, which delivers every datagram with its sender until it is disposed, with no
    /// system call and no allocation per datagram. Read it with <see cref="UringUdpReceiver.ReadAllAsync"/> or
    /// <see cref="UringUdpReceiver.ReceiveAsync"/>. For a server that handles a steady stream of datagrams this is much
    /// cheaper than one <see cref="ReceiveFromAsync(Memory{byte}, CancellationToken)"/> per datagram.
    /// </summary>
    /// <param name="options">Buffer count and size (how many datagrams may wait, how large each may be), or null for <see cref="UdpReceiverOptions.Default"/>.</param>
    /// <returns>The receiver, already armed; dispose it to stop receiving (disposing the socket stops it too).</returns>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    /// <exception cref="ObjectDisposedException">The socket is disposed.</exception>
    /// <remarks>
    /// Single-shot receives (<see cref="ReceiveFromAsync(Memory{byte}, CancellationToken)"/>) and a receiver on the same socket
    /// compete for datagrams: each datagram goes to one of them. The receiver ignores <see cref="ReceiveTimeout"/>; pass a
    /// token to its calls instead.
    /// </remarks>
    public UringUdpReceiver StartReceiving(UdpReceiverOptions? options = null)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        return new UringUdpReceiver(this, _handle, options ?? UdpReceiverOptions.Default, _closed.Token);
    }

    /// <summary>
    /// Closes the socket: pending requests are cancelled in the kernel (<c>IORING_OP_ASYNC_CANCEL</c>) and fail with
    /// <see cref="ObjectDisposedException"/>; the descriptor closes when the last of them lets go of it.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _closed.Cancel();
        _handle.Dispose();
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> SendCoreAsync(ReadOnlyMemory<byte> datagram, ReadOnlyMemory<byte> address, CancellationToken cancellationToken)
    {
        RequestDeadline deadline = RequestDeadline.After(_sendTimeout);
        CancellationTokenSource? linked = Begin(cancellationToken, out CancellationToken token);
        try
        {
            return await Engine.SendDatagramAsync(_handle, datagram, address, token, deadline).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (CancelOutcome(cancellationToken) is Exception outcome)
        {
            throw outcome;
        }
        finally
        {
            linked?.Dispose();
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReceiveCoreAsync(Memory<byte> buffer, SocketAddress? address, CancellationToken cancellationToken)
    {
        RequestDeadline deadline = RequestDeadline.After(_receiveTimeout);
        CancellationTokenSource? linked = Begin(cancellationToken, out CancellationToken token);
        try
        {
            long result = await Engine.ReceiveDatagramAsync(_handle, buffer, address?.Buffer ?? default, token, deadline).ConfigureAwait(false);
            if (address is not null)
            {
                address.Size = (int)(result >> 32);
            }

            return (int)result;
        }
        catch (OperationCanceledException) when (CancelOutcome(cancellationToken) is Exception outcome)
        {
            throw outcome;
        }
        finally
        {
            linked?.Dispose();
        }
    }

    /// <summary>
    /// What a request that ended in <see cref="OperationCanceledException"/> throws: the caller's own cancellation when
    /// its token was cancelled, <see cref="ObjectDisposedException"/> when the socket's dispose cancelled it, or null
    /// (the exception goes on as it is).
    /// </summary>
    private Exception? CancelOutcome(CancellationToken cancellationToken) =>
        cancellationToken.IsCancellationRequested ? new OperationCanceledException(cancellationToken)
        : IsDisposed ? Disposed()
        : null;

    /// <summary>
    /// The token a request carries: the socket's own (cancelled at dispose), linked with the caller's when it has one
    /// (the linked source, to dispose after the request, is returned; none is allocated for a caller without a token).
    /// </summary>
    private CancellationTokenSource? Begin(CancellationToken cancellationToken, out CancellationToken token)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (!cancellationToken.CanBeCanceled)
        {
            token = _closed.Token;
            return null;
        }

        CancellationTokenSource linked;
        try
        {
            linked = CancellationTokenSource.CreateLinkedTokenSource(_closed.Token, cancellationToken);
        }
        catch (ObjectDisposedException)
        {
            throw Disposed();
        }

        token = linked.Token;
        return linked;
    }

    private SocketAddress Serialize(EndPoint endPoint, string paramName)
    {
        ArgumentNullException.ThrowIfNull(endPoint, paramName);
        if (AddressFamily == AddressFamily.InterNetworkV6 && endPoint is IPEndPoint { AddressFamily: AddressFamily.InterNetwork } v4)
        {
            // An IPv6 socket reaches IPv4 peers through IPv4-mapped addresses (like Socket.DualMode).
            endPoint = new IPEndPoint(v4.Address.MapToIPv6(), v4.Port);
        }

        CheckFamily(endPoint.AddressFamily, paramName);
        return endPoint.Serialize();
    }

    private void CheckFamily(AddressFamily family, string paramName)
    {
        if (family != AddressFamily)
        {
            throw new ArgumentException($"The address is {family}, but the socket is {AddressFamily}.", paramName);
        }
    }

    private static ObjectDisposedException Disposed() => new(nameof(UringUdpSocket));

    private static TimeSpan ValidTimeout(TimeSpan value)
    {
        if (value != Timeout.InfiniteTimeSpan && value < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "The timeout must be zero or positive, or Timeout.InfiniteTimeSpan.");
        }

        return value;
    }
}
