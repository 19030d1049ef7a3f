using System.Globalization;
using System.Net;
using IoUring.AspNetCore;
using IoUring.Samples;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Logging.Console;

// AspNetCorePlaintext [--transport iouring|dotnet] [--require-iouring] [--engines N] [--address 127.0.0.1] [--port 8080] [--control stdin]
// A minimal API app serving GET /plaintext ("Hello, World!") on Kestrel, over io_uring sockets (UseIoUring) or over
// Kestrel's default System.Net.Sockets transport. GET /transport answers with the connection id, whose "uring-"
// prefix shows which transport accepted the connection. Where io_uring is unavailable, UseIoUring logs why (to
// standard error) and Kestrel serves on its socket transport; --require-iouring makes startup fail instead.
string transport = "iouring";
IPAddress address = IPAddress.Loopback;
int port = 8080;
bool control = false;
bool requireIoUring = false;
int? engines = null;
for (int i = 0; i < args.Length; i++)
{
    string a = args[i];
    string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{a} needs a value");
    switch (a)
    {
        case "--transport":
            transport = Value();
            break;
        case "--address":
            address = IPAddress.Parse(Value());
            break;
        case "--port":
            port = int.Parse(Value(), CultureInfo.InvariantCulture);
            break;
        case "--control":
            control = Value() == "stdin";
            break;
        case "--require-iouring":
            requireIoUring = true;
            break;
        case "--engines":
            engines = int.Parse(Value(), CultureInfo.InvariantCulture);
            break;
        default:
            Console.Error.WriteLine("usage: AspNetCorePlaintext [--transport iouring|dotnet] [--require-iouring] [--engines N] [--address 127.0.0.1] [--port 8080] [--control stdin]");
            return 2;
    }
}

if (transport is not ("iouring" or "dotnet"))
{
    Console.Error.WriteLine($"unknown transport '{transport}' (iouring or dotnet)");
    return 2;
}

WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(args);
// Warnings, and the io_uring transport's own messages (why it fell back), go to standard error: standard output is
// the control channel of the benchmark runner and the tests.
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Logging.AddFilter("IoUring", LogLevel.Information);
builder.WebHost.ConfigureKestrel(k => k.Listen(address, port));
if (transport == "iouring")
{
    builder.WebHost.UseIoUring(o =>
    {
        o.RequireIoUring = requireIoUring;
        o.EngineCount = engines ?? o.EngineCount;
    });
}

WebApplication app = builder.Build();
app.MapGet("/plaintext", static () =>
{
    ServerControl.AddRequests(1);
    return "Hello, World!";
});
app.MapGet("/transport", static (HttpContext context) => context.Connection.Id);

using var stop = new CancellationTokenSource();
try
{
    await app.StartAsync();
}
catch (InvalidOperationException e) when (requireIoUring)
{
    // RequireIoUring: io_uring is unavailable here, and the application refuses to start without it.
    Console.Error.WriteLine($"startup failed: {e.Message}");
    return 3;
}

string url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? "?";
await ServerControl.RunAsync($"listening on {url} (transport {transport}, kestrel)", control, stop);
await app.StopAsync();
return 0;
