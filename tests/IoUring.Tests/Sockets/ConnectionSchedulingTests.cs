using System.Net.Sockets;

namespace IoUring.Tests.Sockets;

/// <summary>
/// Where a <see cref="UringConnection"/>'s application continuations run: on the thread pool in
/// <see cref="ContinuationMode.ThreadPool"/> (never the loop, even though the loop releases them), on the loop in
/// <see cref="ContinuationMode.Inline"/>.
/// </summary>
public sealed class ConnectionSchedulingTests
{
    [Theory]
    [InlineData(ContinuationMode.ThreadPool)]
    [InlineData(ContinuationMode.Inline)]
    public async Task Read_and_back_pressured_flush_continuations_run_where_the_mode_says(ContinuationMode mode)
    {
        Kernel.RequireIoUring();
        // No hand-off: a continuation descheduled past HandOffAfter on a loaded machine would find the ring moved to
        // another thread before its check (the hand-off has its own tests).
        await using var engine = new IoUringEngine(new IoUringEngineOptions { Continuations = mode, HandOffAfter = Timeout.InfiniteTimeSpan });
        await using UringSocket listener = UringSocket.Listen(engine, SocketKit.AnyLoopback);
        CancellationToken ct = Wait.Timeout();
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        var options = new UringConnectionOptions { OutputPauseThreshold = 64 * 1024, OutputResumeThreshold = 32 * 1024, ZeroCopySendThreshold = 0 };
        await using UringConnection server = (await SocketKit.AcceptFromAsync(listener, client, ct)).CreateConnection(options);
        bool onPool = mode == ContinuationMode.ThreadPool;

        // A read released by a receive (the loop flushes the input pipe).
        Task<bool> reading = Task.Run(async () =>
        {
            System.IO.Pipelines.ReadResult r = await server.Input.ReadAsync(ct).ConfigureAwait(false);
            bool onLoop = engine.IsOnLoopThread;
            server.Input.AdvanceTo(r.Buffer.End);
            return onLoop;
        }, ct);
        await Task.Delay(50, ct);
        _ = await client.SendAsync(new byte[] { 1, 2, 3 }, SocketFlags.None, ct);
        Assert.Equal(!onPool, await reading.Within());

        // A flush held by back-pressure and released by a completed send (on the loop).
        Task<bool> writing = Task.Run(async () =>
        {
            var block = new byte[8 * 1024 * 1024];
            System.IO.Pipelines.FlushResult f = await server.Output.WriteAsync(block, ct).ConfigureAwait(false);
            Assert.False(f.IsCompleted);
            return engine.IsOnLoopThread;
        }, ct);
        await Task.Delay(100, ct);
        Assert.False(writing.IsCompleted, "8 MiB to a peer that does not read should wait on back-pressure");
        var sink = new byte[1024 * 1024];
        long received = 0;
        while (received < 8 * 1024 * 1024)
        {
            received += await client.ReceiveAsync(sink, SocketFlags.None, ct);
        }

        Assert.Equal(!onPool, await writing.Within());
    }
}
