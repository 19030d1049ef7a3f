using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace IoUring.AspNetCore;

/// <summary>One bound endpoint: accepts connections (multishot accept where the kernel has it) and spreads them over the engines.</summary>
internal sealed class IoUringConnectionListener : IConnectionListener
{
    private readonly UringSocket _socket;
    private readonly IoUringEngineGroup _engines;
    private readonly UringConnectionOptions _connectionOptions;
    private readonly MemoryPool<byte>? _ownedPool;
    private readonly CancellationTokenSource _unbind = new();
    private long _nextId;

    /// <param name="socket">The listening socket.</param>
    /// <param name="engines">The engines accepted connections are spread over.</param>
    /// <param name="connectionOptions">Options of every accepted connection.</param>
    /// <param name="ownedPool">A memory pool created for this listener, disposed with it (connections still open keep their blocks).</param>
    public IoUringConnectionListener(UringSocket socket, IoUringEngineGroup engines, UringConnectionOptions connectionOptions, MemoryPool<byte>? ownedPool)
    {
        _socket = socket;
        _engines = engines;
        _connectionOptions = connectionOptions;
        _ownedPool = ownedPool;
        EndPoint = socket.LocalEndPoint ?? throw new InvalidOperationException("The listening socket has no local endpoint.");
    }

    public EndPoint EndPoint { get; }

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        using CancellationTokenSource linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _unbind.Token);
        while (true)
        {
            UringSocket accepted;
            try
            {
                accepted = await _socket.AcceptAsync(_engines.Next(), linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_unbind.IsCancellationRequested)
            {
                // Unbound: Kestrel's accept loop ends on null.
                return null;
            }
            catch (ObjectDisposedException)
            {
                return null;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionAborted or SocketError.ConnectionReset)
            {
                // The peer gave up while the connection waited in the backlog: take the next one.
                continue;
            }
            catch (SocketException) when (_unbind.IsCancellationRequested)
            {
                return null;
            }

            long id = Interlocked.Increment(ref _nextId);
            UringConnection connection;
            try
            {
                connection = accepted.CreateConnection(_connectionOptions);
            }
            catch
            {
                await accepted.DisposeAsync().ConfigureAwait(false);
                throw;
            }

            return new IoUringConnectionContext(connection, id);
        }
    }

    public async ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        await _unbind.CancelAsync().ConfigureAwait(false);
        await _socket.DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await UnbindAsync().ConfigureAwait(false);
        _unbind.Dispose();
        _ownedPool?.Dispose();
    }
}
