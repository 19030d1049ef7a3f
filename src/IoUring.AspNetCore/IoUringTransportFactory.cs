using System.Buffers;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace IoUring.AspNetCore;

/// <summary>
/// Kestrel's entry point to the transport: binds TCP endpoints to io_uring listening sockets. Owns the engines
/// (created on the first bind, disposed with the host's service provider). Where io_uring cannot be used (seccomp,
/// the sysctl, an old kernel, <c>IOURING_DISABLE=1</c>) it logs why once and binds with Kestrel's own socket
/// transport instead, unless <see cref="IoUringTransportOptions.RequireIoUring"/> asks it to fail.
/// </summary>
internal sealed partial class IoUringTransportFactory : IConnectionListenerFactory, IConnectionListenerFactorySelector, IAsyncDisposable
{
    /// <summary>The log category of the transport's own messages.</summary>
    public const string LogCategory = "IoUring.AspNetCore";

    private readonly IoUringTransportOptions _options;
    private readonly IMemoryPoolFactory<byte>? _memoryPoolFactory;
    private readonly IServiceProvider _services;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private IoUringEngineGroup? _engines;
    private SocketTransportFactory? _fallback;
    private bool _disposed;

    public IoUringTransportFactory(IOptions<IoUringTransportOptions> options, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(services);
        _options = options.Value;
        _services = services;
        _logger = (services.GetService(typeof(ILoggerFactory)) as ILoggerFactory)?.CreateLogger(LogCategory) ?? NullLogger.Instance;

        // Kestrel registers a pinned block pool factory (its socket transport's memory): the connections' pipes use
        // a pool from it unless the options name one, so that blocks are kept and reused rather than allocated again
        // whenever many connections hold one at once.
        _memoryPoolFactory = services.GetService(typeof(IMemoryPoolFactory<byte>)) as IMemoryPoolFactory<byte>;
        if (_options.EngineCount < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), _options.EngineCount, "IoUringTransportOptions.EngineCount must be at least 1.");
        }

        if (_options.EngineOptions is { Continuations: ContinuationMode.Inline } engineOptions && engineOptions.HandOffAfter == Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentException("The Kestrel transport runs application code in the engines' continuations: with ContinuationMode.Inline, HandOffAfter must stay finite (so a request handler that blocks makes the engine hand its ring to another thread instead of stalling every connection), or use ContinuationMode.ThreadPool.", nameof(options));
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

        (IoUringEngineGroup? engines, SocketTransportFactory? fallback) = Engines();
        if (engines is null)
        {
            return fallback!.BindAsync(endpoint, cancellationToken);
        }

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

    /// <summary>
    /// The engines, created on the first bind; or, where io_uring cannot be used, Kestrel's socket transport (the
    /// reason logged once), or an exception when <see cref="IoUringTransportOptions.RequireIoUring"/> is set.
    /// </summary>
    private (IoUringEngineGroup? Engines, SocketTransportFactory? Fallback) Engines()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_engines is not null || _fallback is not null)
            {
                return (_engines, _fallback);
            }

            (SetupFailureReason reason, string why, Exception? error) = TryCreateEngines(out IoUringEngineGroup? engines);
            if (engines is not null)
            {
                _engines = engines;
                IoUringEngine first = engines.Engines[0];
                LogStarted(_logger, engines.Count, first.SetupFlags, first.Features);
                return (engines, null);
            }

            if (_options.RequireIoUring)
            {
                throw new InvalidOperationException(
                    $"UseIoUring: io_uring is required (IoUringTransportOptions.RequireIoUring), and here {why} (reason {reason})", error);
            }

            IoUringEventSource.Log.TransportFallback(reason.ToString(), why);
            if (reason == SetupFailureReason.DisabledByEnvironment)
            {
                LogDisabled(_logger, reason, why);
            }
            else
            {
                LogUnavailable(_logger, reason, why);
            }

            var socketOptions = _services.GetService(typeof(IOptions<SocketTransportOptions>)) as IOptions<SocketTransportOptions>
                ?? Options.Create(new SocketTransportOptions());
            var loggerFactory = _services.GetService(typeof(ILoggerFactory)) as ILoggerFactory ?? NullLoggerFactory.Instance;
            _fallback = new SocketTransportFactory(socketOptions, loggerFactory);
            return (null, _fallback);
        }
    }

    /// <summary>Creates the engines and checks that the kernel has the socket requests the transport makes.</summary>
    private (SetupFailureReason Reason, string Why, Exception? Error) TryCreateEngines(out IoUringEngineGroup? engines)
    {
        engines = null;
        IoUringEngineGroup group;
        try
        {
            group = new IoUringEngineGroup(_options.EngineCount, _options.EngineOptions);
        }
        catch (IoUringSetupException e)
        {
            return (e.Reason, e.Message, e);
        }

        string? missing = MissingSocketOpcodes();
        if (missing is not null)
        {
            group.Dispose();
            return (SetupFailureReason.NotSupportedByKernel,
                $"io_uring is unavailable: the kernel ({IoUringSupport.KernelRelease()}) lacks io_uring's {missing}; the transport needs Linux 5.11 or later (6.1+ recommended).", null);
        }

        engines = group;
        return (SetupFailureReason.None, string.Empty, null);
    }

    /// <summary>The socket opcodes the transport needs that the kernel lacks (null: none), from IORING_REGISTER_PROBE.</summary>
    private static string? MissingSocketOpcodes()
    {
        Probe probe;
        try
        {
            probe = Probe.Current;
        }
        catch (IoUringException)
        {
            // No IORING_REGISTER_PROBE: a kernel before 5.6, which has none of the socket requests either.
            return "IORING_REGISTER_PROBE and socket requests";
        }

        Opcode[] needed = [Opcode.Accept, Opcode.Recv, Opcode.Send, Opcode.Writev, Opcode.Shutdown, Opcode.AsyncCancel];
        string[] missing = [.. needed.Where(op => !probe.IsSupported(op)).Select(op => op.ToString())];
        return missing.Length == 0 ? null : string.Join(", ", missing);
    }

    [LoggerMessage(EventId = 3, EventName = "IoUringStarted", Level = LogLevel.Information,
        Message = "UseIoUring: Kestrel serves TCP endpoints on io_uring with {EngineCount} engines (ring flags {SetupFlags}, features {Features}).")]
    private static partial void LogStarted(ILogger logger, int engineCount, SetupFlags setupFlags, RingFeatures features);

    [LoggerMessage(EventId = 1, EventName = "IoUringUnavailable", Level = LogLevel.Warning,
        Message = "UseIoUring: {Why} Kestrel serves TCP endpoints on its socket transport instead (reason {Reason}; set IoUringTransportOptions.RequireIoUring to fail at startup).")]
    private static partial void LogUnavailable(ILogger logger, SetupFailureReason reason, string why);

    [LoggerMessage(EventId = 2, EventName = "IoUringDisabled", Level = LogLevel.Information,
        Message = "UseIoUring: {Why} Kestrel serves TCP endpoints on its socket transport (reason {Reason}).")]
    private static partial void LogDisabled(ILogger logger, SetupFailureReason reason, string why);

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
