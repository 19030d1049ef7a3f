using System.Net.Sockets;

namespace IoUring.Tests.Preps;

/// <summary>provide_buffers/remove_buffers with buffer-select recv, and a buffer ring with multishot recv.</summary>
public sealed class BufferPrepTests
{
    [UringFact([Opcode.ProvideBuffers, Opcode.RemoveBuffers])]
    public void Provided_buffers_are_picked_by_a_buffer_select_recv_and_removed_by_remove_buffers()
    {
        using var tcp = Loopback.TcpPair();
        using var ring = new Ring(8);
        const int size = 64;
        var pool = new Pinned<byte>(4 * size);
        ring.GetSqe().PrepProvideBuffers(pool.Address, size, 4, group: 7, firstId: 10);
        Assert.Equal(0, RingKit.Run(ring).Res);

        tcp.Server.Send("picked"u8);
        Cqe cqe = RunBufferSelectRecv(ring, tcp.Client.Fd(), size, group: 7);
        Assert.Equal(6, cqe.Res);
        Assert.True(cqe.HasBuffer, cqe.ToString());
        Assert.InRange(cqe.BufferId, (ushort)10, (ushort)13);
        Assert.Equal("picked"u8.ToArray(), pool.Span.Slice((cqe.BufferId - 10) * size, 6).ToArray());

        // Three buffers are left; asking to remove up to 10 removes exactly those.
        ring.GetSqe().PrepRemoveBuffers(10, group: 7);
        Assert.Equal(3, RingKit.Run(ring).Res);

        tcp.Server.Send("x"u8);
        Assert.Equal(-E.ENOBUFS, RunBufferSelectRecv(ring, tcp.Client.Fd(), size, group: 7).Res);
        Pinned.KeepAlive(pool);
    }

    /// <summary>
    /// Sets up buffer ring <paramref name="groupId"/> and submits a multishot recv on <paramref name="socket"/> that
    /// picks its buffers from it; returns the buffer ring (the caller disposes it).
    /// </summary>
    private static BufferRing SubmitMultishotRecv(Ring ring, Socket socket, ulong userData, ushort groupId, ushort entries, int bufferSize)
    {
        BufferRing br = ring.SetupBufferRing(groupId, entries, bufferSize);
        ring.NextSqe(userData).PrepRecvMultishot(socket.Fd(), br.GroupId);
        Assert.Equal(1, ring.Submit());
        return br;
    }

    /// <summary>Runs a recv of up to <paramref name="size"/> bytes into a buffer the kernel picks from <paramref name="group"/>.</summary>
    private static Cqe RunBufferSelectRecv(Ring ring, int fd, uint size, ushort group)
    {
        ref Sqe recv = ref ring.GetSqe();
        recv.PrepRecv(fd, 0, size);
        recv.Flags |= SqeFlags.BufferSelect;
        recv.BufGroup = group;
        return RingKit.Run(ring);
    }

    [UringFact(Opcode.Recv)]
    public void Multishot_recv_with_a_buffer_ring_delivers_messages_and_recycled_buffers_are_reused()
    {
        using var tcp = Loopback.TcpPair();
        using var ring = new Ring(8);
        using BufferRing br = SubmitMultishotRecv(ring, tcp.Client, userData: 77, groupId: 2, entries: 4, bufferSize: 128);

        // Ten messages through four buffers: each one is waited for (so TCP cannot merge them), checked, and recycled.
        var seen = new HashSet<ushort>();
        for (int i = 0; i < 10; i++)
        {
            byte[] msg = TestData.Bytes(20 + i, 50 + i);
            tcp.Server.Send(msg);
            Cqe cqe = RingKit.Next(ring);
            Assert.Equal(77UL, cqe.UserData);
            Assert.True(cqe.HasMore, $"message {i}: {cqe}");
            Assert.True(cqe.HasBuffer, $"message {i}: {cqe}");
            Assert.InRange(cqe.BufferId, (ushort)0, (ushort)3);
            Assert.Equal(msg, br.GetData(cqe).ToArray());
            seen.Add(cqe.BufferId);
            br.Recycle(cqe.BufferId);
        }

        Assert.Equal(4, seen.Count); // all four buffers went round, some more than once

        tcp.Server.Shutdown(SocketShutdown.Send);
        RingKit.AssertMultishotEnded(ring, RingKit.Next(ring), 0);
    }

    [UringFact(Opcode.Recv)]
    public void Multishot_recv_stops_with_ENOBUFS_when_buffers_are_not_recycled()
    {
        using var tcp = Loopback.TcpPair();
        using var ring = new Ring(8);
        using BufferRing br = SubmitMultishotRecv(ring, tcp.Client, userData: 1, groupId: 4, entries: 2, bufferSize: 64);

        for (int i = 0; i < 2; i++)
        {
            tcp.Server.Send([(byte)i]);
            Cqe cqe = RingKit.Next(ring);
            Assert.True(cqe.HasMore);
            Assert.Equal([(byte)i], br.GetData(cqe).ToArray());
        }

        tcp.Server.Send([9]);
        RingKit.AssertMultishotEnded(ring, RingKit.Next(ring), -E.ENOBUFS);
    }
}
