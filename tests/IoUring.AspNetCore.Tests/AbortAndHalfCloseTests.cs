// Server-side handler code takes the request's own tokens (or none): the test's token would change what is tested.
#pragma warning disable xUnit1051

using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace IoUring.AspNetCore.Tests;

/// <summary>
/// Clients that go away: aborted mid-request (the handler's body read fails and RequestAborted fires) and mid-response
/// (the handler's writes fail and RequestAborted fires), and a client that half-closes after its request (it still
/// gets the whole response). Each time the connection is released and the server goes on serving.
/// </summary>
public sealed class AbortAndHalfCloseTests
{
    /// <summary>The aborted connection was released, and the server still answers a new one ("still here" at /).</summary>
    private static async Task AssertReleasedAndStillServingAsync(KestrelHost host)
    {
        await KestrelHost.UntilAsync(() => host.OpenConnections == 0, "the aborted connection was released");
        using HttpClient http = host.Client();
        Assert.Equal("still here", await http.GetStringAsync(new Uri("/", UriKind.Relative), TestContext.Current.CancellationToken));
    }

    /// <summary>Closes with RST at once (SO_LINGER 0), as a client that crashed or gave up.</summary>
    private static void Reset(Socket socket)
    {
        socket.LingerState = new LingerOption(true, 0);
        socket.Close();
    }

    [Theory]
    [MemberData(nameof(KestrelHost.Transports), MemberType = typeof(KestrelHost))]
    public async Task A_client_aborting_mid_request_fails_the_body_read_and_fires_RequestAborted(string transport)
    {
        var observed = new TaskCompletionSource<(Exception? Error, bool Aborted, long Read)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var reading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using KestrelHost host = await KestrelHost.StartAsync(transport, app =>
        {
            app.MapPost("/upload", async (HttpContext c) =>
            {
                long read = 0;
                byte[] buffer = new byte[65536];
                try
                {
                    int n;
                    while ((n = await c.Request.Body.ReadAsync(buffer)) > 0)
                    {
                        read += n;
                        reading.TrySetResult();
                    }

                    observed.TrySetResult((null, c.RequestAborted.IsCancellationRequested, read));
                }
                catch (Exception e)
                {
                    // RequestAborted fires too (Kestrel signals it from the connection's close).
                    await KestrelHost.UntilAsync(() => c.RequestAborted.IsCancellationRequested, "RequestAborted fired");
                    observed.TrySetResult((e, c.RequestAborted.IsCancellationRequested, read));
                }
            });
            app.MapGet("/", static (HttpContext c) => KestrelHost.TextAsync(c, "still here"));
        });

        using (Socket client = await host.ConnectAsync())
        {
            // Promise 10 MiB, send 256 KiB, then reset.
            await client.SendAsync("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 10485760\r\n\r\n"u8.ToArray(), SocketFlags.None);
            await client.SendAsync(new byte[256 * 1024], SocketFlags.None);
            await reading.Task.WaitAsync(KestrelHost.Patience);
            Reset(client);
        }

        (Exception? error, bool aborted, long read) = await observed.Task.WaitAsync(KestrelHost.Patience);
        Assert.NotNull(error);
        Assert.True(error is IOException or OperationCanceledException or Microsoft.AspNetCore.Connections.ConnectionResetException or BadHttpRequestException, error.ToString());
        Assert.True(aborted, "RequestAborted fired");
        Assert.InRange(read, 1, 256 * 1024);
        await AssertReleasedAndStillServingAsync(host);
    }

    [Theory]
    [MemberData(nameof(KestrelHost.Transports), MemberType = typeof(KestrelHost))]
    public async Task A_client_aborting_mid_response_fails_the_writes_and_fires_RequestAborted(string transport)
    {
        var observed = new TaskCompletionSource<(Exception? Error, bool Aborted, long Written)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using KestrelHost host = await KestrelHost.StartAsync(transport, app =>
        {
            app.MapGet("/endless", async (HttpContext c) =>
            {
                byte[] chunk = new byte[64 * 1024];
                long written = 0;
                try
                {
                    // An endless response: only the client going away ends it.
                    for (int i = 0; i < 1_000_000 && !c.RequestAborted.IsCancellationRequested; i++)
                    {
                        await c.Response.Body.WriteAsync(chunk, c.RequestAborted);
                        written += chunk.Length;
                    }

                    // Kestrel's socket transport can accept writes after the peer's reset (they go nowhere) and fire
                    // RequestAborted a moment later from the thread pool: a fast loop may end its iterations first.
                    try
                    {
                        await Task.Delay(KestrelHost.Patience, c.RequestAborted);
                    }
                    catch (OperationCanceledException)
                    {
                    }

                    observed.TrySetResult((null, c.RequestAborted.IsCancellationRequested, written));
                }
                catch (Exception e)
                {
                    observed.TrySetResult((e, c.RequestAborted.IsCancellationRequested, written));
                }
            });
            app.MapGet("/", static (HttpContext c) => KestrelHost.TextAsync(c, "still here"));
        });

        using (Socket client = await host.ConnectAsync())
        {
            await client.SendAsync("GET /endless HTTP/1.1\r\nHost: t\r\n\r\n"u8.ToArray(), SocketFlags.None);
            byte[] buffer = new byte[65536];
            long got = 0;
            while (got < 1024 * 1024)
            {
                int n = await client.ReceiveAsync(buffer, SocketFlags.None, TestContext.Current.CancellationToken);
                Assert.True(n > 0);
                got += n;
            }

            Reset(client);
        }

        (Exception? error, bool aborted, long written) = await observed.Task.WaitAsync(KestrelHost.Patience);
        Assert.True(aborted, $"RequestAborted fired (error: {error})");
        Assert.True(error is null or OperationCanceledException or IOException or Microsoft.AspNetCore.Connections.ConnectionAbortedException, error?.ToString());
        Assert.True(written >= 1024 * 1024 - (64 * 1024), $"the handler wrote {written} bytes");
        await AssertReleasedAndStillServingAsync(host);
    }

    [Theory]
    [MemberData(nameof(KestrelHost.Transports), MemberType = typeof(KestrelHost))]
    public async Task A_client_that_half_closes_after_its_request_is_treated_as_gone_as_Kestrel_does_on_sockets(string transport)
    {
        // Kestrel takes a client's end of stream as the client going away (its socket transport fires ConnectionClosed
        // at FIN): the request in flight is aborted and the connection closes without a response. The io_uring
        // transport must behave the same (it answered before; both transports are checked here).
        var aborted = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using KestrelHost host = await KestrelHost.StartAsync(transport, app => app.MapGet("/slow", async (HttpContext c) =>
        {
            try
            {
                await Task.Delay(KestrelHost.Patience, c.RequestAborted);
            }
            catch (OperationCanceledException)
            {
            }

            aborted.TrySetResult(c.RequestAborted.IsCancellationRequested);
        }));

        using Socket client = await host.ConnectAsync();
        await client.SendAsync("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n"u8.ToArray(), SocketFlags.None);
        client.Shutdown(SocketShutdown.Send);
        Assert.True(await aborted.Task.WaitAsync(KestrelHost.Patience), "RequestAborted fired at the client's end of stream");
        (string text, _) = await KestrelHost.ReadToEndAsync(client);
        Assert.Equal(string.Empty, text);
        await KestrelHost.UntilAsync(() => host.OpenConnections == 0, "the half-closed connection was released");
    }

    [Theory]
    [MemberData(nameof(KestrelHost.Transports), MemberType = typeof(KestrelHost))]
    public async Task A_response_completes_and_the_server_half_closes_before_the_client_does(string transport)
    {
        // The other direction: "Connection: close" makes the server finish its response and end its side first; the
        // client reads the whole body and then end of stream, and can still close its own side afterwards.
        const int Size = 3 * 1024 * 1024;
        await using KestrelHost host = await KestrelHost.StartAsync(transport, app => app.MapGet("/big", static async (HttpContext c) =>
        {
            byte[] body = Encoding.ASCII.GetBytes(new string('x', Size));
            c.Response.ContentLength = body.Length;
            await c.Response.Body.WriteAsync(body);
        }));

        using Socket client = await host.ConnectAsync();
        await client.SendAsync("GET /big HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"u8.ToArray(), SocketFlags.None);
        (string text, bool reset) = await KestrelHost.ReadToEndAsync(client);
        Assert.False(reset, "the server reset the connection instead of closing it");
        Assert.StartsWith("HTTP/1.1 200 OK", text, StringComparison.Ordinal);
        int bodyStart = text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4;
        Assert.Equal(Size, text.Length - bodyStart);
        client.Shutdown(SocketShutdown.Send);
        await KestrelHost.UntilAsync(() => host.OpenConnections == 0, "the connection was released");
    }
}
