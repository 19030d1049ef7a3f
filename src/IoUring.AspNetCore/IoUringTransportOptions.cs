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
}
