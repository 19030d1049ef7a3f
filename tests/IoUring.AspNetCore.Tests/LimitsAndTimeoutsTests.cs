using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace IoUring.AspNetCore.Tests;

/// <summary>Kestrel's connection limit, request-header timeout and keep-alive timeout on io_uring connections.</summary>
public sealed class LimitsAndTimeoutsTests
{
    private static readonly byte[] Get = "GET / HTTP/1.1\r\nHost: t\r\n\r\n"u8.ToArray();

    private static void MapHello(WebApplication app) => app.MapGet("/", static (HttpContext c) => KestrelHost.TextAsync(c, c.Connection.Id));

    [Theory]
    [MemberData(nameof(KestrelHost.Transports), MemberType = typeof(KestrelHost))]
    public async Task MaxConcurrentConnections_turns_away_the_connection_over_the_limit_and_admits_one_once_a_slot_frees(string transport)
    {
        await using KestrelHost host = await KestrelHost.StartAsync(transport, MapHello, k => k.Limits.MaxConcurrentConnections = 2);

        // Two kept-alive connections, each answered (by io_uring: the ids say so).
        using Socket first = await host.ConnectAsync();
        using Socket second = await host.ConnectAsync();
        foreach (Socket s in new[] { first, second })
        {
            await s.SendAsync(Get, SocketFlags.None);
            (string head, string body) = await KestrelHost.ReadResponseAsync(s, new StringBuilder());
            Assert.StartsWith("HTTP/1.1 200 OK", head, StringComparison.Ordinal);
            host.AssertOwnConnection(body);
        }

        // The third is closed without a response.
        using (Socket third = await host.ConnectAsync())
        {
            try
            {
                await third.SendAsync(Get, SocketFlags.None);
            }
            catch (SocketException)
            {
                // Already reset: turned away, as expected.
            }

            (string text, _) = await KestrelHost.ReadToEndAsync(third);
            Assert.Equal(string.Empty, text);
        }

        // Closing one frees a slot: a new connection is served.
        first.Close();
        await KestrelHost.UntilAsync(() => host.OpenConnections <= 1, "the closed connection's slot was released");
        using Socket fourth = await host.ConnectAsync();
        await fourth.SendAsync(Get, SocketFlags.None);
        (string again, _) = await KestrelHost.ReadResponseAsync(fourth, new StringBuilder());
        Assert.StartsWith("HTTP/1.1 200 OK", again, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(KestrelHost.Transports), MemberType = typeof(KestrelHost))]
    public async Task RequestHeadersTimeout_closes_a_connection_whose_headers_never_finish(string transport)
    {
        await using KestrelHost host = await KestrelHost.StartAsync(transport, MapHello, k => k.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(1));
        using Socket slow = await host.ConnectAsync();
        await slow.SendAsync("GET / HTTP/1.1\r\nHost: t\r\n"u8.ToArray(), SocketFlags.None);
        var started = DateTime.UtcNow;

        // Kestrel answers 408 (or just closes) once its heartbeat sees the timeout, and ends the connection.
        (string text, _) = await KestrelHost.ReadToEndAsync(slow);
        Assert.True(text.Length == 0 || text.StartsWith("HTTP/1.1 408", StringComparison.Ordinal), text);
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromSeconds(0.9), "closed before the timeout");
        await KestrelHost.UntilAsync(() => host.OpenConnections == 0, "the timed-out connection was released");
    }

    [Theory]
    [MemberData(nameof(KestrelHost.Transports), MemberType = typeof(KestrelHost))]
    public async Task KeepAliveTimeout_closes_an_idle_kept_alive_connection(string transport)
    {
        await using KestrelHost host = await KestrelHost.StartAsync(transport, MapHello, k => k.Limits.KeepAliveTimeout = TimeSpan.FromSeconds(1));
        using Socket idle = await host.ConnectAsync();
        await idle.SendAsync(Get, SocketFlags.None);
        (string response, _) = await KestrelHost.ReadResponseAsync(idle, new StringBuilder());
        Assert.StartsWith("HTTP/1.1 200 OK", response, StringComparison.Ordinal);
        Assert.DoesNotContain("Connection: close", response, StringComparison.OrdinalIgnoreCase);

        // Nothing more is sent: the server ends the connection after the keep-alive timeout (end of stream).
        var started = DateTime.UtcNow;
        (string rest, bool reset) = await KestrelHost.ReadToEndAsync(idle);
        Assert.Equal(string.Empty, rest);
        Assert.False(reset, "an idle keep-alive connection is closed gracefully (FIN), not reset");
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromSeconds(0.9), "closed before the timeout");
        await KestrelHost.UntilAsync(() => host.OpenConnections == 0, "the idle connection was released");
    }

    [Theory]
    [MemberData(nameof(KestrelHost.Transports), MemberType = typeof(KestrelHost))]
    public async Task Keep_alive_connections_serve_many_requests_in_turn_and_pipelined(string transport)
    {
        await using KestrelHost host = await KestrelHost.StartAsync(transport, MapHello);
        using Socket s = await host.ConnectAsync();
        var pending = new StringBuilder();
        string? id = null;
        for (int i = 0; i < 50; i++)
        {
            await s.SendAsync(Get, SocketFlags.None);
            (string head, string body) = await KestrelHost.ReadResponseAsync(s, pending);
            Assert.StartsWith("HTTP/1.1 200 OK", head, StringComparison.Ordinal);
            id ??= body;
            Assert.Equal(id, body);
        }

        // Pipelined: 20 requests in one write, 20 responses in order on the same connection.
        await s.SendAsync(Enumerable.Repeat(Get, 20).SelectMany(b => b).ToArray(), SocketFlags.None);
        for (int i = 0; i < 20; i++)
        {
            (string head, string body) = await KestrelHost.ReadResponseAsync(s, pending);
            Assert.StartsWith("HTTP/1.1 200 OK", head, StringComparison.Ordinal);
            Assert.Equal(id, body);
        }

        host.AssertOwnConnection(id!);
        Assert.Equal(1, host.AcceptedConnections);
    }
}
