using System.Net.Http;
using System.Net.Sockets;

namespace IoUring;

/// <summary>
/// Outbound HTTP over io_uring sockets: <see cref="HttpClient"/> (and anything built on <see cref="SocketsHttpHandler"/>,
/// such as YARP's forwarder) connects through <see cref="UringSocket.ConnectAsync(IoUringEngine, System.Net.EndPoint, UringSocketOptions?, CancellationToken)"/> and talks over a
/// <see cref="UringConnection"/>'s stream, while the handler keeps doing HTTP (pooling, HTTP/1.1 and HTTP/2, TLS).
/// </summary>
/// <example>
/// <code>
/// using var client = new HttpClient(UringHttp.CreateHandler());
/// string body = await client.GetStringAsync("http://127.0.0.1:8080/plaintext");
/// </code>
/// or, on an engine of your own:
/// <code>
/// await using var engine = new IoUringEngine();
/// using var client = new HttpClient(UringHttp.CreateHandler(engine));
/// string body = await client.GetStringAsync("http://127.0.0.1:8080/plaintext");
/// </code>
/// </example>
public static class UringHttp
{
    /// <summary>
    /// A <see cref="SocketsHttpHandler.ConnectCallback"/> that opens each connection with <c>IORING_OP_CONNECT</c> on
    /// <paramref name="engine"/>. A host name is resolved with <see cref="System.Net.Dns"/> and its first address used
    /// (no Happy Eyeballs across addresses). The engine must outlive the handler's connections.
    /// </summary>
    /// <param name="engine">The engine the connections run on.</param>
    /// <param name="socketOptions">Socket options (TCP_NODELAY is on by default), or null.</param>
    /// <param name="connectionOptions">Connection options (buffers, back-pressure), or null.</param>
    /// <returns>The callback.</returns>
    public static Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>> ConnectCallback(
        IoUringEngine engine, UringSocketOptions? socketOptions = null, UringConnectionOptions? connectionOptions = null)
    {
        ArgumentNullException.ThrowIfNull(engine);
        return (context, cancellationToken) => ConnectAsync(engine, context, socketOptions, connectionOptions, cancellationToken);
    }

    /// <summary>Like <see cref="ConnectCallback(IoUringEngine, UringSocketOptions?, UringConnectionOptions?)"/>, spreading connections over a group's engines (round robin).</summary>
    /// <param name="engines">The engines.</param>
    /// <param name="socketOptions">Socket options, or null.</param>
    /// <param name="connectionOptions">Connection options, or null.</param>
    /// <returns>The callback.</returns>
    public static Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>> ConnectCallback(
        IoUringEngineGroup engines, UringSocketOptions? socketOptions = null, UringConnectionOptions? connectionOptions = null)
    {
        ArgumentNullException.ThrowIfNull(engines);
        return (context, cancellationToken) => ConnectAsync(engines.Next(), context, socketOptions, connectionOptions, cancellationToken);
    }

    /// <summary>A <see cref="SocketsHttpHandler"/> whose connections are io_uring sockets on the process-wide default engines (<see cref="IoUringEngineGroup.Default"/>), spread round robin.</summary>
    /// <param name="socketOptions">Socket options, or null.</param>
    /// <param name="connectionOptions">Connection options, or null.</param>
    /// <returns>The handler (set its other properties as usual).</returns>
    /// <exception cref="IoUringSetupException">io_uring is unavailable here; the message says why.</exception>
    public static SocketsHttpHandler CreateHandler(UringSocketOptions? socketOptions = null, UringConnectionOptions? connectionOptions = null) =>
        new() { ConnectCallback = ConnectCallback(IoUringEngineGroup.Default, socketOptions, connectionOptions) };

    /// <summary>A <see cref="SocketsHttpHandler"/> whose connections are io_uring sockets on <paramref name="engine"/>.</summary>
    /// <param name="engine">The engine the connections run on.</param>
    /// <param name="socketOptions">Socket options, or null.</param>
    /// <param name="connectionOptions">Connection options, or null.</param>
    /// <returns>The handler (set its other properties as usual).</returns>
    public static SocketsHttpHandler CreateHandler(IoUringEngine engine, UringSocketOptions? socketOptions = null, UringConnectionOptions? connectionOptions = null) =>
        new() { ConnectCallback = ConnectCallback(engine, socketOptions, connectionOptions) };

    private static async ValueTask<Stream> ConnectAsync(
        IoUringEngine engine, SocketsHttpConnectionContext context, UringSocketOptions? socketOptions, UringConnectionOptions? connectionOptions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        UringSocket socket = await UringSocket.ConnectAsync(engine, context.DnsEndPoint, socketOptions, cancellationToken).ConfigureAwait(false);
        try
        {
            return socket.CreateConnection(connectionOptions).AsStream();
        }
        catch (Exception e) when (e is ObjectDisposedException or ArgumentException or SocketException)
        {
            await socket.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
