// The tests' own requests are bounded by Wait.Patience; the test runner's token adds nothing here.
#pragma warning disable xUnit1051
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace IoUring.Tests.Sockets;

/// <summary>UDP on the engine: datagrams with their addresses (sendmsg/recvmsg), connected sockets, IPv4 and IPv6, deadlines, errors and disposal.</summary>
public sealed class UdpSocketTests
{
    public static TheoryData<string> Loopbacks => new() { "127.0.0.1", "::1" };

    [UringTheory(Opcode.RecvMsg)]
    [MemberData(nameof(Loopbacks))]
    public async Task Datagrams_travel_both_ways_with_their_senders_addresses(string loopback)
    {
        using var engine = new IoUringEngine();
        IPAddress address = IPAddress.Parse(loopback);
        using var server = UringUdpSocket.Bind(engine, new IPEndPoint(address, 0));
        using var client = UringUdpSocket.Bind(engine, new IPEndPoint(address, 0));
        var serverEndPoint = (IPEndPoint)server.LocalEndPoint!;
        var clientEndPoint = (IPEndPoint)client.LocalEndPoint!;
        Assert.NotEqual(0, serverEndPoint.Port);
        Assert.Equal(address.AddressFamily, server.AddressFamily);

        var buffer = new byte[2048];
        ValueTask<SocketReceiveFromResult> pending = server.ReceiveFromAsync(buffer);
        Assert.Equal(5, await client.SendToAsync(new byte[] { 1, 2, 3, 4, 5 }, serverEndPoint));
        SocketReceiveFromResult got = await pending.AsTask().WaitAsync(Wait.Patience);
        Assert.Equal(5, got.ReceivedBytes);
        Assert.Equal([1, 2, 3, 4, 5], buffer[..5]);
        Assert.Equal(clientEndPoint, got.RemoteEndPoint);

        // The reply goes to the address the datagram came from, through the allocation-free overloads.
        var from = new SocketAddress(address.AddressFamily);
        Task<int> back = client.ReceiveFromAsync(buffer, from).AsTask();
        Assert.Equal(3, await server.SendToAsync(new byte[] { 7, 8, 9 }, got.RemoteEndPoint.Serialize()));
        Assert.Equal(3, await back.WaitAsync(Wait.Patience));
        Assert.Equal(serverEndPoint, new IPEndPoint(address.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0).Create(from));
        Assert.Equal(0, engine.OperationsInFlight);
    }

    [UringFact(Opcode.RecvMsg)]
    public async Task The_engine_socket_interoperates_with_a_dotnet_UdpClient_and_keeps_datagram_boundaries()
    {
        using var engine = new IoUringEngine();
        using var socket = UringUdpSocket.Bind(engine, new IPEndPoint(IPAddress.Loopback, 0));
        using var peer = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var target = (IPEndPoint)socket.LocalEndPoint!;
        for (int i = 1; i <= 3; i++)
        {
            await peer.SendAsync(TestData.Bytes(i * 100, seed: i), target);
        }

        var buffer = new byte[65536];
        for (int i = 1; i <= 3; i++)
        {
            SocketReceiveFromResult r = await socket.ReceiveFromAsync(buffer).AsTask().WaitAsync(Wait.Patience);
            Assert.Equal(i * 100, r.ReceivedBytes);
            Assert.Equal(TestData.Bytes(i * 100, seed: i), buffer[..r.ReceivedBytes]);
            Assert.Equal(peer.Client.LocalEndPoint, r.RemoteEndPoint);
        }

        await socket.SendToAsync(new byte[] { 42 }, (IPEndPoint)peer.Client.LocalEndPoint!);
        UdpReceiveResult reply = await peer.ReceiveAsync().WaitAsync(Wait.Patience);
        Assert.Equal([42], reply.Buffer);
        Assert.Equal(target, reply.RemoteEndPoint);
    }

    [UringFact(Opcode.RecvMsg)]
    public async Task A_connected_socket_sends_and_receives_without_addresses_and_reports_an_unreachable_port()
    {
        using var engine = new IoUringEngine();
        using var a = UringUdpSocket.Bind(engine, new IPEndPoint(IPAddress.Loopback, 0));
        using var b = UringUdpSocket.Create(engine, AddressFamily.InterNetwork);
        Assert.Null(b.LocalEndPoint);
        Assert.Null(b.RemoteEndPoint);
        await b.ConnectAsync(a.LocalEndPoint!);
        Assert.Equal(a.LocalEndPoint, b.RemoteEndPoint);
        Assert.NotNull(b.LocalEndPoint);
        await a.ConnectAsync(b.LocalEndPoint!);

        var buffer = new byte[64];
        Task<int> receive = a.ReceiveAsync(buffer).AsTask();
        Assert.Equal(4, await b.SendAsync(new byte[] { 1, 2, 3, 4 }));
        Assert.Equal(4, await receive.WaitAsync(Wait.Patience));

        // An empty datagram is a datagram.
        Task<int> empty = b.ReceiveAsync(buffer).AsTask();
        Assert.Equal(0, await a.SendAsync(ReadOnlyMemory<byte>.Empty));
        Assert.Equal(0, await empty.WaitAsync(Wait.Patience));

        // A connected socket hears ICMP port unreachable: its peer went away.
        a.Dispose();
        await b.SendAsync(new byte[] { 5 });
        UringSocketException e = await Assert.ThrowsAsync<UringSocketException>(async () => await b.ReceiveAsync(buffer).AsTask().WaitAsync(Wait.Patience));
        Assert.Equal(SocketError.ConnectionRefused, e.SocketErrorCode);
    }

    [UringFact(Opcode.RecvMsg)]
    public async Task Disposing_wakes_a_pending_receive_on_an_unconnected_socket_with_ObjectDisposedException()
    {
        // shutdown(2) does not wake a receive on an unconnected UDP socket: disposal cancels it in the kernel.
        using var engine = new IoUringEngine();
        var socket = UringUdpSocket.Bind(engine, new IPEndPoint(IPAddress.Loopback, 0));
        var buffer = new byte[64];
        Task<SocketReceiveFromResult> first = socket.ReceiveFromAsync(buffer).AsTask();
        Task<int> second = socket.ReceiveFromAsync(new byte[64], new SocketAddress(AddressFamily.InterNetwork)).AsTask();
        await Wait.UntilAsync(() => engine.OperationsInFlight == 2, "both receives are in the kernel");

        socket.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => first.WaitAsync(Wait.Patience));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => second.WaitAsync(Wait.Patience));
        Assert.Equal(0, engine.OperationsInFlight);
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await socket.ReceiveFromAsync(buffer));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await socket.SendToAsync(buffer, new IPEndPoint(IPAddress.Loopback, 9)));
        socket.Dispose();
    }

    [UringFact(Opcode.RecvMsg)]
    public async Task The_callers_token_cancels_a_receive_and_the_socket_stays_usable()
    {
        using var engine = new IoUringEngine();
        using var socket = UringUdpSocket.Bind(engine, new IPEndPoint(IPAddress.Loopback, 0));
        using var cts = new CancellationTokenSource();
        Task<SocketReceiveFromResult> receive = socket.ReceiveFromAsync(new byte[64], cts.Token).AsTask();
        await Wait.UntilAsync(() => engine.OperationsInFlight == 1, "the receive is in the kernel");
        cts.Cancel();
        OperationCanceledException e = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => receive.WaitAsync(Wait.Patience));
        Assert.Equal(cts.Token, e.CancellationToken);

        using var peer = UringUdpSocket.Create(engine);
        await peer.SendToAsync(new byte[] { 1 }, socket.LocalEndPoint!);
        Assert.Equal(1, (await socket.ReceiveFromAsync(new byte[8]).AsTask().WaitAsync(Wait.Patience)).ReceivedBytes);
    }

    [UringFact(Opcode.LinkTimeout)]
    public async Task ReceiveTimeout_fails_a_receive_with_TimeoutException_through_a_kernel_deadline()
    {
        using var engine = new IoUringEngine();
        using var socket = UringUdpSocket.Bind(engine, new IPEndPoint(IPAddress.IPv6Loopback, 0));
        socket.ReceiveTimeout = TimeSpan.FromMilliseconds(100);
        var clock = Stopwatch.StartNew();
        await Assert.ThrowsAsync<TimeoutException>(async () => await socket.ReceiveFromAsync(new byte[16]));
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(90) / Wait.TimeScale, $"after {clock.Elapsed}");
        Assert.Equal(0, engine.OperationsInFlight);
        Assert.Throws<ArgumentOutOfRangeException>(() => socket.ReceiveTimeout = TimeSpan.FromSeconds(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => socket.SendTimeout = TimeSpan.FromSeconds(-5));
        socket.ReceiveTimeout = Timeout.InfiniteTimeSpan;
    }

    [UringFact(Opcode.RecvMsg)]
    public async Task An_IPv6_wildcard_socket_receives_IPv4_datagrams_as_mapped_addresses()
    {
        using var engine = new IoUringEngine();
        using var socket = UringUdpSocket.Bind(engine, new IPEndPoint(IPAddress.IPv6Any, 0));
        int port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        using var v4 = UringUdpSocket.Bind(engine, new IPEndPoint(IPAddress.Loopback, 0));
        Task<SocketReceiveFromResult> receive = socket.ReceiveFromAsync(new byte[8]).AsTask();
        await v4.SendToAsync(new byte[] { 3 }, new IPEndPoint(IPAddress.Loopback, port));
        SocketReceiveFromResult r = await receive.WaitAsync(Wait.Patience);
        var from = (IPEndPoint)r.RemoteEndPoint;
        Assert.True(from.Address.IsIPv4MappedToIPv6);
        Assert.Equal(v4.LocalEndPoint, new IPEndPoint(from.Address.MapToIPv4(), from.Port));
    }

    [UringFact(Opcode.RecvMsg)]
    public async Task Bad_input_fails_clearly_and_loses_nothing()
    {
        using var engine = new IoUringEngine();
        using var socket = UringUdpSocket.Bind(engine, new IPEndPoint(IPAddress.Loopback, 0));

        // A second bind of the same port.
        UringSocketException inUse = Assert.Throws<UringSocketException>(() => UringUdpSocket.Bind(engine, socket.LocalEndPoint!));
        Assert.Equal(SocketError.AddressAlreadyInUse, inUse.SocketErrorCode);

        // Another address family, and families UDP does not have.
        await Assert.ThrowsAsync<ArgumentException>(async () => await socket.SendToAsync(new byte[1], new IPEndPoint(IPAddress.IPv6Loopback, 9)));
        await Assert.ThrowsAsync<ArgumentException>(async () => await socket.ReceiveFromAsync(new byte[1], new SocketAddress(AddressFamily.InterNetworkV6)));
        Assert.Throws<ArgumentException>(() => UringUdpSocket.Create(engine, AddressFamily.Unix));
        Assert.Throws<ArgumentNullException>(() => UringUdpSocket.Bind(engine, null!));

        // A datagram larger than UDP allows.
        UringSocketException tooBig = await Assert.ThrowsAsync<UringSocketException>(async () => await socket.SendToAsync(new byte[70_000], socket.LocalEndPoint!));
        Assert.Equal(SocketError.MessageSize, tooBig.SocketErrorCode);

        // Sending without a peer on an unconnected socket.
        UringSocketException noPeer = await Assert.ThrowsAsync<UringSocketException>(async () => await socket.SendAsync(new byte[1]));
        Assert.NotEqual(SocketError.Success, noPeer.SocketErrorCode);
        Assert.Equal(0, engine.OperationsInFlight);
    }
}
