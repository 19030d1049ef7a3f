using System.IO.Pipelines;
using System.Net;

namespace HttpPlaintext;

/// <summary>The io_uring transport (placeholder until the sockets API lands).</summary>
internal sealed class IoUringSocketTransport : IPipeTransport
{
    public IPEndPoint LocalEndPoint => throw new NotSupportedException();

    public static IoUringSocketTransport Bind(IPEndPoint endPoint, int backlog) =>
        throw new NotSupportedException($"io_uring sockets are not available yet ({endPoint}, {backlog}).");

    public Task RunAsync(Func<IDuplexPipe, Task> onConnection, CancellationToken stop) => throw new NotSupportedException();

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
