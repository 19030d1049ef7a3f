using System.Net.Sockets;

namespace IoUring.Tests.Sockets;

/// <summary>
/// Where a <see cref="UringConnection"/>'s application continuations run: on the thread pool in
/// <see cref="ContinuationMode.ThreadPool"/> (never the loop, even though the loop releases them), on the loop in
/// <see cref="ContinuationMode.Inline"/>.
/// </summary>
public sealed class ConnectionSchedulingTests
{
    [UringTheory]
    [MemberData(nameof(EngineModes.Both), MemberType = typeof(EngineModes))]
    public async Task Read_and_back_pressured_flush_continuations_run_where_the_mode_says(ContinuationMode mode)
    {
        // No hand-off: a continuation descheduled past HandOffAfter on a loaded machine would find the ring moved to
        // another thread before its check (the hand-off has its own tests).
        var engine = new IoUringEngine(new IoUringEngineOptions { Continuations = mode, HandOffAfter = Timeout.InfiniteTimeSpan });
        var options = new UringConnectionOptions { OutputPauseThreshold = 64 * 1024, OutputResumeThreshold = 32 * 1024, ZeroCopySendThreshold = 0 };
        await using LoopbackConnection pair = await SocketKit.ConnectionPairAsync(engine, options);
        (UringConnection server, Socket client, _, _) = pair;
        CancellationToken ct = Wait.Timeout();
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

    [UringTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Flushes_of_one_continuation_on_the_loop_go_out_as_one_send(bool handOff)
    {
        // Kestrel answers a request with two flushes (headers and first chunk, then the terminating chunk) from one
        // continuation: the send loop resumes after the continuation phase and sends both with one request.
        var engine = new IoUringEngine(new IoUringEngineOptions
        {
            Continuations = ContinuationMode.Inline,
            HandOffAfter = handOff ? IoUringEngineOptions.DefaultHandOffAfter : Timeout.InfiniteTimeSpan,
        });
        await using LoopbackConnection pair = await SocketKit.ConnectionPairAsync(engine, UringConnectionOptions.Default);
        (UringConnection server, Socket client, _, _) = pair;
        CancellationToken ct = Wait.Timeout();

        Task<(bool OnLoop, long Sends)> answering = Task.Run(async () =>
        {
            System.IO.Pipelines.ReadResult r = await server.Input.ReadAsync(ct).ConfigureAwait(false);
            server.Input.AdvanceTo(r.Buffer.End);
            // Here, in a continuation on the loop: two writes, two flushes.
            bool onLoop = engine.IsOnLoopThread;
            long before = Sends(engine);
            await server.Output.WriteAsync("first part "u8.ToArray(), ct).ConfigureAwait(false);
            await server.Output.WriteAsync("second part"u8.ToArray(), ct).ConfigureAwait(false);
            return (onLoop, before);
        }, ct);
        await Task.Delay(50, ct);
        _ = await client.SendAsync("go"u8.ToArray(), SocketFlags.None, ct);
        (bool onLoop, long sendsBefore) = await answering.Within();

        var expected = "first part second part"u8.ToArray();
        var received = new byte[expected.Length];
        int got = 0;
        while (got < received.Length)
        {
            int n = await client.ReceiveAsync(received.AsMemory(got), SocketFlags.None, ct);
            Assert.True(n > 0, "the peer closed early");
            got += n;
        }

        Assert.Equal(expected, received);
        // A hand-off (a loaded machine descheduling the continuation) moves the rest of it off the loop, where a flush
        // sends at once; only a continuation that ran on the loop makes the one-send promise.
        if (onLoop && engine.HandOffs == 0)
        {
            // Every byte counted as sent means every send has completed: the count is final.
            await Wait.UntilAsync(() => server.BytesSent == expected.Length, "the sends complete");
            Assert.Equal(sendsBefore + 1, Sends(engine));
        }
    }

    private static long Sends(IoUringEngine engine) =>
        Volatile.Read(ref engine.Counters.Completed[EngineCounters.CompletedIndex((int)OpKind.Send, EngineCounters.Outcome.Success)])
        + Volatile.Read(ref engine.Counters.Completed[EngineCounters.CompletedIndex((int)OpKind.SendV, EngineCounters.Outcome.Success)]);
}
