using System.Net.Sockets;

namespace IoUring.Tests.Sockets;

/// <summary>Many connections at once, large payloads, every byte verified; also on the fallback paths.</summary>
public sealed class EchoLoadTests
{
    /// <summary>Engine mode x receive path (multishot + ring, single-shot + ring, single-shot into own buffer) x accept path.</summary>
    public static TheoryData<ContinuationMode, bool, bool, bool> Paths => new()
    {
        { ContinuationMode.ThreadPool, true, true, true },
        { ContinuationMode.Inline, true, true, true },
        { ContinuationMode.ThreadPool, false, true, false },
        { ContinuationMode.ThreadPool, false, false, true },
        { ContinuationMode.Inline, false, false, false },
    };

    [Theory]
    [MemberData(nameof(Paths))]
    public async Task Many_concurrent_connections_echo_large_payloads_intact(ContinuationMode mode, bool multishotRecv, bool bufferRing, bool multishotAccept)
    {
        await using var engine = EngineModes.NewEngine(mode);
        var socketOptions = new UringSocketOptions { UseMultishotAccept = multishotAccept };
        var connectionOptions = new UringConnectionOptions
        {
            UseMultishotReceive = multishotRecv,
            UseBufferRing = bufferRing,
            InputPauseThreshold = 256 * 1024,
            InputResumeThreshold = 128 * 1024,
        };
        await using UringSocket listener = UringSocket.Listen(engine, SocketKit.AnyLoopback, socketOptions);
        Task<List<Task>> serving = SocketKit.ServeEchoAsync(listener, connectionOptions);
        CancellationToken ct = Wait.Timeout();

        const int Connections = 24;
        var clients = new Task[Connections];
        for (int c = 0; c < Connections; c++)
        {
            int seed = c;
            clients[c] = Task.Run(async () =>
            {
                // A mix of sizes: small, around the buffer size, and a few megabytes (paused and resumed on the way).
                int size = seed % 3 == 0 ? 3 * 1024 * 1024 + seed : seed % 3 == 1 ? 16 * 1024 + seed : 100 + seed;
                byte[] data = SocketKit.Pattern(size, seed);
                using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
                await client.ConnectAsync(listener.LocalEndPoint!, ct);
                Task<byte[]> back = SocketKit.ReceiveExactlyAsync(client, size, ct);
                for (int i = 0; i < size; i += 50_000)
                {
                    await client.SendAsync(data.AsMemory(i, Math.Min(50_000, size - i)), SocketFlags.None, ct);
                }

                client.Shutdown(SocketShutdown.Send);
                byte[] got = await back;
                Assert.True(data.AsSpan().SequenceEqual(got), $"connection {seed}: echoed bytes differ");
                Assert.Equal(0, await client.ReceiveAsync(new byte[1], SocketFlags.None, ct));
            }, ct);
        }

        await Task.WhenAll(clients).Within();
        await listener.DisposeAsync();
        await Task.WhenAll(await serving.Within()).Within();
    }

    [UringFact]
    public async Task A_tiny_buffer_ring_runs_dry_and_the_multishot_receive_is_re_armed_without_losing_bytes()
    {
        await using var engine = new IoUringEngine();
        // Two 512-byte buffers for the whole engine: the kernel ends the multishot receive with ENOBUFS whenever both
        // are out, and the loop re-arms it once they are back.
        var options = new UringConnectionOptions { ReceiveBufferCount = 2, ReceiveBufferSize = 512 };
        await using UringSocket listener = UringSocket.Listen(engine, SocketKit.AnyLoopback);
        var connections = new List<UringConnection>();
        Task<List<Task>> serving = SocketKit.ServeEchoAsync(listener, options, connections);
        CancellationToken ct = Wait.Timeout();
        var clients = new Task[4];
        for (int c = 0; c < clients.Length; c++)
        {
            int seed = 100 + c;
            clients[c] = Task.Run(async () =>
            {
                byte[] data = SocketKit.Pattern(2 * 1024 * 1024, seed);
                using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
                await client.ConnectAsync(listener.LocalEndPoint!, ct);
                Task<byte[]> back = SocketKit.ReceiveExactlyAsync(client, data.Length, ct);
                await client.SendAsync(data, SocketFlags.None, ct);
                client.Shutdown(SocketShutdown.Send);
                byte[] got = await back;
                Assert.True(data.AsSpan().SequenceEqual(got), $"client {seed}: echoed bytes differ");
            }, ct);
        }

        await Task.WhenAll(clients).Within();
        await listener.DisposeAsync();
        await Task.WhenAll(await serving.Within()).Within();
        if (Probe.Current.IsSupported(Opcode.SendZc))
        {
            int shortages = connections.Sum(c => c.ReceiveBufferShortages);
            Assert.True(shortages > 0, "the two-buffer ring never ran dry, so the re-arm path was not exercised");
        }
    }

    [Fact]
    public async Task The_kernel_paths_in_use_are_reported()
    {
        await using LoopbackConnection pair = await SocketKit.ConnectionPairAsync(EngineModes.NewEngine(ContinuationMode.Inline));
        (UringConnection server, _, UringSocket listener, _) = pair;

        // This machine's kernel (6.x) has all of them; on older kernels the fallbacks are chosen instead.
        bool modern = Probe.Current.IsSupported(Opcode.SendZc);
        Assert.Equal(modern, listener.UsesMultishotAccept);
        Assert.Equal(modern, server.UsesMultishotReceive);
        Assert.Equal(Probe.Current.IsSupported(Opcode.Socket), server.UsesBufferRing);
    }

    [UringFact(Opcode.SendZc)]
    public async Task A_large_contiguous_block_goes_out_zero_copy_and_arrives_intact()
    {
        await using LoopbackConnection pair = await SocketKit.ConnectionPairAsync(new IoUringEngine());
        (UringConnection server, Socket client, _, _) = pair;
        CancellationToken ct = Wait.Timeout();

        byte[] data = SocketKit.Pattern(4 * 1024 * 1024, seed: 9);
        Task<byte[]> back = SocketKit.ReceiveExactlyAsync(client, data.Length, ct);
        for (int i = 0; i < data.Length; i += 1024 * 1024)
        {
            Memory<byte> block = server.Output.GetMemory(1024 * 1024);
            data.AsSpan(i, 1024 * 1024).CopyTo(block.Span);
            server.Output.Advance(1024 * 1024);
            await server.Output.FlushAsync(ct);
        }

        Assert.Equal(data, await back.Within());
        Assert.True(server.ZeroCopySends > 0, "no send went out with SEND_ZC");
        Assert.Equal(data.Length, server.BytesSent);
    }
}
