using System.Net;
using System.Net.Sockets;
using System.Text;

namespace IoUring.Tests.Samples;

/// <summary>
/// The samples end to end: the plaintext responder on both of its transports, and Kestrel on the io_uring transport,
/// each started as a child process on a loopback port and driven by real clients.
/// </summary>
public sealed class SampleServerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [UringTheory]
    [InlineData("iouring")]
    [InlineData("dotnet")]
    public async Task HttpPlaintext_answers_keep_alive_and_pipelined_requests_on_both_transports(string transport)
    {
        await using SampleServer server = await SampleServer.StartAsync("HttpPlaintext", "--transport", transport);

        // HttpClient: several requests over kept-alive connections.
        using (var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(60) })
        {
            for (int i = 0; i < 5; i++)
            {
                using HttpResponseMessage r = await client.GetAsync(new Uri("plaintext", UriKind.Relative), Ct);
                Assert.Equal(HttpStatusCode.OK, r.StatusCode);
                Assert.Equal("Hello, World!", await r.Content.ReadAsStringAsync(Ct));
                Assert.Equal("text/plain", r.Content.Headers.ContentType?.MediaType);
                Assert.NotNull(r.Headers.Date);
                Assert.InRange(r.Headers.Date!.Value, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(5));
            }

            using HttpResponseMessage missing = await client.GetAsync(new Uri("nope", UriKind.Relative), Ct);
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        // Raw socket: three pipelined requests in one write (the last split across two writes) get three responses in order.
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, server.Port), Ct);
        byte[] pipelined = Encoding.ASCII.GetBytes("GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\nGET /missing HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHo");
        await socket.SendAsync(pipelined, SocketFlags.None, Ct);
        await Task.Delay(50, Ct);
        await socket.SendAsync("st: a\r\n\r\n"u8.ToArray(), SocketFlags.None, Ct);
        string responses = await HttpText.ReadUntilAsync(socket, text => HttpText.Count(text, "HTTP/1.1 ") == 3 && text.EndsWith("Hello, World!", StringComparison.Ordinal));
        int first = responses.IndexOf("HTTP/1.1 200 OK", StringComparison.Ordinal);
        int second = responses.IndexOf("HTTP/1.1 404 Not Found", StringComparison.Ordinal);
        int third = responses.LastIndexOf("HTTP/1.1 200 OK", StringComparison.Ordinal);
        Assert.True(first == 0 && second > first && third > second, responses);
        Assert.Equal(2, HttpText.Count(responses, "Hello, World!"));

        string stats = await server.StatsAsync();
        Assert.Contains("requests=", stats, StringComparison.Ordinal);
        await server.StopAsync();
    }

    [UringFact]
    public async Task Kestrel_on_the_io_uring_transport_serves_minimal_api_requests()
    {
        if (!SampleServer.AspNetCoreInstalled())
        {
            Assert.Skip("The ASP.NET Core shared framework (Microsoft.AspNetCore.App) is not installed.");
        }

        await using SampleServer server = await SampleServer.StartAsync("AspNetCorePlaintext", "--transport", "iouring");
        using var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        using HttpResponseMessage r = await client.GetAsync(new Uri("plaintext", UriKind.Relative), Ct);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("Hello, World!", await r.Content.ReadAsStringAsync(Ct));

        // The connection id comes from the transport that accepted the connection.
        string id = await client.GetStringAsync(new Uri("transport", UriKind.Relative), Ct);
        Assert.StartsWith("uring-", id, StringComparison.Ordinal);

        // Concurrent requests over several connections (HttpClient opens more as needed).
        Task<string>[] many = [.. Enumerable.Range(0, 32).Select(_ => client.GetStringAsync(new Uri("plaintext", UriKind.Relative), Ct))];
        string[] bodies = await Task.WhenAll(many);
        Assert.All(bodies, b => Assert.Equal("Hello, World!", b));

        // Stopping the host unbinds the listener and closes kept-alive connections: the process exits cleanly.
        await server.StopAsync();
    }
}
