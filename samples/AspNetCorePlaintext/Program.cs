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
if (SampleArgs.Parse(
        args,
        "AspNetCorePlaintext [--transport iouring|dotnet] [--require-iouring] [--engines N] [--address 127.0.0.1] [--port 8080] [--control stdin]",
        ["--transport", "--address", "--port", "--control", "--engines"],
        ["--require-iouring"]) is not { } options)
{
    return 2;
}

string transport = options.Get("--transport", "iouring");
IPAddress address = options.Get("--address", IPAddress.Loopback);
int port = options.Get("--port", 8080);
bool control = options.Get("--control", string.Empty) == "stdin";
bool requireIoUring = options.Has("--require-iouring");
int? engines = options.GetInt("--engines");

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
