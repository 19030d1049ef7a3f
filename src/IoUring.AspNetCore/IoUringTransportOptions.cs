namespace IoUring.AspNetCore;

/// <summary>Settings of the io_uring Kestrel transport (<see cref="IoUringWebHostBuilderExtensions.UseIoUring(Microsoft.AspNetCore.Hosting.IWebHostBuilder)"/>).</summary>
public sealed class IoUringTransportOptions
{
    /// <summary>
    /// io_uring engines (each a ring with its own loop) that accepted connections are spread over, round robin.
    /// Default <see cref="Environment.ProcessorCount"/>: one per core, each running the requests of its connections
    /// on its own thread (inline continuations), as Kestrel's socket transport spreads its I/O queues.
    /// </summary>
    public int EngineCount { get; set; } = Environment.ProcessorCount;

    /// <summary>
    /// Options of the engines, or null for the defaults: <see cref="ContinuationMode.Inline"/>, so Kestrel's request
    /// processing runs on the engine's thread where the receive completed, with the hand-off that keeps a handler that
    /// blocks from stalling the other connections. <see cref="IoUringEngineOptions.HandOffAfter"/> must stay finite
    /// with inline continuations (the factory refuses <see cref="Timeout.InfiniteTimeSpan"/>);
    /// <see cref="ContinuationMode.ThreadPool"/> runs application code on the thread pool instead.
    /// </summary>
    public IoUringEngineOptions? EngineOptions { get; set; }

    /// <summary>Options of the listening sockets (backlog, TCP_NODELAY of accepted connections, multishot accept).</summary>
    public UringSocketOptions? SocketOptions { get; set; }

    /// <summary>Options of each connection (pipe thresholds, multishot receive, buffer ring, zero-copy send).</summary>
    public UringConnectionOptions? ConnectionOptions { get; set; }

    /// <summary>
    /// What happens where io_uring cannot be used (a seccomp profile denies it, <c>kernel.io_uring_disabled</c>, a
    /// kernel before 5.11, <c>IOURING_DISABLE=1</c>). False (the default): the reason is logged once (category
    /// <c>IoUring.AspNetCore</c>, a warning; information for <c>IOURING_DISABLE</c>) and Kestrel serves TCP
    /// endpoints on its own socket transport. True: the first bind throws an <see cref="InvalidOperationException"/>
    /// naming the reason, so the application fails at startup.
    /// </summary>
    public bool RequireIoUring { get; set; }
}
