using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using IoUring;
using IoUring.Samples;

namespace HttpPlaintext;

/// <summary>
/// The io_uring transport: a listening <see cref="UringSocket"/> (multishot accept), each accepted connection a
/// <see cref="UringConnection"/> (multishot receive into the engine's provided-buffer ring, sends from the output
/// pipe), on an <see cref="IoUringEngineGroup"/> whose loop threads do all the system calls.
/// </summary>
internal sealed class IoUringSocketTransport : IPipeTransport
{
    private readonly IoUringEngineGroup _engines;
    private readonly UringSocket _listener;
    private readonly UringConnectionOptions _connectionOptions;

    private IoUringSocketTransport(IoUringEngineGroup engines, UringSocket listener, MemoryPool<byte>? pool)
    {
        _engines = engines;
        _listener = listener;
        _connectionOptions = pool is null ? UringConnectionOptions.Default : new UringConnectionOptions { MemoryPool = pool };
    }

    public IPEndPoint LocalEndPoint => (IPEndPoint)_listener.LocalEndPoint!;

    /// <summary>
    /// Binds and listens; <paramref name="engines"/> loop threads, continuations on the thread pool or inline on the
    /// loops; <paramref name="pool"/> null: the connections' default pool.
    /// </summary>
    public static IoUringSocketTransport Bind(IPEndPoint endPoint, int backlog, int engines = 1, ContinuationMode continuations = ContinuationMode.ThreadPool, MemoryPool<byte>? pool = null)
    {
        var group = new IoUringEngineGroup(engines, new IoUringEngineOptions { Continuations = continuations });
        try
        {
            UringSocket listener = UringSocket.Listen(group.Engines[0], endPoint, new UringSocketOptions { ListenBacklog = backlog });
            return new IoUringSocketTransport(group, listener, pool);
        }
        catch
        {
            group.Dispose();
            throw;
        }
    }

    public Task RunAsync(Func<IDuplexPipe, Task> onConnection, CancellationToken stop) =>
        AcceptLoop.RunAsync(
            ct => _listener.AcceptAsync(_engines.Next(), ct),
            socket => _ = ServeAsync(socket.CreateConnection(_connectionOptions), onConnection),
            stop);

    private static async Task ServeAsync(UringConnection connection, Func<IDuplexPipe, Task> onConnection)
    {
        try
        {
            await onConnection(connection);
        }
        finally
        {
            // The handler completed both pipe ends: what it wrote is sent, then the socket is closed.
            await connection.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _listener.DisposeAsync();
        await _engines.DisposeAsync();
    }
}
