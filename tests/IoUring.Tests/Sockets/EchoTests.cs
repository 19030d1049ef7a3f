using System.Net;
using System.Net.Sockets;

namespace IoUring.Tests.Sockets;

public sealed class EchoTests
{
    [Theory]
    [MemberData(nameof(EngineModes.Both), MemberType = typeof(EngineModes))]
    public async Task A_plain_socket_client_gets_its_bytes_back_through_a_connection(ContinuationMode mode)
    {
        await using var engine = EngineModes.NewEngine(mode);
        await using UringSocket listener = UringSocket.Listen(engine, SocketKit.AnyLoopback);
        Task<List<Task>> serving = SocketKit.ServeEchoAsync(listener);

        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        CancellationToken ct = Wait.Timeout();
        await client.ConnectAsync(listener.LocalEndPoint!, ct);
        byte[] data = SocketKit.Pattern(100_000, seed: 1);
        Task<byte[]> back = SocketKit.ReceiveExactlyAsync(client, data.Length, ct);
        await client.SendAsync(data, SocketFlags.None, ct);
        Assert.Equal(data, await back);

        client.Shutdown(SocketShutdown.Send);
        var tail = new byte[1];
        Assert.Equal(0, await client.ReceiveAsync(tail, SocketFlags.None, ct));
        await listener.DisposeAsync();
        List<Task> served = await serving.Within();
        await Task.WhenAll(served).Within();
    }

    [Theory]
    [MemberData(nameof(EngineModes.Both), MemberType = typeof(EngineModes))]
    public async Task A_UringSocket_client_connects_sends_and_receives_through_the_engine(ContinuationMode mode)
    {
        await using var engine = EngineModes.NewEngine(mode);
        await using UringSocket listener = UringSocket.Listen(engine, new IPEndPoint(IPAddress.IPv6Loopback, 0));
        Task<List<Task>> serving = SocketKit.ServeEchoAsync(listener);
        CancellationToken ct = Wait.Timeout();

        using UringSocket client = await UringSocket.ConnectAsync(engine, listener.LocalEndPoint!, cancellationToken: ct).AsTask().Within();
        Assert.Equal(AddressFamily.InterNetworkV6, client.RemoteEndPoint!.AddressFamily);
        await SocketKit.AssertEchoesAsync(client, SocketKit.Pattern(300_000, seed: 2), ct);
        await client.ShutdownAsync(SocketShutdown.Send).AsTask().Within();
        Assert.Equal(0, await client.ReceiveAsync(new byte[16], ct).AsTask().Within());
        await listener.DisposeAsync();
        await Task.WhenAll(await serving.Within()).Within();
    }

    [UringFact]
    public async Task Two_connections_talk_through_their_pipes_and_streams()
    {
        await using var engine = new IoUringEngine();
        await using UringSocket listener = UringSocket.Listen(engine, SocketKit.AnyLoopback);
        CancellationToken ct = Wait.Timeout();
        Task<UringSocket> accepting = listener.AcceptAsync(ct).AsTask();
        UringSocket clientSocket = await UringSocket.ConnectAsync(engine, listener.LocalEndPoint!, cancellationToken: ct);
        UringSocket serverSocket = await accepting.Within();

        await using UringConnection server = serverSocket.CreateConnection();
        await using Stream client = clientSocket.CreateConnection().AsStream();
        Task echo = SocketKit.EchoAsync(server);

        byte[] data = SocketKit.Pattern(1 << 20, seed: 3);
        Task writing = Task.Run(async () =>
        {
            for (int i = 0; i < data.Length; i += 70_000)
            {
                await client.WriteAsync(data.AsMemory(i, Math.Min(70_000, data.Length - i)), ct);
            }
        }, ct);
        var back = new byte[data.Length];
        await client.ReadExactlyAsync(back, ct);
        await writing.Within();
        Assert.Equal(data, back);
        await echo.WaitAsync(TimeSpan.Zero, ct).ContinueWith(_ => { }, ct, TaskContinuationOptions.None, TaskScheduler.Default);
    }
}
