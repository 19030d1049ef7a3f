namespace IoUring.AspNetCore;

/// <summary>Settings of the io_uring Kestrel transport (<see cref="IoUringWebHostBuilderExtensions.UseIoUring(Microsoft.AspNetCore.Hosting.IWebHostBuilder)"/>).</summary>
public sealed class IoUringTransportOptions
{
    /// <summary>
    /// io_uring engines (each a ring with its own loop thread) that accepted connections are spread over, round robin.
    /// Default 1: on small machines one loop thread beside the thread pool does best; add engines when one loop
    /// thread saturates a core.
    /// </summary>
    public int EngineCount { get; set; } = 1;

    /// <summary>
    /// Options of the engines. Their <see cref="IoUringEngineOptions.Continuations"/> must stay
    /// <see cref="ContinuationMode.ThreadPool"/> (the default): Kestrel runs application code in continuations, and
    /// that must never run on an engine's loop thread.
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
