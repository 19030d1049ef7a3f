using System.IO.Pipelines;
using System.Net;

namespace HttpPlaintext;

/// <summary>
/// A TCP listener that hands every accepted connection to an application as an <see cref="IDuplexPipe"/>: the
/// seam that lets one handler run over io_uring sockets and over System.Net.Sockets unchanged.
/// </summary>
internal interface IPipeTransport : IAsyncDisposable
{
    /// <summary>The bound address (with the port the kernel chose when 0 was asked for).</summary>
    IPEndPoint LocalEndPoint { get; }

    /// <summary>
    /// Accepts connections until <paramref name="stop"/> is cancelled, running <paramref name="onConnection"/> for
    /// each; the transport closes a connection once the application has completed both of its pipe ends.
    /// </summary>
    Task RunAsync(Func<IDuplexPipe, Task> onConnection, CancellationToken stop);
}
