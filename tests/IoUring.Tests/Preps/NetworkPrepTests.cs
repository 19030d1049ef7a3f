using System.Net;
using System.Net.Sockets;

namespace IoUring.Tests.Preps;

/// <summary>socket, bind, listen, accept (+multishot, direct), connect, send/recv, sendmsg/recvmsg, send_zc, sendto, shutdown on loopback.</summary>
public sealed class NetworkPrepTests
{
    private static int NewSocket(Ring ring, int type = Posix.SOCK_STREAM)
    {
        ring.GetSqe().PrepSocket(Posix.AF_INET, type | Posix.SOCK_CLOEXEC, 0);
        int fd = RingKit.Run(ring).Res;
        Assert.True(fd >= 0, $"socket failed: {fd}");
        return fd;
    }

    [UringFact([Opcode.Socket, Opcode.Bind, Opcode.Listen, Opcode.Accept])]
    public void Socket_bind_listen_and_accept_all_through_the_ring()
    {
        using var ring = new Ring(8);
        int listenFd = NewSocket(ring);
        int conn = -1;
        try
        {
            var sa = Loopback.SockAddr(new IPEndPoint(IPAddress.Loopback, 0));
            ring.GetSqe().PrepBind(listenFd, sa.Address, sa.ByteLength);
            Assert.Equal(0, RingKit.Run(ring).Res);
            ring.GetSqe().PrepListen(listenFd, 8);
            Assert.Equal(0, RingKit.Run(ring).Res);

            // getsockname through a non-owning .NET view of the fd: the kernel picked the port at bind.
            int port;
            using (var view = new Socket(new SafeSocketHandle(listenFd, ownsHandle: false)))
            {
                Assert.True(view.IsBound);
                port = view.EndPoint().Port;
                Assert.NotEqual(0, port);
            }

            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            client.Connect(new IPEndPoint(IPAddress.Loopback, port));

            var peer = new Pinned<byte>(16);
            var peerLen = new Pinned<int>([16]);
            ring.GetSqe().PrepAccept(listenFd, peer.Address, peerLen.Address, Posix.SOCK_CLOEXEC);
            conn = RingKit.Run(ring).Res;
            Assert.True(conn >= 0, $"accept failed: {conn}");
            Assert.Equal(16, peerLen.Value);
            Assert.Equal(Posix.AF_INET, peer[0]);
            Assert.Equal(client.EndPoint().Port, Loopback.PortOf(peer.Span));

            client.Send("ping"u8);
            byte[] got = new byte[4];
            Assert.Equal(4, IoUring.Interop.Libc.Read(conn, got));
            Assert.Equal("ping"u8.ToArray(), got);
            Pinned.KeepAlive(sa);
        }
        finally
        {
            Fds.Close(conn, listenFd);
        }
    }

    [UringFact([Opcode.Connect, Opcode.Send, Opcode.Recv])]
    public void Connect_send_and_recv_between_a_ring_socket_and_a_dotnet_listener()
    {
        using Socket listener = Loopback.Listener();
        using var ring = new Ring(8);
        int fd = NewSocket(ring);
        using var closeAtEnd = Fds.CloseAtEnd(fd);
        var sa = Loopback.SockAddr(listener.EndPoint());
        ring.GetSqe().PrepConnect(fd, sa.Address, sa.ByteLength);
        Assert.Equal(0, RingKit.Run(ring).Res);
        using Socket server = listener.Accept();
        server.ReceiveTimeout = Loopback.ReceiveTimeoutMs;

        var outgoing = new Pinned<byte>(TestData.Bytes(1000, 1));
        ring.GetSqe().PrepSend(fd, outgoing.Address, outgoing.ByteLength);
        Assert.Equal(1000, RingKit.Run(ring).Res);
        Assert.Equal(outgoing.Array, server.ReceiveExactly(1000));

        byte[] reply = TestData.Bytes(300, 2);
        server.Send(reply);
        var incoming = new Pinned<byte>(300);
        ring.GetSqe().PrepRecv(fd, incoming.Address, incoming.ByteLength, msgFlags: 0x100 /* MSG_WAITALL */);
        Assert.Equal(300, RingKit.Run(ring).Res);
        Assert.Equal(reply, incoming.Array);
        Pinned.KeepAlive(sa, outgoing);
    }

    [UringFact(Opcode.Accept)]
    public void Multishot_accept_posts_one_CQE_per_connection_until_cancelled()
    {
        using Socket listener = Loopback.Listener();
        using var ring = new Ring(8);
        var accepted = new List<int>();
        var clients = new List<Socket>();
        try
        {
            ring.NextSqe(7).PrepMultishotAccept(listener.Fd(), Posix.SOCK_CLOEXEC);
            Assert.Equal(1, ring.Submit());

            for (int i = 0; i < 3; i++)
            {
                var c = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                clients.Add(c);
                c.Connect(listener.EndPoint());
                c.Send([(byte)(100 + i)]);
                Cqe cqe = RingKit.Next(ring);
                Assert.Equal(7UL, cqe.UserData);
                Assert.True(cqe.Res >= 0, cqe.ToString());
                Assert.True(cqe.HasMore, cqe.ToString());
                accepted.Add(cqe.Res);

                byte[] one = new byte[1];
                Assert.Equal(1, IoUring.Interop.Libc.Read(cqe.Res, one));
                Assert.Equal(100 + i, one[0]);
            }

            Assert.Equal(3, accepted.Distinct().Count());
            ring.NextSqe(8).PrepCancel(7);
            Cqe[] cqes = RingKit.RunMany(ring, 2);
            Assert.Equal(0, cqes.With(8).Res);
            Assert.Equal(-E.ECANCELED, cqes.With(7).Res);
            Assert.False(cqes.With(7).HasMore);
            Assert.Equal(0, ring.InFlight);
        }
        finally
        {
            Fds.Close([.. accepted]);
            clients.ForEach(c => c.Dispose());
        }
    }

    [UringFact([Opcode.Accept, Opcode.Recv])]
    public void Accept_direct_into_a_sparse_table_then_recv_with_the_fixed_slot()
    {
        using Socket listener = Loopback.Listener();
        using var ring = new Ring(8);
        ring.RegisterFilesSparse(8);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(listener.EndPoint());

        ring.GetSqe().PrepAcceptDirect(listener.Fd(), 0, fileIndex: 3);
        Assert.Equal(0, RingKit.Run(ring).Res);

        client.Send("direct"u8);
        var buf = new Pinned<byte>(6);
        ring.NextSqe(0, SqeFlags.FixedFile).PrepRecv(3, buf.Address, 6, 0x100);
        Assert.Equal(6, RingKit.Run(ring).Res);
        Assert.Equal("direct"u8.ToArray(), buf.Array);

        // SOCK_CLOEXEC means nothing for a direct descriptor and the kernel refuses it.
        ring.GetSqe().PrepAcceptDirect(listener.Fd(), Posix.SOCK_CLOEXEC, fileIndex: 4);
        Assert.Equal(-E.EINVAL, RingKit.Run(ring).Res);
        Pinned.KeepAlive(buf);
    }

    [UringFact(Opcode.Accept)]
    public void Multishot_accept_direct_allocates_a_slot_per_connection()
    {
        using Socket listener = Loopback.Listener();
        using var ring = new Ring(8);
        ring.RegisterFilesSparse(4);
        var clients = new List<Socket>();
        try
        {
            ring.NextSqe(9).PrepMultishotAcceptDirect(listener.Fd(), 0);
            Assert.Equal(1, ring.Submit());

            var slots = new List<int>();
            for (int i = 0; i < 2; i++)
            {
                var c = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                clients.Add(c);
                c.Connect(listener.EndPoint());
                Cqe cqe = RingKit.Next(ring);
                Assert.True(cqe.HasMore, cqe.ToString());
                Assert.InRange(cqe.Res, 0, 3);
                slots.Add(cqe.Res);
            }

            Assert.NotEqual(slots[0], slots[1]);
            clients[1].Send([42]);
            var one = new Pinned<byte>(1);
            ring.NextSqe(10, SqeFlags.FixedFile).PrepRecv(slots[1], one.Address, 1);
            Cqe got = RingKit.Run(ring);
            Assert.Equal(10UL, got.UserData);
            Assert.Equal(1, got.Res);
            Assert.Equal(42, one.Value);
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    [UringFact([Opcode.SendMsg, Opcode.RecvMsg])]
    public void Sendmsg_and_recvmsg_gather_and_scatter_iovecs()
    {
        using var tcp = Loopback.TcpPair();
        using var ring = new Ring(8);
        var a = new Pinned<byte>("hello "u8);
        var b = new Pinned<byte>("world"u8);
        var sendIov = new Pinned<IoVec>([new IoVec(a.Address, a.ByteLength), new IoVec(b.Address, b.ByteLength)]);
        var sendMsg = new Pinned<MsgHdr>([new MsgHdr { Iov = sendIov.Address, IovLength = 2 }]);
        ring.GetSqe().PrepSendMsg(tcp.Client.Fd(), sendMsg.Address);
        Assert.Equal(11, RingKit.Run(ring).Res);
        Assert.Equal("hello world"u8.ToArray(), tcp.Server.ReceiveExactly(11));

        tcp.Server.Send("0123456789"u8);
        var x = new Pinned<byte>(4);
        var y = new Pinned<byte>(6);
        var recvIov = new Pinned<IoVec>([new IoVec(x.Address, 4), new IoVec(y.Address, 6)]);
        var recvMsg = new Pinned<MsgHdr>([new MsgHdr { Iov = recvIov.Address, IovLength = 2 }]);
        ring.GetSqe().PrepRecvMsg(tcp.Client.Fd(), recvMsg.Address, 0x100 /* MSG_WAITALL */);
        Assert.Equal(10, RingKit.Run(ring).Res);
        Assert.Equal("0123"u8.ToArray(), x.Array);
        Assert.Equal("456789"u8.ToArray(), y.Array);
        Pinned.KeepAlive(a, b, sendIov, sendMsg, recvIov, recvMsg);
    }

    [UringFact(Opcode.SendZc)]
    public void Send_zc_posts_the_result_with_F_MORE_then_a_notification()
    {
        using var tcp = Loopback.TcpPair();
        using var ring = new Ring(8);
        using var buf = new NativeBuffer(8192);
        TestData.Bytes(8192, 3).CopyTo(buf.Span);
        ring.NextSqe(5).PrepSendZc(tcp.Client.Fd(), buf.Address, 8192);
        AssertZeroCopyPair(RingKit.RunMany(ring, 2), 5, 8192);
        Assert.Equal(0, ring.InFlight);
        Assert.Equal(buf.Span.ToArray(), tcp.Server.ReceiveExactly(8192));
    }

    [UringFact([Opcode.SendZc, Opcode.SendMsgZc])]
    public void Send_zc_from_a_registered_buffer_and_sendmsg_zc_deliver_the_data()
    {
        using var tcp = Loopback.TcpPair();
        using var ring = new Ring(8);
        using var buf = new NativeBuffer(4096);
        TestData.Bytes(4096, 4).CopyTo(buf.Span);
        ring.RegisterBuffers([buf.Memory]);

        ring.NextSqe(6).PrepSendZcFixed(tcp.Client.Fd(), buf.Address + 100, 1000, bufIndex: 0);
        AssertZeroCopyPair(RingKit.RunMany(ring, 2), 6, 1000);
        Assert.Equal(buf.Span.Slice(100, 1000).ToArray(), tcp.Server.ReceiveExactly(1000));

        var iov = new Pinned<IoVec>([new IoVec(buf.Address, 10), new IoVec(buf.Address + 2000, 20)]);
        var msg = new Pinned<MsgHdr>([new MsgHdr { Iov = iov.Address, IovLength = 2 }]);
        ring.NextSqe(7).PrepSendMsgZc(tcp.Client.Fd(), msg.Address);
        AssertZeroCopyPair(RingKit.RunMany(ring, 2), 7, 30);
        Assert.Equal([.. buf.Span[..10], .. buf.Span.Slice(2000, 20)], tcp.Server.ReceiveExactly(30));
        Pinned.KeepAlive(iov, msg);
    }

    internal static void AssertZeroCopyPair(Cqe[] cqes, ulong userData, int bytes)
    {
        Assert.All(cqes, c => Assert.Equal(userData, c.UserData));
        Assert.Equal(bytes, cqes[0].Res);
        Assert.True(cqes[0].HasMore, cqes[0].ToString());
        Assert.False(cqes[0].IsNotification);
        Assert.True(cqes[1].IsNotification, cqes[1].ToString());
        Assert.False(cqes[1].HasMore);
    }

    [UringFact(Opcode.Send)]
    public void Sendto_delivers_a_datagram_to_the_given_address()
    {
        using Socket receiver = Loopback.Udp();
        using var ring = new Ring(4);
        int fd = NewSocket(ring, Posix.SOCK_DGRAM);
        using var closeAtEnd = Fds.CloseAtEnd(fd);
        var data = new Pinned<byte>("datagram"u8);
        var to = Loopback.SockAddr(receiver.EndPoint());
        ring.GetSqe().PrepSendTo(fd, data.Address, data.ByteLength, to.Address, (ushort)to.ByteLength);
        Assert.Equal(8, RingKit.Run(ring).Res);

        byte[] got = new byte[64];
        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
        int n = receiver.ReceiveFrom(got, ref from);
        Assert.Equal("datagram"u8.ToArray(), got[..n]);
        Pinned.KeepAlive(data, to);
    }

    [UringFact(Opcode.Shutdown)]
    public void Shutdown_of_the_write_side_makes_the_peer_read_end_of_stream()
    {
        using var tcp = Loopback.TcpPair();
        using var ring = new Ring(4);
        ring.GetSqe().PrepShutdown(tcp.Client.Fd(), Posix.SHUT_WR);
        Assert.Equal(0, RingKit.Run(ring).Res);
        Assert.Equal(0, tcp.Server.Receive(new byte[8]));
    }

    [UringFact([Opcode.Socket, Opcode.Connect])]
    public void Socket_direct_connect_and_send_through_the_fixed_slot()
    {
        using Socket listener = Loopback.Listener();
        using var ring = new Ring(8);
        ring.RegisterFilesSparse(4);

        ring.GetSqe().PrepSocketDirect(Posix.AF_INET, Posix.SOCK_STREAM, 0, SqeConstants.FileIndexAlloc);
        int slot = RingKit.Run(ring).Res;
        Assert.InRange(slot, 0, 3);

        var sa = Loopback.SockAddr(listener.EndPoint());
        ring.NextSqe(0, SqeFlags.FixedFile).PrepConnect(slot, sa.Address, sa.ByteLength);
        Assert.Equal(0, RingKit.Run(ring).Res);
        using Socket server = listener.Accept();
        server.ReceiveTimeout = Loopback.ReceiveTimeoutMs;

        var data = new Pinned<byte>("fixed"u8);
        ring.NextSqe(0, SqeFlags.FixedFile).PrepSend(slot, data.Address, 5);
        Assert.Equal(5, RingKit.Run(ring).Res);
        Assert.Equal("fixed"u8.ToArray(), server.ReceiveExactly(5));

        ring.GetSqe().PrepSocketDirect(Posix.AF_INET, Posix.SOCK_STREAM | Posix.SOCK_CLOEXEC, 0, 1);
        Assert.Equal(-E.EINVAL, RingKit.Run(ring).Res);
        Pinned.KeepAlive(sa, data);
    }
}
