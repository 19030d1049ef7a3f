using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IoUring.AspNetCore.Tests;

/// <summary>
/// Kestrel in this process on the io_uring transport (<c>UseIoUring</c> with <c>RequireIoUring</c>, so a test never
/// passes on the socket fallback), or on Kestrel's own socket transport for comparison (each behaviour is tested on
/// both, as aspnetcore's functional tests run on each transport), listening on a loopback port. A connection middleware counts the connections the
/// transport handed to Kestrel and still open, so a test can check that aborted ones are released.
/// </summary>
internal sealed class KestrelHost : IAsyncDisposable
{
    private int _open;
    private int _accepted;

    /// <summary>The transports every behaviour is tested on.</summary>
    public static TheoryData<string> Transports => new() { IoUring, Sockets };

    public const string IoUring = "iouring";
    public const string Sockets = "sockets";

    private KestrelHost(WebApplication app, int port, string transport)
    {
        App = app;
        Port = port;
        Transport = transport;
    }

    /// <summary><see cref="IoUring"/> or <see cref="Sockets"/>.</summary>
    public string Transport { get; }

    /// <summary>Asserts that a connection id came from this host's transport.</summary>
    public void AssertOwnConnection(string connectionId) =>
        Assert.True(connectionId.StartsWith("uring-", StringComparison.Ordinal) == (Transport == IoUring), $"connection {connectionId} on transport {Transport}");

    public WebApplication App { get; }

    public int Port { get; }

    public IPEndPoint EndPoint => new(IPAddress.Loopback, Port);

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");

    /// <summary>Connections Kestrel has from the transport and has not finished with yet.</summary>
    public int OpenConnections => Volatile.Read(ref _open);

    /// <summary>Connections the transport has handed to Kestrel so far.</summary>
    public int AcceptedConnections => Volatile.Read(ref _accepted);

    /// <summary>A generous bound for waits (the machine is shared and may be very busy).</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    public static async Task<KestrelHost> StartAsync(string transport, Action<WebApplication> map, Action<KestrelServerOptions>? kestrel = null, Action<IoUringTransportOptions>? ioUring = null)
    {
        if (transport == IoUring)
        {
            RequireIoUring();
        }

        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        KestrelHost? host = null;
        builder.WebHost.ConfigureKestrel(k =>
        {
            kestrel?.Invoke(k);
            k.Listen(IPAddress.Loopback, 0, listen => listen.Use(next => async connection =>
            {
                Interlocked.Increment(ref host!._accepted);
                Interlocked.Increment(ref host._open);
                try
                {
                    await next(connection);
                }
                finally
                {
                    Interlocked.Decrement(ref host._open);
                }
            }));
        });
        if (transport == IoUring)
        {
            builder.WebHost.UseIoUring(o =>
            {
                o.RequireIoUring = true;
                ioUring?.Invoke(o);
            });
        }

        WebApplication app = builder.Build();
        map(app);
        await app.StartAsync(TestContext.Current.CancellationToken);
        string url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        host = new KestrelHost(app, new Uri(url).Port, transport);
        return host;
    }

    public HttpClient Client() => new() { BaseAddress = BaseAddress, Timeout = Patience };

    /// <summary>A plain TCP client connected to the server.</summary>
    public async Task<Socket> ConnectAsync()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(EndPoint, TestContext.Current.CancellationToken);
        return socket;
    }

    /// <summary>Waits until <paramref name="condition"/> holds, failing with <paramref name="what"/> after <see cref="Patience"/>.</summary>
    public static async Task UntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting until {what}");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>Reads from <paramref name="socket"/> until the peer ends the stream (or resets it); returns what arrived.</summary>
    public static async Task<(string Text, bool Reset)> ReadToEndAsync(Socket socket)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(Patience);
        var text = new StringBuilder();
        byte[] buffer = new byte[16384];
        try
        {
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (n == 0)
                {
                    return (text.ToString(), false);
                }

                text.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return (text.ToString(), true);
        }
    }

    /// <summary>Reads until <paramref name="done"/> holds for what arrived.</summary>
    public static async Task<string> ReadUntilAsync(Socket socket, Func<string, bool> done)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(Patience);
        var text = new StringBuilder();
        byte[] buffer = new byte[16384];
        while (!done(text.ToString()))
        {
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            Assert.True(n > 0, "the server closed the connection early; received:\n" + text);
            text.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }

        return text.ToString();
    }

    /// <summary>
    /// Reads one HTTP/1.1 response with a Content-Length body from <paramref name="socket"/>: the head (status line and
    /// headers) and the body. <paramref name="pending"/> carries bytes read past the response to the next call.
    /// </summary>
    public static async Task<(string Head, string Body)> ReadResponseAsync(Socket socket, StringBuilder pending)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(Patience);
        byte[] buffer = new byte[16384];
        while (true)
        {
            string text = pending.ToString();
            int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end >= 0)
            {
                string head = text[..end];
                int length = ContentLength(head);
                if (text.Length >= end + 4 + length)
                {
                    pending.Remove(0, end + 4 + length);
                    return (head, text.Substring(end + 4, length));
                }
            }

            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            Assert.True(n > 0, "the server closed the connection before a whole response; received:\n" + pending);
            pending.Append(Encoding.Latin1.GetString(buffer, 0, n));
        }
    }

    private static int ContentLength(string head)
    {
        foreach (string line in head.Split("\r\n"))
        {
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
            {
                return int.Parse(line.AsSpan(15).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        Assert.Fail("the response has no Content-Length:\n" + head);
        return 0;
    }

    /// <summary>Answers with <paramref name="text"/> and an explicit Content-Length.</summary>
    public static Task TextAsync(Microsoft.AspNetCore.Http.HttpContext context, string text)
    {
        byte[] body = Encoding.UTF8.GetBytes(text);
        context.Response.ContentType = "text/plain";
        context.Response.ContentLength = body.Length;
        return context.Response.Body.WriteAsync(body, context.RequestAborted).AsTask();
    }

    public static void RequireIoUring()
    {
        IoUringAvailability a = IoUringSupport.Current;
        if (a.IsAvailable)
        {
            return;
        }

        string why = $"io_uring is unavailable here ({a.Reason}): {a.Message}";
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            Assert.Fail("CI must run against a real io_uring, but " + why);
        }

        Assert.Skip(why);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await App.StopAsync(CancellationToken.None);
        }
        finally
        {
            await App.DisposeAsync();
        }
    }
}
