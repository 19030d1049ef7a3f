// The operations under test take their own tokens (or none, on purpose); the test's token would change what is tested.
#pragma warning disable xUnit1051

using System.IO.Pipelines;
using System.Net.Sockets;

namespace IoUring.Tests.Sockets;

/// <summary>
/// <see cref="Socket.Dispose()"/> spins until every reference on its <see cref="SafeSocketHandle"/> is released, so a
/// reference a request of the library keeps would hang the caller. These dispose an adopted socket while a connection
/// over it is still alive (the socket fuzzer's finding); that disposes the connection, which must return too.
/// </summary>
public sealed class AdoptedSocketDisposeTests
{
    [UringTheory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Disposing_an_adopted_socket_under_a_live_connection_returns_and_ends_its_input(bool multishot)
    {
        (Socket client, Socket server) = Loopback.TcpPair();
        using Socket peer = server;
        using var engine = new IoUringEngine();
        UringSocket adopted = UringSocket.FromSocket(engine, client);
        UringConnection connection = adopted.CreateConnection(new UringConnectionOptions { UseMultishotReceive = multishot });
        peer.Send(TestData.Bytes(100, seed: 1));
        ReadResult first = await connection.Input.ReadAtLeastAsync(100).AsTask().WaitAsync(Wait.Patience);
        connection.Input.AdvanceTo(first.Buffer.End);

        // The receive is in the kernel again. Before the fix it held its handle reference until the connection was
        // disposed, so this Dispose spun forever.
        await Task.Run(adopted.Dispose).WaitAsync(Wait.Patience);
        Assert.True(client.SafeHandle.IsClosed);

        // Disposing the socket disposed its connection (gracefully): the transport's end of the input is completed, so a
        // read ends at once (IsCompleted) rather than hanging; disposing the connection again is a no-op. The
        // application's own pipe ends stay the application's to complete (as with Kestrel's transports).
        await AssertInputEnded(connection);
        await connection.DisposeAsync().AsTask().WaitAsync(Wait.Patience);
    }

    [UringFact]
    public async Task Disposing_an_adopted_socket_whose_connection_is_paused_by_back_pressure_returns()
    {
        (Socket client, Socket server) = Loopback.TcpPair();
        using Socket peer = server;
        using var engine = new IoUringEngine();
        UringSocket adopted = UringSocket.FromSocket(engine, client);
        UringConnection connection = adopted.CreateConnection(new UringConnectionOptions { InputPauseThreshold = 4096, InputResumeThreshold = 1024 });

        // Nobody reads the input: past the threshold the receive stops (nothing in the kernel).
        byte[] data = TestData.Bytes(64 * 1024, seed: 2);
        peer.Send(data);
        await Wait.UntilAsync(() => connection.ReceivePauses > 0, "the receive paused");

        await Task.Run(adopted.Dispose).WaitAsync(Wait.Patience);
        Assert.True(client.SafeHandle.IsClosed);

        // The connection was disposed with its socket (the paused receive closed, unread input dropped): reading is refused.
        await AssertInputEnded(connection);
        await connection.DisposeAsync().AsTask().WaitAsync(Wait.Patience);
    }

    /// <summary>A read of the input ends at once, with the stream completed (or failed by the reset it saw).</summary>
    internal static async Task AssertInputEnded(UringConnection connection)
    {
        try
        {
            ReadResult result = await connection.Input.ReadAsync().AsTask().WaitAsync(Wait.Patience);
            Assert.True(result.IsCompleted, "the input did not end");
        }
        catch (IOException)
        {
            // The input ended with the error that closed it.
        }
    }
}
