using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace IoUring.AspNetCore.Tests;

/// <summary>
/// Outbound: HttpClient over io_uring sockets (<see cref="UringHttp"/>, a SocketsHttpHandler.ConnectCallback) against
/// Kestrel, with bodies verified by hash, kept-alive connections reused and concurrent requests.
/// </summary>
public sealed class OutboundHttpTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(KestrelHost.Transports), MemberType = typeof(KestrelHost))]
    public async Task HttpClient_over_io_uring_sockets_talks_to_Kestrel_with_bodies_intact(string serverTransport)
    {
        KestrelHost.RequireIoUring();
        const int Size = 8 * 1024 * 1024;
        await using KestrelHost host = await KestrelHost.StartAsync(serverTransport, app =>
        {
            app.MapPost("/echo", static async (HttpContext c) =>
            {
                // Streams the request body back as the response body.
                c.Response.ContentType = "application/octet-stream";
                await c.Request.Body.CopyToAsync(c.Response.Body);
            });
            app.MapGet("/data/{size:int}", static async (HttpContext c, int size) =>
            {
                byte[] data = Data(size);
                c.Response.ContentLength = size;
                await c.Response.Body.WriteAsync(data);
            });
            app.MapGet("/id", static (HttpContext c) => KestrelHost.TextAsync(c, c.Connection.Id));
        }, k => k.Limits.MaxRequestBodySize = null);

        await using var engine = new IoUringEngine();
        using var client = new HttpClient(UringHttp.CreateHandler(engine)) { BaseAddress = host.BaseAddress, Timeout = KestrelHost.Patience };

        // Upload and echo: the bytes come back unchanged.
        byte[] upload = Data(Size);
        using (var content = new ByteArrayContent(upload))
        {
            using HttpResponseMessage r = await client.PostAsync(new Uri("/echo", UriKind.Relative), content, Ct);
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            byte[] back = await r.Content.ReadAsByteArrayAsync(Ct);
            Assert.Equal(SHA256.HashData(upload), SHA256.HashData(back));
        }

        // Downloads of several sizes (a few bytes to megabytes), sequential on a kept-alive connection.
        foreach (int size in new[] { 1, 1000, 65_537, 3 * 1024 * 1024 })
        {
            byte[] got = await client.GetByteArrayAsync(new Uri($"/data/{size}", UriKind.Relative), Ct);
            Assert.Equal(SHA256.HashData(Data(size)), SHA256.HashData(got));
        }

        // Sequential requests reuse one connection (the handler pools the io_uring streams).
        string first = await client.GetStringAsync(new Uri("/id", UriKind.Relative), Ct);
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal(first, await client.GetStringAsync(new Uri("/id", UriKind.Relative), Ct));
        }

        host.AssertOwnConnection(first);

        // Concurrent requests: more connections, every body intact.
        Task<byte[]>[] many = [.. Enumerable.Range(0, 32).Select(i => client.GetByteArrayAsync(new Uri($"/data/{10_000 + i}", UriKind.Relative), Ct))];
        byte[][] bodies = await Task.WhenAll(many);
        for (int i = 0; i < bodies.Length; i++)
        {
            Assert.Equal(SHA256.HashData(Data(10_000 + i)), SHA256.HashData(bodies[i]));
        }

        // Once the server has stopped (closing the pooled connections), a request fails promptly instead of hanging.
        await host.App.StopAsync(Ct);
        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetStringAsync(new Uri("/id", UriKind.Relative), Ct));
    }

    [Fact]
    public async Task A_refused_connection_is_an_HttpRequestException_with_the_socket_error()
    {
        KestrelHost.RequireIoUring();
        await using var engine = new IoUringEngine();
        using var client = new HttpClient(UringHttp.CreateHandler(engine)) { Timeout = KestrelHost.Patience };
        int port;
        using (var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        HttpRequestException e = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetStringAsync(new Uri($"http://127.0.0.1:{port}/"), Ct));
        Assert.Equal(System.Net.Sockets.SocketError.ConnectionRefused, Assert.IsAssignableFrom<System.Net.Sockets.SocketException>(e.InnerException).SocketErrorCode);
    }

    private static byte[] Data(int size)
    {
        byte[] data = new byte[size];
        new Random(size).NextBytes(data);
        return data;
    }
}
