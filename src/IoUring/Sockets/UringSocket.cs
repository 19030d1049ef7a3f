using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

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
public sealed partial class UringSocket : IDisposable, IAsyncDisposable
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
}
