using System.Buffers;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;

namespace IoUring.AspNetCore;

/// <summary>
/// Kestrel's entry point to the transport: binds TCP endpoints to io_uring listening sockets. Owns the engines
/// (created on the first bind, disposed with the host's service provider).
/// </summary>
internal sealed class IoUringTransportFactory : IConnectionListenerFactory, IConnectionListenerFactorySelector, IAsyncDisposable
{
    private readonly IoUringTransportOptions _options;
    private readonly IMemoryPoolFactory<byte>? _memoryPoolFactory;
    private readonly Lock _lock = new();
    private IoUringEngineGroup? _engines;

    public IoUringTransportFactory(IOptions<IoUringTransportOptions> options, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(services);
        _options = options.Value;

        // Kestrel registers a pinned block pool factory (its socket transport's memory): the connections' pipes use
        // a pool from it unless the options name one, so that blocks are kept and reused rather than allocated again
        // whenever many connections hold one at once.
        _memoryPoolFactory = services.GetService(typeof(IMemoryPoolFactory<byte>)) as IMemoryPoolFactory<byte>;
        if (_options.EngineCount < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), _options.EngineCount, "IoUringTransportOptions.EngineCount must be at least 1.");
        }

        if (_options.EngineOptions?.Continuations == ContinuationMode.Inline)
        {
            throw new ArgumentException("The Kestrel transport needs ContinuationMode.ThreadPool: Kestrel runs application code in continuations, which must not run on an engine's loop thread.", nameof(options));
        }
    }

    /// <summary>TCP endpoints only; Unix domain sockets and named pipes are left to other transports.</summary>
    public bool CanBind(EndPoint endpoint) => endpoint is IPEndPoint;

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (endpoint is not IPEndPoint)
        {
            throw new NotSupportedException($"The io_uring transport binds TCP endpoints (IPEndPoint), not {endpoint.GetType().Name}.");
        }

        IoUringEngineGroup engines = Engines();
        UringSocket socket;
        try
        {
            socket = UringSocket.Listen(engines.Engines[0], endpoint, _options.SocketOptions);
        }
        catch (System.Net.Sockets.SocketException e) when (e.SocketErrorCode == System.Net.Sockets.SocketError.AddressAlreadyInUse)
        {
            // Kestrel recognises this exception and reports the address as in use.
            throw new AddressInUseException(e.Message, e);
        }

        UringConnectionOptions connectionOptions = _options.ConnectionOptions ?? UringConnectionOptions.Default;
        MemoryPool<byte>? pool = null;
        if (connectionOptions.MemoryPool is null && _memoryPoolFactory is not null)
        {
            pool = _memoryPoolFactory.Create(new MemoryPoolOptions { Owner = "iouring" });
            connectionOptions = With(connectionOptions, pool);
        }

        return new ValueTask<IConnectionListener>(new IoUringConnectionListener(socket, engines, connectionOptions, pool));
    }

    private static UringConnectionOptions With(UringConnectionOptions o, MemoryPool<byte> pool) => new()
    {
        InputPauseThreshold = o.InputPauseThreshold,
        InputResumeThreshold = o.InputResumeThreshold,
        OutputPauseThreshold = o.OutputPauseThreshold,
        OutputResumeThreshold = o.OutputResumeThreshold,
        UseMultishotReceive = o.UseMultishotReceive,
        UseBufferRing = o.UseBufferRing,
        ReceiveBufferSize = o.ReceiveBufferSize,
        ReceiveBufferCount = o.ReceiveBufferCount,
        ZeroCopySendThreshold = o.ZeroCopySendThreshold,
        CloseTimeout = o.CloseTimeout,
        MemoryPool = pool,
    };

    private IoUringEngineGroup Engines()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_engines is null && _disposed, this);
            return _engines ??= new IoUringEngineGroup(_options.EngineCount, _options.EngineOptions);
        }
    }

    private bool _disposed;

    public async ValueTask DisposeAsync()
    {
        IoUringEngineGroup? engines;
        lock (_lock)
        {
            _disposed = true;
            engines = _engines;
            _engines = null;
        }

        if (engines is not null)
        {
            await engines.DisposeAsync().ConfigureAwait(false);
        }
    }
}
