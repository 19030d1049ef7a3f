using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace IoUring.AspNetCore.Tests;

/// <summary>Large request and response bodies, graceful shutdown with requests in flight, and the connection features.</summary>
public sealed class BodiesShutdownAndFeaturesTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(KestrelHost.Transports), MemberType = typeof(KestrelHost))]
    public async Task Large_request_and_response_bodies_arrive_intact(string transport)
    {
        const int Size = 48 * 1024 * 1024;
        await using KestrelHost host = await KestrelHost.StartAsync(transport, app =>
        {
            // Upload: the server hashes what it read.
            app.MapPost("/hash", static async (HttpContext c) =>
            {
                using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                byte[] buffer = new byte[81920];
                long total = 0;
                int n;
                while ((n = await c.Request.Body.ReadAsync(buffer)) > 0)
                {
                    sha.AppendData(buffer, 0, n);
                    total += n;
                }

                await KestrelHost.TextAsync(c, $"{total}:{Convert.ToHexString(sha.GetHashAndReset())}");
            });

            // Download: a deterministic body, written in uneven pieces.
            app.MapGet("/data", static async (HttpContext c) =>
            {
                byte[] data = Data(Size);
                c.Response.ContentLength = data.Length;
                int at = 0, piece = 1;
                while (at < data.Length)
                {
                    int n = Math.Min(piece, data.Length - at);
                    await c.Response.Body.WriteAsync(data.AsMemory(at, n));
                    at += n;
                    piece = piece * 3 % 1_000_003 + 1;
                }
            });
        }, k => k.Limits.MaxRequestBodySize = null); // past Kestrel's default 30 MB upload limit

        byte[] expected = Data(Size);
        using HttpClient http = host.Client();
        using (var content = new ByteArrayContent(expected))
        {
            using HttpResponseMessage r = await http.PostAsync(new Uri("/hash", UriKind.Relative), content, Ct);
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Equal($"{Size}:{Convert.ToHexString(SHA256.HashData(expected))}", await r.Content.ReadAsStringAsync(Ct));
        }

        byte[] got = await http.GetByteArrayAsync(new Uri("/data", UriKind.Relative), Ct);
        Assert.Equal(Size, got.Length);
        Assert.True(expected.AsSpan().SequenceEqual(got), "the downloaded body differs");
    }

    [Theory]
    [MemberData(nameof(KestrelHost.Transports), MemberType = typeof(KestrelHost))]
    public async Task Graceful_shutdown_lets_requests_in_flight_finish_and_then_stops_accepting(string transport)
    {
        var inHandler = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        KestrelHost host = await KestrelHost.StartAsync(transport, app =>
        {
            app.MapGet("/slow", async (HttpContext c) =>
            {
                inHandler.TrySetResult();
                await release.Task;
                await KestrelHost.TextAsync(c, "finished");
            });
            app.MapGet("/", static (HttpContext c) => KestrelHost.TextAsync(c, "hello"));
        });
        try
        {
            // A kept-alive idle connection, and a request in flight on another.
            using Socket idle = await host.ConnectAsync();
            await idle.SendAsync("GET / HTTP/1.1\r\nHost: t\r\n\r\n"u8.ToArray(), SocketFlags.None);
            (string idleHead, _) = await KestrelHost.ReadResponseAsync(idle, new StringBuilder());
            Assert.StartsWith("HTTP/1.1 200 OK", idleHead, StringComparison.Ordinal);

            using Socket busy = await host.ConnectAsync();
            await busy.SendAsync("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n"u8.ToArray(), SocketFlags.None);
            await inHandler.Task.WaitAsync(KestrelHost.Patience, Ct);

            // Stop with a long grace period: the listener goes at once, the idle connection is closed, and the stop
            // waits for the request in flight.
            Task stopping = host.App.StopAsync(TimeSpan.FromSeconds(30) is var grace ? new CancellationTokenSource(grace).Token : default);
            (string idleRest, _) = await KestrelHost.ReadToEndAsync(idle);
            Assert.Equal(string.Empty, idleRest);
            await KestrelHost.UntilAsync(() => !CanConnect(host.Port), "the listener was closed");
            await Task.Delay(200, Ct);
            Assert.False(stopping.IsCompleted, "the stop waited for the request in flight");

            release.SetResult();
            (string head, string body) = await KestrelHost.ReadResponseAsync(busy, new StringBuilder());
            Assert.StartsWith("HTTP/1.1 200 OK", head, StringComparison.Ordinal);
            Assert.Equal("finished", body);
            await stopping.WaitAsync(KestrelHost.Patience, Ct);
            (string busyRest, _) = await KestrelHost.ReadToEndAsync(busy);
            Assert.Equal(string.Empty, busyRest);
            Assert.Equal(0, host.OpenConnections);
        }
        finally
        {
            release.TrySetResult();
            await host.DisposeAsync();
        }
    }

    [Theory]
    [MemberData(nameof(KestrelHost.Transports), MemberType = typeof(KestrelHost))]
    public async Task Connection_id_and_endpoint_features_describe_the_io_uring_connection(string transport)
    {
        await using KestrelHost host = await KestrelHost.StartAsync(transport, app => app.MapGet("/whoami", static (HttpContext c) =>
        {
            IConnectionIdFeature id = c.Features.Get<IConnectionIdFeature>()!;
            IHttpConnectionFeature http = c.Features.Get<IHttpConnectionFeature>()!;
            IConnectionEndPointFeature? endpoints = c.Features.Get<IConnectionEndPointFeature>();
            return KestrelHost.TextAsync(c, string.Join('|',
                id.ConnectionId, c.Connection.Id,
                $"{c.Connection.LocalIpAddress}:{c.Connection.LocalPort}", $"{c.Connection.RemoteIpAddress}:{c.Connection.RemotePort}",
                $"{http.LocalIpAddress}:{http.LocalPort}", $"{http.RemoteIpAddress}:{http.RemotePort}",
                endpoints?.LocalEndPoint?.ToString() ?? "none", endpoints?.RemoteEndPoint?.ToString() ?? "none"));
        }));

        var ids = new HashSet<string>();
        for (int i = 0; i < 3; i++)
        {
            using Socket client = await host.ConnectAsync();
            string local = client.LocalEndPoint!.ToString()!, server = client.RemoteEndPoint!.ToString()!;
            await client.SendAsync("GET /whoami HTTP/1.1\r\nHost: t\r\n\r\n"u8.ToArray(), SocketFlags.None, Ct);
            (_, string body) = await KestrelHost.ReadResponseAsync(client, new StringBuilder());
            string[] f = body.Split('|');
            host.AssertOwnConnection(f[0]);
            Assert.Equal(f[0], f[1]);
            Assert.True(ids.Add(f[0]), $"connection id {f[0]} was reused");

            // The server's local endpoint is what the client connected to, its remote endpoint the client's own.
            Assert.Equal(server, f[2]);
            Assert.Equal(local, f[3]);
            Assert.Equal(server, f[4]);
            Assert.Equal(local, f[5]);
            // IConnectionEndPointFeature: the io_uring transport offers it (Kestrel's socket transport keeps it on the
            // ConnectionContext only).
            if (host.Transport == KestrelHost.IoUring || f[6] != "none")
            {
                Assert.Equal(server, f[6]);
                Assert.Equal(local, f[7]);
            }
        }
    }

    private static bool CanConnect(int port)
    {
        try
        {
            using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Connect(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static byte[] Data(int size)
    {
        byte[] data = new byte[size];
        new Random(42).NextBytes(data);
        return data;
    }
}
