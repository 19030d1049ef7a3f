using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace IoUring.AspNetCore.Tests;

/// <summary>
/// By default Kestrel processes a request on the engine's thread where its bytes arrived (inline continuations); a
/// handler that blocks there must not stall the other connections of that engine: the engine hands its ring off.
/// </summary>
public sealed class InlineRequestTests
{
    [Fact]
    public async Task A_handler_that_blocks_does_not_stall_other_connections_on_the_same_engine()
    {
        using var blocking = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        await using KestrelHost host = await KestrelHost.StartAsync(KestrelHost.IoUring, app =>
        {
            app.MapGet("/block", () =>
            {
                blocking.Set();
                release.Wait(KestrelHost.Patience); // synchronous blocking in a handler, on the engine's thread
                return "released";
            });
            app.MapGet("/fast", () => "fast");
        }, ioUring: o => o.EngineCount = 1); // one engine: every connection shares the blocked thread's ring

        using HttpClient blocker = host.Client();
        Task<string> blocked = blocker.GetStringAsync("/block", TestContext.Current.CancellationToken);
        Assert.True(blocking.Wait(KestrelHost.Patience, TestContext.Current.CancellationToken), "the blocking handler never ran");

        var clock = Stopwatch.StartNew();
        for (int i = 0; i < 10; i++)
        {
            using HttpClient other = host.Client(); // a new connection each time
            Assert.Equal("fast", await other.GetStringAsync("/fast", TestContext.Current.CancellationToken));
        }

        TimeSpan elapsed = clock.Elapsed;
        Assert.False(blocked.IsCompleted, "the blocking request should still be blocked");
        release.Set();
        Assert.Equal("released", await blocked.WaitAsync(KestrelHost.Patience, TestContext.Current.CancellationToken));
        // Ten requests on fresh connections while one handler blocks the engine's first thread: each should cost
        // about a millisecond of hand-off at most, not wait for the release.
        Assert.True(elapsed < TimeSpan.FromSeconds(10), $"10 requests took {elapsed.TotalMilliseconds:F0} ms while a handler blocked");
    }

    [Fact]
    public void Inline_continuations_without_hand_off_are_refused_with_a_clear_exception()
    {
        KestrelHost.RequireIoUring();
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseIoUring(o => o.EngineOptions = new IoUringEngineOptions { HandOffAfter = Timeout.InfiniteTimeSpan });
        ArgumentException e = Assert.ThrowsAny<ArgumentException>(() =>
        {
            using WebApplication app = builder.Build();
            _ = app.Services.GetService(typeof(Microsoft.AspNetCore.Connections.IConnectionListenerFactory));
        });
        Assert.Contains("HandOffAfter", e.Message, StringComparison.Ordinal);
    }
}
