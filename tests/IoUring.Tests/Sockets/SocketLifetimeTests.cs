using System.Buffers;
using System.Net.Sockets;

namespace IoUring.Tests.Sockets;

/// <summary>
/// Disposing the <see cref="UringSocket"/> of a live <see cref="UringConnection"/> closes it through the connection,
/// gracefully: what the application flushed (and the end of stream after a completed output) still reaches the peer.
/// </summary>
public sealed class SocketLifetimeTests
{
    private static readonly TimeSpan Bound = Wait.Scaled(TimeSpan.FromSeconds(120));

    [UringTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Disposing_the_socket_of_a_connection_still_sending_loses_nothing(bool disposeAsync)
    {
        await using var engine = new IoUringEngine();
        await using UringSocket listener = UringSocket.Listen(engine, SocketKit.AnyLoopback);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(Bound);
        CancellationToken ct = cts.Token;

        // The server as a new user writes it: echo, complete the output, then dispose the socket it accepted (not
        // the connection). Completing the output does not wait for the send loop, so the tail is still in flight.
        const int Clients = 8;
        const int Size = 16 * 1024 * 1024;
        var served = new List<Task>();
        Task accepting = Task.Run(async () =>
        {
            for (int i = 0; i < Clients; i++)
            {
                UringSocket socket = await listener.AcceptAsync(ct);
                UringConnection connection = socket.CreateConnection();
                served.Add(Task.Run(async () =>
                {
                    await SocketKit.EchoAsync(connection);
                    if (disposeAsync)
                    {
                        await socket.DisposeAsync();
                    }
                    else
                    {
                        socket.Dispose();
                    }
                }, ct));
            }
        }, ct);

        var clients = new Task[Clients];
        for (int c = 0; c < Clients; c++)
        {
            int seed = 100 + c;
            clients[c] = Task.Run(async () =>
            {
                byte[] data = SocketKit.Pattern(Size, seed);
                using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
                await client.ConnectAsync(listener.LocalEndPoint!, ct);
                Task<byte[]> back = SocketKit.ReceiveExactlyAsync(client, Size, ct);
                for (int i = 0; i < Size; i += 256 * 1024)
                {
                    await client.SendAsync(data.AsMemory(i, Math.Min(256 * 1024, Size - i)), SocketFlags.None, ct);
                }

                client.Shutdown(SocketShutdown.Send);
                byte[] got = await back;
                Assert.True(data.AsSpan().SequenceEqual(got), $"client {seed}: the echoed bytes differ");
                Assert.Equal(0, await client.ReceiveAsync(new byte[1], SocketFlags.None, ct));
            }, ct);
        }

        await Task.WhenAll(clients).WaitAsync(Bound, ct);
        await accepting.WaitAsync(Bound, ct);
        await Task.WhenAll(served).WaitAsync(Bound, ct);
    }

    [UringFact]
    public async Task Disposing_the_socket_disposes_its_connection_and_what_was_flushed_is_sent()
    {
        await using var engine = new IoUringEngine();
        await using UringSocket listener = UringSocket.Listen(engine, SocketKit.AnyLoopback);
        CancellationToken ct = Wait.Timeout();
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        Task<UringSocket> accepted = listener.AcceptAsync(ct).AsTask();
        await client.ConnectAsync(listener.LocalEndPoint!, ct);
        UringSocket socket = await accepted.Within();
        UringConnection connection = socket.CreateConnection();

        // Flushed but the output left open: disposing the socket sends it, then closes (the peer reads end of stream).
        byte[] data = SocketKit.Pattern(4 * 1024 * 1024, 7);
        connection.Output.Write(data);
        ValueTask<System.IO.Pipelines.FlushResult> flush = connection.Output.FlushAsync(ct);
        Task<byte[]> back = SocketKit.ReceiveExactlyAsync(client, data.Length, ct);
        await socket.DisposeAsync();
        byte[] received = await back.Within();
        Assert.True(data.AsSpan().SequenceEqual(received), "the flushed bytes differ");
        Assert.Equal(0, await client.ReceiveAsync(new byte[1], SocketFlags.None, ct));
        _ = await flush;

        // The connection is disposed with it: its input is done, and the socket refuses new use.
        await AdoptedSocketDisposeTests.AssertInputEnded(connection);
        Assert.Throws<ObjectDisposedException>(() => socket.CreateConnection());
    }
}
