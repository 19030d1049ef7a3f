using System.Buffers;
using System.Net;
using System.Net.Sockets;
using IoUring.Interop;

namespace IoUring;

/// <summary>Options of listening, accepted and connected <see cref="UringSocket"/>s.</summary>
public sealed class UringSocketOptions
{
    /// <summary>The default options.</summary>
    public static UringSocketOptions Default { get; } = new();

    /// <summary>The <c>listen(2)</c> backlog. Default 512.</summary>
    public int ListenBacklog { get; init; } = 512;

    /// <summary>Set <c>TCP_NODELAY</c> on accepted and connected TCP sockets (no Nagle delay). Default true, like Kestrel.</summary>
    public bool NoDelay { get; init; } = true;

    /// <summary>
    /// Accept with one multishot request (Linux 5.19+) instead of one request per connection. Ignored (single-shot
    /// accept) where the kernel lacks it. Default true.
    /// </summary>
    public bool UseMultishotAccept { get; init; } = true;

    /// <summary>
    /// Accepted connections the listener queues for <see cref="UringSocket.AcceptAsync(CancellationToken)"/> before it stops
    /// accepting (the kernel's backlog holds the rest); accepting resumes when the queue drains to half. Default 256.
    /// </summary>
    public int MaxQueuedAccepts { get; init; } = 256;

    /// <summary>
    /// How long <see cref="UringSocket.ConnectAsync(EndPoint, UringSocketOptions, CancellationToken)"/> waits for the
    /// peer: the connect request carries a kernel-side deadline (<c>IORING_OP_LINK_TIMEOUT</c>) and fails with
    /// <see cref="TimeoutException"/> when it passes. Zero or positive, or <see cref="Timeout.InfiniteTimeSpan"/> (the
    /// default: the kernel's own SYN retries decide, about two minutes).
    /// </summary>
    public TimeSpan ConnectTimeout { get; init; } = Timeout.InfiniteTimeSpan;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ListenBacklog);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxQueuedAccepts);
        if (ConnectTimeout != Timeout.InfiniteTimeSpan && ConnectTimeout < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ConnectTimeout), ConnectTimeout, "The connect timeout must be zero or positive, or Timeout.InfiniteTimeSpan.");
        }
    }

    /// <summary>
    /// Sets the socket options the library sets, all of them here: before a listener binds, <c>SO_REUSEADDR</c> and (on
    /// the IPv6 wildcard) dual mode; before a UDP socket binds, dual mode; on an accepted or connected socket,
    /// <c>TCP_NODELAY</c> when <see cref="NoDelay"/>.
    /// Unix-domain sockets get none of them. Failures are ignored, as System.Net.Sockets ignores them for these options.
    /// </summary>
    /// <param name="fd">The socket.</param>
    /// <param name="role">What the socket is for.</param>
    /// <param name="endPoint">The address it binds or connects to; null for an accepted socket (its listener's family is
    /// not looked up: on a Unix-domain socket <c>TCP_NODELAY</c> fails harmlessly with <c>EOPNOTSUPP</c>).</param>
    internal void Apply(int fd, SocketRole role, EndPoint? endPoint)
    {
        if (endPoint?.AddressFamily == AddressFamily.Unix)
        {
            return;
        }

        if (role is SocketRole.Listener or SocketRole.Datagram)
        {
            if (role == SocketRole.Listener)
            {
                _ = Libc.SetSockOptInt(fd, Libc.SOL_SOCKET, Libc.SO_REUSEADDR, 1);
            }

            if (endPoint is IPEndPoint ip && ip.Address.Equals(IPAddress.IPv6Any))
            {
                // Dual mode: the IPv6 wildcard accepts IPv4 clients (or datagrams) too, as IPv4-mapped addresses.
                _ = Libc.SetSockOptInt(fd, Libc.IPPROTO_IPV6, Libc.IPV6_V6ONLY, 0);
            }
        }
        else if (NoDelay)
        {
            _ = Libc.SetSockOptInt(fd, Libc.IPPROTO_TCP, Libc.TCP_NODELAY, 1);
        }
    }
}

/// <summary>What a socket is for: it decides the options <see cref="UringSocketOptions.Apply"/> sets.</summary>
internal enum SocketRole
{
    /// <summary>A socket about to bind and listen.</summary>
    Listener,

    /// <summary>A connection a listener accepted.</summary>
    Accepted,

    /// <summary>A connection this process opened.</summary>
    Connected,

    /// <summary>A UDP socket about to bind (<see cref="UringUdpSocket"/>).</summary>
    Datagram,
}

/// <summary>Options of a <see cref="UringConnection"/> (a socket as an <see cref="System.IO.Pipelines.IDuplexPipe"/>).</summary>
public sealed class UringConnectionOptions
{
    /// <summary>The default options.</summary>
    public static UringConnectionOptions Default { get; } = new();

    /// <summary>
    /// Receiving pauses when the application has this many received bytes not yet consumed from
    /// <see cref="UringConnection.Input"/> (back-pressure on the peer through TCP flow control). Default 1 MiB.
    /// </summary>
    public long InputPauseThreshold { get; init; } = 1024 * 1024;

    /// <summary>Receiving resumes when the unconsumed input falls below this. Default 512 KiB.</summary>
    public long InputResumeThreshold { get; init; } = 512 * 1024;

    /// <summary>
    /// <see cref="System.IO.Pipelines.PipeWriter.FlushAsync(CancellationToken)"/> on <see cref="UringConnection.Output"/>
    /// waits while this many bytes are written and not yet sent (a slow peer slows the application). Default 1 MiB.
    /// </summary>
    public long OutputPauseThreshold { get; init; } = 1024 * 1024;

    /// <summary>Waiting output flushes resume when unsent bytes fall below this. Default 512 KiB.</summary>
    public long OutputResumeThreshold { get; init; } = 512 * 1024;

    /// <summary>
    /// Receive with one multishot request into the engine's provided-buffer ring (Linux 6.0+). Where the kernel lacks
    /// multishot receive, or when false, each receive is a single request (still from the buffer ring on 5.19+).
    /// Default true.
    /// </summary>
    public bool UseMultishotReceive { get; init; } = true;

    /// <summary>
    /// Receive into the engine's shared provided-buffer ring (Linux 5.19+), so an idle connection holds no receive
    /// buffer. When false, or where the kernel lacks buffer rings, each connection receives into a buffer of its own
    /// of <see cref="ReceiveBufferSize"/> bytes. Default true.
    /// </summary>
    public bool UseBufferRing { get; init; } = true;

    /// <summary>
    /// Size of each receive buffer (of the engine's buffer ring, or of the connection's own buffer). The buffer ring
    /// is created by the first connection of an engine, with that connection's size and count; size times count may
    /// not exceed 2 GiB. Default 16 KiB.
    /// </summary>
    public int ReceiveBufferSize { get; init; } = 16 * 1024;

    /// <summary>Buffers in the engine's provided-buffer ring (a power of two up to 32768). Default 512.</summary>
    public int ReceiveBufferCount { get; init; } = 512;

    /// <summary>
    /// Contiguous output blocks of at least this many bytes are sent with zero-copy <c>IORING_OP_SEND_ZC</c> (Linux 6.0+),
    /// where the kernel supports it; smaller ones are copied by an ordinary send, which is cheaper for them. 0 disables
    /// zero-copy. Default 64 KiB.
    /// </summary>
    public int ZeroCopySendThreshold { get; init; } = 64 * 1024;

    /// <summary>
    /// How long <see cref="UringConnection.DisposeAsync"/> lets queued output drain to a slow peer before it aborts:
    /// zero or positive, or <see cref="Timeout.InfiniteTimeSpan"/>. Default 5 s.
    /// </summary>
    public TimeSpan CloseTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// What a send that fails because the peer has gone (<c>ECONNRESET</c>, <c>EPIPE</c>, <c>ECONNABORTED</c>) does to
    /// <see cref="UringConnection.Output"/>. True (the default): the output completes with that error, so the next
    /// flush throws an <see cref="IOException"/>. False: it completes without one, so the next flush reports
    /// <c>IsCompleted</c> and later writes go nowhere, as Kestrel's socket transport does;
    /// <see cref="UringConnection.ConnectionClosed"/> tells that the connection ended. The Kestrel transport sets false.
    /// </summary>
    public bool PeerResetFailsOutput { get; init; } = true;

    /// <summary>
    /// The memory pool of the input and output pipes, or null for <see cref="PinnedBlockMemoryPool.Shared"/> (pinned
    /// 4 KiB blocks kept for reuse: no allocation per request however many connections there are).
    /// </summary>
    public MemoryPool<byte>? MemoryPool { get; init; }

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(InputPauseThreshold);
        ArgumentOutOfRangeException.ThrowIfNegative(InputResumeThreshold);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(InputResumeThreshold, InputPauseThreshold);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(OutputPauseThreshold);
        ArgumentOutOfRangeException.ThrowIfNegative(OutputResumeThreshold);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(OutputResumeThreshold, OutputPauseThreshold);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ReceiveBufferSize);
        ArgumentOutOfRangeException.ThrowIfNegative(ZeroCopySendThreshold);
        if (CloseTimeout != Timeout.InfiniteTimeSpan && (CloseTimeout < TimeSpan.Zero || CloseTimeout.TotalMilliseconds > int.MaxValue))
        {
            // Refused when the connection is made: at dispose it would be too late to say so, and the socket must close.
            throw new ArgumentOutOfRangeException(nameof(CloseTimeout), CloseTimeout, "The close timeout must be zero or positive (at most int.MaxValue ms), or Timeout.InfiniteTimeSpan.");
        }

        if (ReceiveBufferCount is <= 0 or > 32768 || (ReceiveBufferCount & (ReceiveBufferCount - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ReceiveBufferCount), ReceiveBufferCount, "The buffer count must be a power of two from 1 to 32768.");
        }

        if ((long)ReceiveBufferSize * ReceiveBufferCount > int.MaxValue)
        {
            // Refused here, on the caller's thread: the buffer ring is created later on the engine's loop thread.
            throw new ArgumentOutOfRangeException(nameof(ReceiveBufferSize), ReceiveBufferSize, $"{ReceiveBufferCount} receive buffers of {ReceiveBufferSize} bytes exceed 2 GiB; use fewer or smaller buffers.");
        }
    }
}
