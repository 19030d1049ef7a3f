using System.Buffers;
using System.Net;
using System.Net.Sockets;

namespace IoUring.Tests.Sockets;

public sealed class SocketApiTests
{
    [UringFact]
    public async Task Connecting_to_a_closed_port_throws_ConnectionRefused_with_the_errno()
    {
        await using var engine = new IoUringEngine();
        // A port that was free a moment ago: bind, read it, close.
        int port;
        using (var probe = new Socket(SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(SocketKit.AnyLoopback);
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }

        UringSocketException e = await Assert.ThrowsAsync<UringSocketException>(
            () => UringSocket.ConnectAsync(engine, new IPEndPoint(IPAddress.Loopback, port), cancellationToken: Wait.Timeout()).AsTask().Within());
        Assert.Equal(SocketError.ConnectionRefused, e.SocketErrorCode);
        Assert.Equal(111, e.Errno);
        Assert.Contains("ECONNREFUSED", e.Message, StringComparison.Ordinal);
    }

    [UringFact]
    public async Task Listening_on_a_port_in_use_fails_like_Socket_Bind_and_names_EADDRINUSE()
    {
        await using var engine = new IoUringEngine();
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();
        var endPoint = (IPEndPoint)taken.LocalEndPoint!;

        using var dotnet = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        SocketException expected = Assert.Throws<SocketException>(() => dotnet.Bind(endPoint));
        UringSocketException e = Assert.Throws<UringSocketException>(() => UringSocket.Listen(engine, endPoint));
        Assert.Equal(expected.SocketErrorCode, e.SocketErrorCode);
        Assert.Equal(98, e.Errno);
        Assert.Contains("EADDRINUSE (98)", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected.Message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_Linux_errno_has_its_name()
    {
        for (int errno = 1; errno <= 133; errno++)
        {
            string name = IoUringException.ErrnoName(errno);
            Assert.True(errno is 41 or 58 ? name == $"errno {errno}" : name.StartsWith('E'), $"{errno}: {name}");
        }

        Assert.Equal("EADDRINUSE", IoUringException.ErrnoName(98));
        Assert.Equal("EHWPOISON", IoUringException.ErrnoName(133));
        Assert.Equal("errno 134", IoUringException.ErrnoName(134));
        Assert.Equal("errno -1", IoUringException.ErrnoName(-1));
    }

    [UringFact]
    public async Task An_IPv6Any_listener_accepts_IPv4_clients_too()
    {
        await using var engine = new IoUringEngine();
        UringSocket listener;
        try
        {
            listener = UringSocket.Listen(engine, new IPEndPoint(IPAddress.IPv6Any, 0));
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressFamilyNotSupported)
        {
            Assert.Skip("IPv6 is disabled on this machine.");
            return;
        }

        await using (listener)
        {
            int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
            CancellationToken ct = Wait.Timeout();
            Task<UringSocket> accepting = listener.AcceptAsync(ct).AsTask();
            using UringSocket client = await UringSocket.ConnectAsync(engine, new IPEndPoint(IPAddress.Loopback, port), cancellationToken: ct);
            using UringSocket server = await accepting.Within();
            await client.SendAsync("v4"u8.ToArray(), ct);
            var buffer = new byte[2];
            Assert.Equal(2, await server.ReceiveAsync(buffer, ct));
            Assert.Equal("v4"u8.ToArray(), buffer);
            Assert.Equal(AddressFamily.InterNetwork, client.LocalEndPoint!.AddressFamily);
        }
    }

    [UringFact]
    public async Task A_Unix_domain_socket_listens_accepts_and_echoes()
    {
        string path = Path.Combine(Path.GetTempPath(), $"iouring-sock-{Guid.NewGuid():N}.sock");
        try
        {
            await using var engine = new IoUringEngine();
            await using UringSocket listener = UringSocket.Listen(engine, new UnixDomainSocketEndPoint(path));
            Task<List<Task>> serving = SocketKit.ServeEchoAsync(listener);
            CancellationToken ct = Wait.Timeout();
            using UringSocket client = await UringSocket.ConnectAsync(engine, new UnixDomainSocketEndPoint(path), cancellationToken: ct);
            await SocketKit.AssertEchoesAsync(client, SocketKit.Pattern(500_000, seed: 21), ct);
            await client.ShutdownAsync(SocketShutdown.Send);
            Assert.Equal(0, await client.ReceiveAsync(new byte[1], ct).AsTask().Within());
            await listener.DisposeAsync();
            await Task.WhenAll(await serving.Within()).Within();
        }
        finally
        {
            File.Delete(path);
        }
    }

    [UringFact]
    public async Task An_existing_Socket_can_be_adopted_as_listener_and_as_connection()
    {
        await using var engine = new IoUringEngine();
        var plainListener = new Socket(SocketType.Stream, ProtocolType.Tcp);
        plainListener.Bind(SocketKit.AnyLoopback);
        plainListener.Listen(16);
        await using UringSocket listener = UringSocket.FromSocket(engine, plainListener);
        Assert.True(listener.IsListening);

        CancellationToken ct = Wait.Timeout();
        var plainClient = new Socket(SocketType.Stream, ProtocolType.Tcp);
        using UringSocket server = await SocketKit.AcceptFromAsync(listener, plainClient, ct);

        // Adopt the client side through its SafeSocketHandle.
        using UringSocket client = UringSocket.FromHandle(engine, plainClient.SafeHandle);
        Assert.False(client.IsListening);
        await using UringConnection connection = client.CreateConnection();
        await server.SendAsync("hello"u8.ToArray(), ct);
        System.IO.Pipelines.ReadResult r = await connection.Input.ReadAtLeastAsync(5, ct).AsTask().Within();
        Assert.Equal("hello"u8.ToArray(), r.Buffer.ToArray());
        connection.Input.AdvanceTo(r.Buffer.End);
        Assert.Throws<InvalidOperationException>(() => client.ReceiveAsync(new byte[1], ct));
        Assert.Throws<InvalidOperationException>(() => listener.CreateConnection());
    }

    [Fact]
    public void Bad_options_are_refused_with_a_clear_exception()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new UringConnectionOptions { ReceiveBufferCount = 3 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new UringConnectionOptions { InputPauseThreshold = 10, InputResumeThreshold = 20 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new UringSocketOptions { ListenBacklog = 0 }.Validate());
        // Found by the sockets fuzzer: accepted here, the buffer ring setup failed later on the loop thread and the
        // ArgumentOutOfRangeException was rethrown on the thread pool, ending the process.
        Assert.Throws<ArgumentOutOfRangeException>(() => new UringConnectionOptions { ReceiveBufferSize = int.MaxValue, ReceiveBufferCount = 32 }.Validate());
        new UringConnectionOptions { ReceiveBufferSize = 1 << 16, ReceiveBufferCount = 1 << 14 }.Validate(); // 1 GiB is allowed
        // Found by the sockets fuzzer: a negative close timeout was accepted, then Dispose threw
        // ArgumentOutOfRangeException from its drain wait before it closed the socket, which leaked in CLOSE_WAIT.
        Assert.Throws<ArgumentOutOfRangeException>(() => new UringConnectionOptions { CloseTimeout = TimeSpan.FromMilliseconds(-5) }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new UringConnectionOptions { CloseTimeout = TimeSpan.FromDays(30) }.Validate());
        new UringConnectionOptions { CloseTimeout = Timeout.InfiniteTimeSpan }.Validate();
        new UringConnectionOptions { CloseTimeout = TimeSpan.Zero }.Validate();
    }

    [UringFact]
    public void A_UDP_socket_is_refused_by_FromSocket_because_a_pending_receive_on_it_could_never_be_woken_to_close_it()
    {
        // Found by the sockets fuzzer: a connection on an adopted UDP socket kept a receive pending that shutdown(2)
        // does not wake (unconnected UDP: ENOTCONN), so Socket.Dispose spun forever waiting for its reference.
        using var engine = new IoUringEngine();
        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        ArgumentException e = Assert.Throws<ArgumentException>(() => UringSocket.FromSocket(engine, udp));
        Assert.Equal("socket", e.ParamName);
        udp.SendTo(new byte[1], udp.LocalEndPoint!); // the caller still owns a working socket
    }

    [UringFact]
    public async Task Data_arriving_after_the_input_was_completed_with_an_exception_is_dropped_without_ending_the_process()
    {
        // Found by the sockets fuzzer: the receive loop's FlushAsync rethrew the reader's completion exception on the
        // engine's loop thread, and the process ended with an unhandled exception.
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var engine = new IoUringEngine();
        await using UringSocket listener = UringSocket.Listen(engine, new IPEndPoint(IPAddress.Loopback, 0));
        await using UringSocket client = await UringSocket.ConnectAsync(engine, listener.LocalEndPoint!, null, cts.Token);
        await using UringSocket server = await listener.AcceptAsync(cts.Token);
        await using UringConnection connection = server.CreateConnection();
        connection.Input.Complete(new InvalidDataException("reader failed"));
        for (int i = 0; i < 20; i++)
        {
            await client.SendAsync(new byte[1000], cts.Token);
            await Task.Delay(5, cts.Token);
        }

        await connection.Output.WriteAsync(new byte[] { 7 }, cts.Token); // sending still works
        byte[] got = new byte[1];
        Assert.Equal(1, await client.ReceiveAsync(got, cts.Token));
        Assert.Equal(7, got[0]);
    }
}
