using System.Globalization;
using System.Net;
using HttpPlaintext;
using IoUring;
using IoUring.Samples;

// HttpPlaintext [--transport iouring|dotnet] [--address 127.0.0.1] [--port 8080] [--backlog 1024] [--control stdin]
//               [--engines N (default: one per core)] [--continuations threadpool|inline]   (io_uring transport only)
//               [--pool default|pinned]                             (both transports' pipe memory)
//               [--max-connections 10000] [--header-timeout 10] [--keep-alive-timeout 120]   (seconds)
if (SampleArgs.Parse(
        args,
        "HttpPlaintext [--transport iouring|dotnet] [--address 127.0.0.1] [--port 8080] [--backlog 1024] [--control stdin] [--engines N (default: one per core)] [--continuations threadpool|inline] [--pool default|pinned] [--max-connections N] [--header-timeout S] [--keep-alive-timeout S]",
        ["--transport", "--address", "--port", "--backlog", "--engines", "--continuations", "--pool", "--max-connections", "--header-timeout", "--keep-alive-timeout", "--control"]) is not { } options)
{
    return 2;
}

string transportName = options.Get("--transport", "iouring");
int engines = options.Get("--engines", Environment.ProcessorCount);
ContinuationMode continuations = options.Choose("--continuations", ContinuationMode.ThreadPool, ("inline", ContinuationMode.Inline), ("threadpool", ContinuationMode.ThreadPool));
IPAddress address = options.Get("--address", IPAddress.Loopback);
int port = options.Get("--port", 8080);
int backlog = options.Get("--backlog", 1024);
bool control = options.Get("--control", string.Empty) == "stdin";
bool pinnedPool = options.Choose("--pool", false, ("pinned", true), ("default", false));
int maxConnections = options.Get("--max-connections", 10_000);
double headerTimeout = options.Get("--header-timeout", 10.0);
double keepAliveTimeout = options.Get("--keep-alive-timeout", 120.0);

var endPoint = new IPEndPoint(address, port);
using PinnedBlockMemoryPool? pool = pinnedPool ? new PinnedBlockMemoryPool() : null;
await using IPipeTransport transport = transportName switch
{
    "dotnet" => DotnetSocketTransport.Bind(endPoint, backlog, pool),
    "iouring" => IoUringSocketTransport.Bind(endPoint, backlog, engines, continuations, pool),
    _ => throw new ArgumentException($"unknown transport '{transportName}' (iouring or dotnet)"),
};

using var governor = new ConnectionGovernor(maxConnections, TimeSpan.FromSeconds(headerTimeout), TimeSpan.FromSeconds(keepAliveTimeout));
using var stop = new CancellationTokenSource();
Task serving = transport.RunAsync(connection => PlaintextHandler.RunAsync(connection, governor), stop.Token);
await ServerControl.RunAsync(
    string.Create(CultureInfo.InvariantCulture, $"listening on http://{transport.LocalEndPoint} (transport {transportName}, {(pinnedPool ? "pinned block pool" : "default pool")}, date {DateHeader.Text})"),
    control,
    stop);
stop.Cancel();
await serving;
return 0;
