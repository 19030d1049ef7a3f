// The operations under test take their own tokens (or none, on purpose); the test's token would change what is tested.
#pragma warning disable xUnit1051

using System.IO.Pipelines;
using System.Net.Sockets;

namespace IoUring.Tests.Sockets;

/// <summary>
/// <see cref="Socket.Dispose()"/> spins until every reference on its <see cref="SafeSocketHandle"/> is released, so a
/// reference a request of the library keeps would hang the caller. These dispose an adopted socket while a connection
/// over it is still alive (the socket fuzzer's finding).
/// </summary>
public sealed class AdoptedSocketDisposeTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Disposing_an_adopted_socket_under_a_live_connection_returns_and_ends_its_input(bool multishot)
    {
        Kernel.RequireIoUring();
        (Socket client, Socket server) = Loopback.TcpPair();
        using Socket peer = server;
        using var engine = new IoUringEngine();
        UringSocket adopted = UringSocket.FromSocket(engine, client);
        UringConnection connection = adopted.CreateConnection(new UringConnectionOptions { UseMultishotReceive = multishot });
        peer.Send(TestData.Bytes(100, seed: 1));
        ReadResult first = await connection.Input.ReadAtLeastAsync(100).AsTask().WaitAsync(RingKit.Generous);
        connection.Input.AdvanceTo(first.Buffer.End);

        // The receive is in the kernel again. Before the fix it held its handle reference until the connection was
        // disposed, so this Dispose spun forever.
        await Task.Run(adopted.Dispose).WaitAsync(RingKit.Generous);
        Assert.True(client.SafeHandle.IsClosed);

        // The input ends, it does not hang: end of stream after the shutdown, or an error (Socket.Dispose resets a
        // socket whose pending operations it had to unblock, so the receive may see ECONNRESET; or the re-armed receive
        // finds the handle closed).
        try
        {
            ReadResult end = await connection.Input.ReadAsync().AsTask().WaitAsync(RingKit.Generous);
            Assert.True(end.IsCompleted);
        }
        catch (Exception e) when (e is ObjectDisposedException || e is IOException { InnerException: UringSocketException })
        {
        }

        await connection.DisposeAsync().AsTask().WaitAsync(RingKit.Generous);
    }

    [Fact]
    public async Task Disposing_an_adopted_socket_whose_connection_is_paused_by_back_pressure_returns()
    {
        Kernel.RequireIoUring();
        (Socket client, Socket server) = Loopback.TcpPair();
        using Socket peer = server;
        using var engine = new IoUringEngine();
        UringSocket adopted = UringSocket.FromSocket(engine, client);
        UringConnection connection = adopted.CreateConnection(new UringConnectionOptions { InputPauseThreshold = 4096, InputResumeThreshold = 1024 });

        // Nobody reads the input: past the threshold the receive stops (nothing in the kernel).
        byte[] data = TestData.Bytes(64 * 1024, seed: 2);
        peer.Send(data);
        await Wait.UntilAsync(() => connection.ReceivePauses > 0, "the receive paused");

        await Task.Run(adopted.Dispose).WaitAsync(RingKit.Generous);
        Assert.True(client.SafeHandle.IsClosed);

        // The data received before is still there; then the input ends (the re-armed receive finds the handle closed).
        long got = 0;
        try
        {
            while (true)
            {
                ReadResult r = await connection.Input.ReadAsync().AsTask().WaitAsync(RingKit.Generous);
                got += r.Buffer.Length;
                connection.Input.AdvanceTo(r.Buffer.End);
                if (r.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is ObjectDisposedException || e is IOException { InnerException: UringSocketException })
        {
        }

        Assert.True(got >= 4096, $"the data received before the dispose is readable ({got} bytes)");
        await connection.DisposeAsync().AsTask().WaitAsync(RingKit.Generous);
    }
}
