// The tests' own requests are bounded by Wait.Patience; the test runner's token adds nothing here.
#pragma warning disable xUnit1051
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace IoUring.Tests.Sockets;

/// <summary>
/// The standing UDP receive (<see cref="UringUdpReceiver"/>: multishot recvmsg over a buffer ring of its own) against the
/// real kernel: many senders, IPv4 and IPv6, truncation, buffer exhaustion and recovery, errors, and every way to end it.
/// </summary>
public sealed class UdpReceiverTests
{
    public static TheoryData<string> Loopbacks => new() { "127.0.0.1", "::1" };

    [Theory]
    [MemberData(nameof(Loopbacks))]
    public async Task Many_datagrams_from_several_senders_arrive_whole_in_order_with_their_senders(string loopback)
    {
        Kernel.RequireOp(Opcode.SendZc); // 6.0: multishot recvmsg
        using var engine = new IoUringEngine();
        IPAddress address = IPAddress.Parse(loopback);
        using var socket = UringUdpSocket.Bind(engine, new IPEndPoint(address, 0));
        using UringUdpReceiver receiver = socket.StartReceiving(new UdpReceiverOptions { BufferCount = 1024, BufferSize = 512 });
        var target = (IPEndPoint)socket.LocalEndPoint!;

        const int Senders = 4;
        const int PerSender = 150;
        var senders = new Socket[Senders];
        var senderEndPoints = new IPEndPoint[Senders];
        for (int s = 0; s < Senders; s++)
        {
            senders[s] = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            senders[s].Bind(new IPEndPoint(address, 0));
            senderEndPoints[s] = (IPEndPoint)senders[s].LocalEndPoint!;
        }

        try
        {
            // Paced so that the socket's own receive buffer never overflows (UDP would drop, by design) even when the
            // engine's thread is starved on this shared machine: at most 64 datagrams (about 80 KB of socket buffer) are ahead of the kernel's deliveries.
            Task send = Task.Run(async () =>
            {
                for (int i = 0; i < PerSender; i++)
                {
                    while ((i * Senders) - receiver.DatagramsReceived > 64)
                    {
                        await Task.Delay(1);
                    }

                    for (int s = 0; s < Senders; s++)
                    {
                        senders[s].SendTo(Datagram(s, i), target);
                    }
                }
            });

            int[] next = new int[Senders];
            var instances = new IPEndPoint?[Senders];
            int total = 0;
            await foreach (UringDatagram d in receiver.ReadAllAsync(Wait.Timeout()))
            {
                int s = Array.IndexOf(senderEndPoints, d.RemoteEndPoint);
                Assert.True(s >= 0, $"unknown sender {d.RemoteEndPoint}");
                Assert.False(d.IsTruncated);
                Assert.Equal(Datagram(s, next[s]), d.Payload.ToArray());
                Assert.Equal(d.Payload.Length, d.Length);
                Assert.True(d.Control.IsEmpty);
                next[s]++;

                // A repeated sender reuses its endpoint: no allocation per datagram for it.
                instances[s] ??= d.RemoteEndPoint;
                Assert.Same(instances[s], d.RemoteEndPoint);
                if (++total == Senders * PerSender)
                {
                    break;
                }
            }

            await send.WaitAsync(Wait.Patience);
            Assert.All(next, n => Assert.Equal(PerSender, n));
            Assert.Equal(Senders * PerSender, receiver.DatagramsReceived);
            Assert.Equal(0, receiver.TruncatedDatagrams);
        }
        finally
        {
            foreach (Socket s in senders)
            {
                s.Dispose();
            }
        }
    }

    [Fact]
    public async Task An_IPv6_wildcard_receiver_gets_IPv4_senders_as_mapped_addresses_and_replies_reach_them()
    {
        Kernel.RequireOp(Opcode.SendZc);
        using var engine = new IoUringEngine();
        using var socket = UringUdpSocket.Bind(engine, new IPEndPoint(IPAddress.IPv6Any, 0));
        using UringUdpReceiver receiver = socket.StartReceiving();
        using var peer = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        await peer.SendAsync(new byte[] { 4, 5, 6 }, new IPEndPoint(IPAddress.Loopback, ((IPEndPoint)socket.LocalEndPoint!).Port));

        UringDatagram d = await receiver.ReceiveAsync().AsTask().WaitAsync(Wait.Patience);
        Assert.Equal([4, 5, 6], d.Payload.ToArray());
        Assert.True(d.RemoteEndPoint.Address.IsIPv4MappedToIPv6, d.RemoteEndPoint.ToString());
        Assert.Equal(((IPEndPoint)peer.Client.LocalEndPoint!).Port, d.RemoteEndPoint.Port);
        await socket.SendToAsync(new byte[] { 9 }, d.RemoteEndPoint);
        Assert.Equal([9], (await peer.ReceiveAsync().WaitAsync(Wait.Patience)).Buffer);
    }

    [Fact]
    public async Task A_datagram_longer_than_a_buffer_arrives_truncated_with_its_full_length_and_receiving_goes_on()
    {
        Kernel.RequireOp(Opcode.SendZc);
        using var engine = new IoUringEngine();
        using var socket = UringUdpSocket.Bind(engine, new IPEndPoint(IPAddress.Loopback, 0));
        // 128 bytes: the 16-byte header, 16 bytes of sockaddr_in, 96 bytes of payload room.
        using UringUdpReceiver receiver = socket.StartReceiving(new UdpReceiverOptions { BufferCount = 8, BufferSize = 128 });
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        byte[] big = TestData.Bytes(500, seed: 7);
        peer.SendTo(big, socket.LocalEndPoint!);
        peer.SendTo(new byte[] { 1, 2 }, socket.LocalEndPoint!);
        peer.SendTo(TestData.Bytes(96, seed: 8), socket.LocalEndPoint!);

        UringDatagram d = await receiver.ReceiveAsync().AsTask().WaitAsync(Wait.Patience);
        Assert.True(d.IsTruncated);
        Assert.Equal(500, d.Length);
        Assert.Equal(96, d.Payload.Length);
        Assert.Equal(big[..96], d.Payload.ToArray());

        d = await receiver.ReceiveAsync().AsTask().WaitAsync(Wait.Patience);
        Assert.False(d.IsTruncated);
        Assert.Equal([1, 2], d.Payload.ToArray());

        d = await receiver.ReceiveAsync().AsTask().WaitAsync(Wait.Patience);
        Assert.False(d.IsTruncated); // exactly the room
        Assert.Equal(TestData.Bytes(96, seed: 8), d.Payload.ToArray());
        Assert.Equal(1, receiver.TruncatedDatagrams);
        Assert.Equal(3, receiver.DatagramsReceived);
    }

    [Fact]
    public async Task A_slow_consumer_runs_the_ring_dry_and_the_receive_rearms_when_it_hands_a_buffer_back()
    {
        Kernel.RequireOp(Opcode.SendZc);
        using var engine = new IoUringEngine();
        using var socket = UringUdpSocket.Bind(engine, new IPEndPoint(IPAddress.Loopback, 0));
        using UringUdpReceiver receiver = socket.StartReceiving(new UdpReceiverOptions { BufferCount = 4, BufferSize = 256 });
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);

        // Four datagrams fill the four buffers; the fifth finds none: the kernel ends the request with ENOBUFS and the
        // datagrams wait in the socket's receive buffer.
        const int Count = 12;
        for (int i = 0; i < 5; i++)
        {
            peer.SendTo(Datagram(0, i), socket.LocalEndPoint!);
        }

        await Wait.UntilAsync(() => receiver.BufferShortages >= 1, "the kernel ran out of buffers");
        Assert.Equal(4, receiver.DatagramsReceived);
        for (int i = 5; i < Count; i++)
        {
            peer.SendTo(Datagram(0, i), socket.LocalEndPoint!);
        }

        // Each buffer handed back lets the receive go on; nothing is lost, nothing comes twice, the order holds.
        for (int i = 0; i < Count; i++)
        {
            UringDatagram d = await receiver.ReceiveAsync().AsTask().WaitAsync(Wait.Patience);
            Assert.Equal(Datagram(0, i), d.Payload.ToArray());
        }

        Assert.Equal(Count, receiver.DatagramsReceived);
        Assert.True(receiver.Rearms >= 1, $"re-arms: {receiver.Rearms}");
        Assert.True(receiver.BufferShortages >= 1);
        Assert.False(receiver.TryReceive(out _));

        // And it still receives afterwards.
        peer.SendTo(new byte[] { 77 }, socket.LocalEndPoint!);
        Assert.Equal([77], (await receiver.ReceiveAsync().AsTask().WaitAsync(Wait.Patience)).Payload.ToArray());
    }

    [Fact]
    public async Task TryReceive_drains_a_burst_without_allocating()
    {
        Kernel.RequireOp(Opcode.SendZc);
        using var engine = new IoUringEngine();
        using var socket = UringUdpSocket.Bind(engine, new IPEndPoint(IPAddress.Loopback, 0));
        using UringUdpReceiver receiver = socket.StartReceiving(new UdpReceiverOptions { BufferCount = 512, BufferSize = 256 });
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.SendTo(new byte[] { 0 }, socket.LocalEndPoint!);
        Assert.True(await receiver.WaitToReceiveAsync().AsTask().WaitAsync(Wait.Patience));
        Assert.True(receiver.TryReceive(out _)); // the sender is known from here on

        const int Burst = 400;
        for (int i = 0; i < Burst; i++)
        {
            peer.SendTo(Datagram(1, i), socket.LocalEndPoint!);
        }

        await Wait.UntilAsync(() => receiver.DatagramsReceived == Burst + 1, "the burst arrived");
        long sum = 0;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Burst; i++)
        {
            Assert.True(receiver.TryReceive(out UringDatagram d));
            sum += BinaryPrimitives.ReadInt32LittleEndian(d.Payload.Span[4..]);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.Equal((long)Burst * (Burst - 1) / 2, sum);
        Assert.False(receiver.TryReceive(out _));
    }

    [Fact]
    public async Task The_callers_token_cancels_a_wait_and_the_receiver_goes_on()
    {
        Kernel.RequireOp(Opcode.SendZc);
        using var engine = new IoUringEngine();
        using var socket = UringUdpSocket.Bind(engine, new IPEndPoint(IPAddress.Loopback, 0));
        using UringUdpReceiver receiver = socket.StartReceiving();
        using var cts = new CancellationTokenSource();
        ValueTask<UringDatagram> pending = receiver.ReceiveAsync(cts.Token);
        Assert.False(pending.IsCompleted);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await receiver.ReceiveAsync()); // one consumer at a time
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending.AsTask().WaitAsync(Wait.Patience));

        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.SendTo(new byte[] { 3 }, socket.LocalEndPoint!);
        Assert.Equal([3], (await receiver.ReceiveAsync().AsTask().WaitAsync(Wait.Patience)).Payload.ToArray());
    }

    [Fact]
    public async Task A_connected_receiver_reports_an_unreachable_port_once_and_keeps_receiving()
    {
        Kernel.RequireOp(Opcode.SendZc);
        using var engine = new IoUringEngine();
        using var socket = UringUdpSocket.Bind(engine, new IPEndPoint(IPAddress.Loopback, 0));
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var peerEndPoint = (IPEndPoint)peer.LocalEndPoint!;
        await socket.ConnectAsync(peerEndPoint);
        using UringUdpReceiver receiver = socket.StartReceiving();

        // The peer goes away: the next datagram to it draws an ICMP "port unreachable", which the socket reports once.
        peer.Dispose();
        await socket.SendAsync(new byte[] { 1 });
        UringSocketException e = await Assert.ThrowsAsync<UringSocketException>(async () => await receiver.ReceiveAsync().AsTask().WaitAsync(Wait.Patience));
        Assert.Equal(SocketError.ConnectionRefused, e.SocketErrorCode);

        using var again = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        again.Bind(peerEndPoint);
        again.SendTo(new byte[] { 2 }, socket.LocalEndPoint!);
        Assert.Equal([2], (await receiver.ReceiveAsync().AsTask().WaitAsync(Wait.Patience)).Payload.ToArray());
        Assert.True(receiver.Rearms >= 1);
    }

    [Fact]
    public async Task Disposing_an_armed_receiver_wakes_the_consumer_frees_the_buffers_and_leaves_the_socket_usable()
    {
        Kernel.RequireOp(Opcode.SendZc);
        using var engine = new IoUringEngine();
        using var socket = UringUdpSocket.Bind(engine, new IPEndPoint(IPAddress.Loopback, 0));
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        UringUdpReceiver receiver = socket.StartReceiving(new UdpReceiverOptions { BufferCount = 8 });
        peer.SendTo(new byte[] { 1 }, socket.LocalEndPoint!);
        peer.SendTo(new byte[] { 2 }, socket.LocalEndPoint!);
        Assert.Equal([1], (await receiver.ReceiveAsync().AsTask().WaitAsync(Wait.Patience)).Payload.ToArray());
        await Wait.UntilAsync(() => receiver.DatagramsReceived == 2, "the second datagram is queued");
        BufferRing ring = Assert.IsType<BufferRing>(receiver.Buffers);

        // One datagram held by the consumer, one queued, the request armed: dispose from another thread while a wait is pending.
        ValueTask<bool> drained = receiver.WaitToReceiveAsync();
        Assert.True(await drained); // the queued one
        Task<UringDatagram> held = receiver.ReceiveAsync().AsTask();
        Assert.Equal([2], (await held.WaitAsync(Wait.Patience)).Payload.ToArray());
        ValueTask<bool> waiting = receiver.WaitToReceiveAsync();
        Assert.False(waiting.IsCompleted);
        await Task.Run(receiver.Dispose);
        Assert.False(await waiting.AsTask().WaitAsync(Wait.Patience));
        await receiver.Closed.WaitAsync(Wait.Patience);
        Assert.True(ring.BufferMemory.IsReleased, "the buffers were not freed");
        Assert.Throws<ObjectDisposedException>(() => receiver.TryReceive(out _));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await receiver.ReceiveAsync());
        receiver.Dispose();

        // Nothing of the receiver is left in the kernel: a single-shot receive gets the next datagram.
        var buffer = new byte[16];
        Task<SocketReceiveFromResult> single = socket.ReceiveFromAsync(buffer).AsTask();
        peer.SendTo(new byte[] { 3 }, socket.LocalEndPoint!);
        Assert.Equal(1, (await single.WaitAsync(Wait.Patience)).ReceivedBytes);
        Assert.Equal(3, buffer[0]);

        // A new receiver on the same socket and engine works (the buffer group id is free again or another is taken).
        using UringUdpReceiver second = socket.StartReceiving();
        peer.SendTo(new byte[] { 4 }, socket.LocalEndPoint!);
        Assert.Equal([4], (await second.ReceiveAsync().AsTask().WaitAsync(Wait.Patience)).Payload.ToArray());
    }

    [Fact]
    public async Task Disposing_the_socket_ends_the_enumeration_and_closes_the_descriptor()
    {
        Kernel.RequireOp(Opcode.SendZc);
        using var engine = new IoUringEngine();
        var socket = UringUdpSocket.Bind(engine, new IPEndPoint(IPAddress.Loopback, 0));
        int fd = (int)socket.Handle.DangerousGetHandle();
        string link = $"/proc/self/fd/{fd}";
        string? inode = new FileInfo(link).LinkTarget;
        Assert.StartsWith("socket:", inode);
        using UringUdpReceiver receiver = socket.StartReceiving();
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.SendTo(new byte[] { 1 }, socket.LocalEndPoint!);

        int seen = 0;
        Task reading = Task.Run(async () =>
        {
            await foreach (UringDatagram d in receiver.ReadAllAsync())
            {
                seen++;
                socket.Dispose(); // from inside the loop, while the receive is armed
            }
        });
        await reading.WaitAsync(Wait.Patience);
        Assert.Equal(1, seen);
        await receiver.Closed.WaitAsync(Wait.Patience);
        await Wait.UntilAsync(() => new FileInfo(link).LinkTarget != inode, "the socket's descriptor closed");
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await receiver.ReceiveAsync());
        Assert.Throws<ObjectDisposedException>(() => socket.StartReceiving());
    }

    [Fact]
    public async Task Disposing_the_engine_ends_an_armed_receiver_without_a_hang()
    {
        Kernel.RequireOp(Opcode.SendZc);
        var engine = new IoUringEngine();
        using var socket = UringUdpSocket.Bind(engine, new IPEndPoint(IPAddress.Loopback, 0));
        using UringUdpReceiver receiver = socket.StartReceiving();
        ValueTask<UringDatagram> pending = receiver.ReceiveAsync();
        await Wait.UntilAsync(() => receiver.Buffers is not null, "the receive is armed");
        await Task.Run(engine.Dispose).WaitAsync(Wait.Patience);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => pending.AsTask().WaitAsync(Wait.Patience));
        await receiver.Closed.WaitAsync(Wait.Patience);
        Assert.False(await receiver.WaitToReceiveAsync().AsTask().WaitAsync(Wait.Patience));
    }

    [Fact]
    public async Task Ancillary_data_arrives_in_the_control_room()
    {
        Kernel.RequireOp(Opcode.SendZc);
        using var engine = new IoUringEngine();
        using var socket = UringUdpSocket.Bind(engine, new IPEndPoint(IPAddress.Loopback, 0));
        // IP_PKTINFO (8) at level IPPROTO_IP (0): each datagram carries the address it was sent to.
        Assert.Equal(0, IoUring.Interop.Libc.SetSockOptInt((int)socket.Handle.DangerousGetHandle(), 0, 8, 1));
        using UringUdpReceiver receiver = socket.StartReceiving(new UdpReceiverOptions { ControlSize = 64 });
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.SendTo(new byte[] { 5 }, socket.LocalEndPoint!);

        UringDatagram d = await receiver.ReceiveAsync().AsTask().WaitAsync(Wait.Patience);
        Assert.Equal([5], d.Payload.ToArray());
        Assert.False(d.IsControlTruncated);
        // struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; } then struct in_pktinfo { int ifindex; in_addr spec_dst; in_addr addr; }.
        ReadOnlySpan<byte> control = d.Control.Span;
        Assert.True(control.Length >= 28, $"control: {control.Length} bytes");
        Assert.Equal(28, (int)BinaryPrimitives.ReadInt64LittleEndian(control));
        Assert.Equal(0, BinaryPrimitives.ReadInt32LittleEndian(control[8..]));
        Assert.Equal(8, BinaryPrimitives.ReadInt32LittleEndian(control[12..]));
        Assert.Equal(IPAddress.Loopback, new IPAddress(control.Slice(24, 4)));
    }

    [Fact]
    public void Bad_options_fail_clearly_before_anything_is_armed()
    {
        using var engine = new IoUringEngine();
        using var socket = UringUdpSocket.Bind(engine, new IPEndPoint(IPAddress.Loopback, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => socket.StartReceiving(new UdpReceiverOptions { BufferCount = 3 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => socket.StartReceiving(new UdpReceiverOptions { BufferCount = 65536 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => socket.StartReceiving(new UdpReceiverOptions { BufferSize = 32 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => socket.StartReceiving(new UdpReceiverOptions { ControlSize = 12 }));
        using UringUdpReceiver fine = socket.StartReceiving(new UdpReceiverOptions { BufferSize = 33, BufferCount = 1 });
    }

    /// <summary>A datagram naming its sender and sequence number, 8 + (i % 50) bytes long.</summary>
    private static byte[] Datagram(int sender, int i)
    {
        var d = new byte[8 + (i % 50)];
        BinaryPrimitives.WriteInt32LittleEndian(d, sender);
        BinaryPrimitives.WriteInt32LittleEndian(d.AsSpan(4), i);
        for (int k = 8; k < d.Length; k++)
        {
            d[k] = (byte)(sender + i + k);
        }

        return d;
    }
}
