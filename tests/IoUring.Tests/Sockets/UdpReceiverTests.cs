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

    [UringFact(Opcode.SendZc)]
    public async Task An_IPv6_wildcard_receiver_gets_IPv4_senders_as_mapped_addresses_and_replies_reach_them()
    {
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
        // 128 bytes: the 16-byte header, 16 bytes of sockaddr_in, 96 bytes of payload room.
        using var rig = new Rig(new UdpReceiverOptions { BufferCount = 8, BufferSize = 128 });
        byte[] big = TestData.Bytes(500, seed: 7);
        rig.Send(big);
        rig.Send([1, 2]);
        rig.Send(TestData.Bytes(96, seed: 8));

        UringDatagram d = await rig.NextAsync();
        Assert.True(d.IsTruncated);
        Assert.Equal(500, d.Length);
        Assert.Equal(96, d.Payload.Length);
        Assert.Equal(big[..96], d.Payload.ToArray());

        d = await rig.NextAsync();
        Assert.False(d.IsTruncated);
        Assert.Equal([1, 2], d.Payload.ToArray());

        d = await rig.NextAsync();
        Assert.False(d.IsTruncated); // exactly the room
        Assert.Equal(TestData.Bytes(96, seed: 8), d.Payload.ToArray());
        Assert.Equal(1, rig.Receiver.TruncatedDatagrams);
        Assert.Equal(3, rig.Receiver.DatagramsReceived);
    }

    [Fact]
    public async Task A_slow_consumer_runs_the_ring_dry_and_the_receive_rearms_when_it_hands_a_buffer_back()
    {
        using var rig = new Rig(new UdpReceiverOptions { BufferCount = 4, BufferSize = 256 });
        UringUdpReceiver receiver = rig.Receiver;

        // Four datagrams fill the four buffers; the fifth finds none: the kernel ends the request with ENOBUFS and the
        // datagrams wait in the socket's receive buffer.
        const int Count = 12;
        for (int i = 0; i < 5; i++)
        {
            rig.Send(Datagram(0, i));
        }

        await Wait.UntilAsync(() => receiver.BufferShortages >= 1, "the kernel ran out of buffers");
        Assert.Equal(4, receiver.DatagramsReceived);
        for (int i = 5; i < Count; i++)
        {
            rig.Send(Datagram(0, i));
        }

        // Each buffer handed back lets the receive go on; nothing is lost, nothing comes twice, the order holds.
        for (int i = 0; i < Count; i++)
        {
            Assert.Equal(Datagram(0, i), (await rig.NextAsync()).Payload.ToArray());
        }

        Assert.Equal(Count, receiver.DatagramsReceived);
        Assert.True(receiver.Rearms >= 1, $"re-arms: {receiver.Rearms}");
        Assert.True(receiver.BufferShortages >= 1);
        Assert.False(receiver.TryReceive(out _));

        // And it still receives afterwards.
        rig.Send([77]);
        Assert.Equal([77], (await rig.NextAsync()).Payload.ToArray());
    }

    [Fact]
    public async Task TryReceive_drains_a_burst_without_allocating()
    {
        using var rig = new Rig(new UdpReceiverOptions { BufferCount = 512, BufferSize = 256 });
        UringUdpReceiver receiver = rig.Receiver;
        rig.Send([0]);
        Assert.True(await receiver.WaitToReceiveAsync().AsTask().WaitAsync(Wait.Patience));
        Assert.True(receiver.TryReceive(out _)); // the sender is known from here on

        // Sent in steps of 50 that the kernel moves into buffers before the next: unpaced, the socket's receive buffer
        // can overflow while the engine's thread waits for a core, and UDP drops (the kernel's RcvbufErrors count them).
        const int Burst = 400;
        for (int i = 0; i < Burst; i++)
        {
            rig.Send(Datagram(1, i));
            if (i % 50 == 49)
            {
                int sent = i + 2;
                await Wait.UntilAsync(() => receiver.DatagramsReceived == sent, $"{sent} datagrams arrived");
            }
        }

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
        using var rig = new Rig();
        UringUdpReceiver receiver = rig.Receiver;
        using var cts = new CancellationTokenSource();
        ValueTask<UringDatagram> pending = receiver.ReceiveAsync(cts.Token);
        Assert.False(pending.IsCompleted);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await receiver.ReceiveAsync()); // one consumer at a time
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending.AsTask().WaitAsync(Wait.Patience));

        rig.Send([3]);
        Assert.Equal([3], (await rig.NextAsync()).Payload.ToArray());
    }

    [Fact]
    public async Task A_connected_receiver_reports_an_unreachable_port_once_and_keeps_receiving()
    {
        // Connected while the receive is armed: from then on only the peer's datagrams (and errors) reach it.
        using var rig = new Rig();
        rig.Peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var peerEndPoint = (IPEndPoint)rig.Peer.LocalEndPoint!;
        await rig.Socket.ConnectAsync(peerEndPoint);

        // The peer goes away: the next datagram to it draws an ICMP "port unreachable", which the socket reports once.
        rig.Peer.Dispose();
        await rig.Socket.SendAsync(new byte[] { 1 });
        UringSocketException e = await Assert.ThrowsAsync<UringSocketException>(rig.NextAsync);
        Assert.Equal(SocketError.ConnectionRefused, e.SocketErrorCode);

        using var again = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        again.Bind(peerEndPoint);
        again.SendTo(new byte[] { 2 }, rig.Socket.LocalEndPoint!);
        Assert.Equal([2], (await rig.NextAsync()).Payload.ToArray());
        Assert.True(rig.Receiver.Rearms >= 1);
    }

    [Fact]
    public async Task Disposing_an_armed_receiver_wakes_the_consumer_frees_the_buffers_and_leaves_the_socket_usable()
    {
        using var rig = new Rig(new UdpReceiverOptions { BufferCount = 8 });
        UringUdpReceiver receiver = rig.Receiver;
        UringUdpSocket socket = rig.Socket;
        rig.Send([1]);
        rig.Send([2]);
        Assert.Equal([1], (await rig.NextAsync()).Payload.ToArray());
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
        rig.Send([3]);
        Assert.Equal(1, (await single.WaitAsync(Wait.Patience)).ReceivedBytes);
        Assert.Equal(3, buffer[0]);

        // A new receiver on the same socket and engine works (the buffer group id is free again or another is taken).
        using UringUdpReceiver second = socket.StartReceiving();
        rig.Send([4]);
        Assert.Equal([4], (await second.ReceiveAsync().AsTask().WaitAsync(Wait.Patience)).Payload.ToArray());
    }

    [UringFact(Opcode.SendZc)]
    public async Task Disposing_the_socket_ends_the_enumeration_and_closes_the_descriptor()
    {
        using var engine = new IoUringEngine();
        var socket = UringUdpSocket.Bind(engine, new IPEndPoint(IPAddress.Loopback, 0));
        int fd = (int)socket.Handle.DangerousGetHandle();
        FdWatch descriptor = Fds.Watch(fd);
        Assert.StartsWith("socket:", descriptor.Was);
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
        await Wait.UntilAsync(() => Fds.Target(fd) != descriptor.Was, "the socket's descriptor closed");
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await receiver.ReceiveAsync());
        Assert.Throws<ObjectDisposedException>(() => socket.StartReceiving());
    }

    [UringFact(Opcode.SendZc)]
    public async Task Disposing_the_engine_ends_an_armed_receiver_without_a_hang()
    {
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
        // IP_PKTINFO (8) at level IPPROTO_IP (0): each datagram carries the address it was sent to.
        using var rig = new Rig(new UdpReceiverOptions { ControlSize = 64 }, static socket =>
            Assert.Equal(0, IoUring.Interop.Libc.SetSockOptInt((int)socket.Handle.DangerousGetHandle(), 0, 8, 1)));
        rig.Send([5]);

        UringDatagram d = await rig.NextAsync();
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

    /// <summary>An engine, a socket bound to IPv4 loopback with a receiver started on it, and a plain .NET socket to send from.</summary>
    private sealed class Rig : IDisposable
    {
        public Rig(UdpReceiverOptions? options = null, Action<UringUdpSocket>? configure = null)
        {
            Kernel.RequireOp(Opcode.SendZc); // 6.0: multishot recvmsg
            Engine = new IoUringEngine();
            Socket = UringUdpSocket.Bind(Engine, new IPEndPoint(IPAddress.Loopback, 0));
            configure?.Invoke(Socket);
            Receiver = Socket.StartReceiving(options);
        }

        public IoUringEngine Engine { get; }

        public UringUdpSocket Socket { get; }

        public UringUdpReceiver Receiver { get; }

        public Socket Peer { get; } = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);

        public void Send(byte[] datagram) => Peer.SendTo(datagram, Socket.LocalEndPoint!);

        public Task<UringDatagram> NextAsync() => Receiver.ReceiveAsync().AsTask().WaitAsync(Wait.Patience);

        public void Dispose()
        {
            Peer.Dispose();
            Receiver.Dispose();
            Socket.Dispose();
            Engine.Dispose();
        }
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
