using System.IO.Pipelines;
using System.Net.Sockets;
using IoUring.Interop;
using IoUring.Tests.Sockets;

namespace IoUring.Tests.Reliability;

/// <summary>
/// Engines disposed under open connections (found by the sockets soak): every pending read of a connection's input,
/// whatever state its receive is in, must end (with <see cref="ObjectDisposedException"/> or the data already
/// received), and the connection's <c>DisposeAsync</c> must finish.
/// </summary>
public sealed class SocketEngineDisposeFaultTests
{
    public static TheoryData<bool, bool, long> Receives => new()
    {
        { true, true, 1 << 20 },
        { false, true, 1 << 20 },
        { false, false, 1 << 20 },
        { true, true, 1024 },
        { false, false, 1024 },
    };

    [UringTheory]
    [MemberData(nameof(Receives))]
    public async Task Disposing_the_engine_ends_a_pending_input_read_and_the_connection_disposes(bool multishot, bool bufferRing, long pauseAt)
    {
        var engine = new IoUringEngine();
        UringSocket listener = UringSocket.Listen(engine, SocketKit.AnyLoopback);
        CancellationToken ct = Wait.Timeout();
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        UringSocket accepted = await SocketKit.AcceptFromAsync(listener, client, ct);
        UringConnection server = accepted.CreateConnection(new UringConnectionOptions
        {
            UseMultishotReceive = multishot,
            UseBufferRing = bufferRing,
            InputPauseThreshold = pauseAt,
            InputResumeThreshold = pauseAt / 2,
        });

        // Fill the input past the pause threshold when it is small, without consuming.
        byte[] data = new byte[8192];
        for (int i = 0; i < 4; i++)
        {
            await client.SendAsync(data, SocketFlags.None, ct);
        }

        ReadResult first = await server.Input.ReadAsync(ct).AsTask().Within();
        server.Input.AdvanceTo(first.Buffer.Start, first.Buffer.End); // examined, not consumed: the next read waits for more
        Task<ReadResult> pending = server.Input.ReadAsync(ct).AsTask();

        engine.Dispose();

        // The pending read, and every read after it, ends: with more data, the end, or ObjectDisposedException.
        Task draining = Task.Run(async () =>
        {
            ReadResult r = await pending;
            while (!r.IsCompleted)
            {
                server.Input.AdvanceTo(r.Buffer.End);
                r = await server.Input.ReadAsync(ct);
            }
        }, ct);
        Exception? error = await Record.ExceptionAsync(() => draining.Within());
        Assert.True(error is null or ObjectDisposedException, $"unexpected {error}");
        await server.DisposeAsync().AsTask().Within();
        await listener.DisposeAsync();
    }
}

/// <summary>
/// A connection's zero-copy sender is reused for every large send. Once its engine has stopped, a send made after
/// that (the sender had been queued before, so the engine no longer tells it) must fail at once instead of leaving
/// the send loop, every later flush and <c>DisposeAsync</c> waiting forever (found by the sockets soak).
/// </summary>
public sealed class SocketZeroCopyAfterDisposeTests
{
    [UringFact(Opcode.SendZc)]
    public async Task A_zero_copy_send_after_the_engine_stopped_fails_and_the_connection_still_disposes()
    {
        var engine = new IoUringEngine();
        UringSocket listener = UringSocket.Listen(engine, SocketKit.AnyLoopback);
        CancellationToken ct = Wait.Timeout();
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        UringSocket accepted = await SocketKit.AcceptFromAsync(listener, client, ct);
        UringConnection server = accepted.CreateConnection(new UringConnectionOptions { ZeroCopySendThreshold = 1024 });

        // One zero-copy send that completes, so the sender has been through the engine once.
        byte[] block = SocketKit.Pattern(4096, 7);
        await server.Output.WriteAsync(block, ct).AsTask().Within();
        byte[] got = await SocketKit.ReceiveExactlyAsync(client, block.Length, ct).Within();
        Assert.Equal(block, got);
        // The count goes up when the kernel's notification arrives, which can be after the peer has the bytes.
        Assert.True(SpinWait.SpinUntil(() => server.ZeroCopySends >= 1, Wait.Patience), "the first block was not sent zero-copy");

        engine.Dispose();

        // The next large block reaches the sender after the engine stopped: the flush (or a later one) must fail.
        Exception? error = await Record.ExceptionAsync(async () =>
        {
            for (int i = 0; i < 50; i++)
            {
                FlushResult r = await server.Output.WriteAsync(block, ct).AsTask().Within();
                if (r.IsCompleted)
                {
                    return;
                }
            }
        });
        Assert.True(error is null or IOException or ObjectDisposedException, $"unexpected {error}");
        await server.DisposeAsync().AsTask().Within();
        await listener.DisposeAsync();
    }
}

/// <summary>
/// Unix-domain sockets have no zero-copy send (<c>EOPNOTSUPP</c>): a connection over one with the default options
/// (zero-copy from 64 KiB) used to fail every large write (found by the sockets soak). It now sends them ordinarily.
/// </summary>
public sealed class SocketUnixLargeWriteTests
{
    [UringFact]
    public async Task A_large_write_on_a_Unix_domain_connection_arrives_intact()
    {
        string path = Path.Combine(Path.GetTempPath(), $"iouring-unix-zc-{Guid.NewGuid():N}.sock");
        await using var engine = new IoUringEngine();
        try
        {
            await using UringSocket listener = UringSocket.Listen(engine, new UnixDomainSocketEndPoint(path));
            CancellationToken ct = Wait.Timeout();
            Task<UringSocket> accepting = listener.AcceptAsync(ct).AsTask();
            using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await client.ConnectAsync(new UnixDomainSocketEndPoint(path), ct);
            await using UringConnection server = (await accepting.Within()).CreateConnection(new UringConnectionOptions { ZeroCopySendThreshold = 1024 });
            byte[] block = SocketKit.Pattern(256 * 1024, 3);
            Task<byte[]> receiving = SocketKit.ReceiveExactlyAsync(client, block.Length, ct);
            FlushResult r = await server.Output.WriteAsync(block, ct).AsTask().Within();
            Assert.False(r.IsCompleted);
            Assert.Equal(block, await receiving.Within());
        }
        finally
        {
            File.Delete(path);
        }
    }
}
