using System.Globalization;
using System.Net;
using HttpPlaintext;
using IoUring;
using IoUring.Samples;

// HttpPlaintext [--transport iouring|dotnet] [--address 127.0.0.1] [--port 8080] [--backlog 1024] [--control stdin]
//               [--engines N (default: one per core)] [--continuations threadpool|inline]   (io_uring transport only)
//               [--pool default|pinned]                             (both transports' pipe memory)
//               [--max-connections 10000] [--header-timeout 10] [--keep-alive-timeout 120]   (seconds)
string transportName = "iouring";
int engines = Environment.ProcessorCount;
ContinuationMode continuations = ContinuationMode.ThreadPool;
IPAddress address = IPAddress.Loopback;
int port = 8080;
int backlog = 1024;
bool control = false;
bool pinnedPool = false;
int maxConnections = 10_000;
double headerTimeout = 10;
double keepAliveTimeout = 120;
for (int i = 0; i < args.Length; i++)
{
    string a = args[i];
    string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{a} needs a value");
    switch (a)
    {
        case "--transport":
            transportName = Value();
            break;
        case "--address":
            address = IPAddress.Parse(Value());
            break;
        case "--port":
            port = int.Parse(Value(), CultureInfo.InvariantCulture);
            break;
        case "--backlog":
            backlog = int.Parse(Value(), CultureInfo.InvariantCulture);
            break;
        case "--engines":
            engines = int.Parse(Value(), CultureInfo.InvariantCulture);
            break;
        case "--continuations":
            continuations = Value() switch
            {
                "inline" => ContinuationMode.Inline,
                "threadpool" => ContinuationMode.ThreadPool,
                string v => throw new ArgumentException($"--continuations: '{v}' is not inline or threadpool"),
            };
            break;
        case "--pool":
            pinnedPool = Value() switch
            {
                "pinned" => true,
                "default" => false,
                string v => throw new ArgumentException($"--pool: '{v}' is not default or pinned"),
            };
            break;
        case "--max-connections":
            maxConnections = int.Parse(Value(), CultureInfo.InvariantCulture);
            break;
        case "--header-timeout":
            headerTimeout = double.Parse(Value(), CultureInfo.InvariantCulture);
            break;
        case "--keep-alive-timeout":
            keepAliveTimeout = double.Parse(Value(), CultureInfo.InvariantCulture);
            break;
        case "--control":
            control = Value() == "stdin";
            break;
        default:
            Console.Error.WriteLine("usage: HttpPlaintext [--transport iouring|dotnet] [--address 127.0.0.1] [--port 8080] [--backlog 1024] [--control stdin] [--engines N (default: one per core)] [--continuations threadpool|inline] [--pool default|pinned] [--max-connections N] [--header-timeout S] [--keep-alive-timeout S]");
            return 2;
    }
}

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
