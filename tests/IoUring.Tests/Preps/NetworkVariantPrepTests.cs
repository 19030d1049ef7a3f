using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace IoUring.Tests.Preps;

/// <summary>liburing's socket variants: multishot recvmsg, send and receive bundles, direct sockets into allocated slots.</summary>
public sealed class NetworkVariantPrepTests
{
    [UringFact(Opcode.RecvMsg)]
    public void Multishot_recvmsg_delivers_each_datagram_with_its_source_address()
    {
        using Socket receiver = Loopback.Udp();
        using Socket sender = Loopback.Udp();
        using var ring = new Ring(8);
        using BufferRing buffers = ring.SetupBufferRing(1, 8, 256);
        var msg = new Pinned<MsgHdr>(1);
        msg.Value.NameLength = 16; // room for a sockaddr_in
        ring.GetSqe().PrepRecvMsgMultishot(receiver.Fd(), msg.Address, buffers.GroupId);
        Assert.Equal(1, ring.Submit());

        for (int i = 0; i < 3; i++)
        {
            sender.SendTo(new[] { (byte)('a' + i), (byte)'!' }, receiver.LocalEndPoint!);
            Cqe cqe = RingKit.Next(ring);
            Assert.True(cqe.HasMore, $"the multishot recvmsg ended: {cqe}");
            Assert.True(ReceivedMessage.TryParse(buffers.GetData(cqe), msg.Value, out ReceivedMessage m));
            Assert.Equal(new[] { (byte)('a' + i), (byte)'!' }, m.Payload.ToArray());
            Assert.Equal(2, m.PayloadLength);
            Assert.Equal(16, m.NameLength);
            Assert.Equal(((IPEndPoint)sender.LocalEndPoint!).Port, Loopback.PortOf(m.Name));
            buffers.Recycle(cqe.BufferId);
        }

        ring.GetSqe().PrepCancelFd(receiver.Fd());
        RingKit.RunMany(ring, 2);
        Pinned.KeepAlive(msg);
    }

    [UringFact(Opcode.Recv)]
    public void Receive_bundle_fills_consecutive_buffers_in_one_completion()
    {
        using var tcp = Loopback.TcpPair();
        using var ring = new Ring(8);
        RequireBundles(ring);
        using BufferRing buffers = ring.SetupBufferRing(2, 8, 64);
        byte[] data = TestData.Bytes(200, 3);
        tcp.Client.Send(data);
        Assert.True(SpinWait.SpinUntil(() => tcp.Server.Available == 200, Wait.Patience));

        // The kernel may split the 200 bytes over several bundle CQEs; each one spans consecutive buffers.
        var got = new List<byte>();
        int mostBuffers = 0;
        Span<ushort> ids = stackalloc ushort[8];
        while (got.Count < 200)
        {
            ring.GetSqe().PrepRecvBundle(tcp.Server.Fd(), buffers.GroupId);
            Cqe cqe = RingKit.Run(ring);
            Assert.True(cqe.Res > 0 && cqe.HasBuffer, cqe.ToString());
            int n = buffers.ConsumeBundle(cqe, ids);
            Assert.Equal((cqe.Res + 63) / 64, n);
            mostBuffers = Math.Max(mostBuffers, n);
            for (int i = 0; i < n; i++)
            {
                got.AddRange(buffers.GetBuffer(ids[i])[..Math.Min(64, cqe.Res - (i * 64))].ToArray());
                buffers.Recycle(ids[i]);
            }
        }

        Assert.True(mostBuffers >= 2, "no completion used more than one buffer");
        Assert.Equal(data, got.ToArray());
    }

    [UringFact(Opcode.Send)]
    public void Send_bundle_sends_the_provided_buffers_in_order_in_one_request()
    {
        using var tcp = Loopback.TcpPair();
        using var ring = new Ring(8);
        RequireBundles(ring);
        using BufferRing buffers = ring.SetupBufferRing(3, 4, 32, new BufferRingOptions { StartEmpty = true });
        byte[][] parts = [TestData.Bytes(32, 1), TestData.Bytes(10, 2), TestData.Bytes(5, 3)];
        for (ushort i = 0; i < parts.Length; i++)
        {
            parts[i].CopyTo(buffers.GetBuffer(i));
            buffers.Provide(i, parts[i].Length);
        }

        ring.GetSqe().PrepSendBundle(tcp.Client.Fd(), buffers.GroupId);
        Cqe cqe = RingKit.Run(ring);
        Assert.Equal(47, cqe.Res);
        Assert.Equal((ushort)0, cqe.BufferId);
        Span<ushort> ids = stackalloc ushort[4];
        Assert.Equal(3, buffers.ConsumeBundle(cqe, ids));
        Assert.Equal(parts.SelectMany(p => p).ToArray(), tcp.Server.ReceiveExactly(47));
        buffers.Provide(0, 1); // sent buffers are the application's again
    }

    [UringFact(Opcode.Socket)]
    public void Direct_sockets_go_to_allocated_slots_inside_the_file_alloc_range()
    {
        using var ring = new Ring(8);
        ring.RegisterFilesSparse(8);
        ring.SetFileAllocRange(5, 2);
        var slots = new List<int>();
        for (int i = 0; i < 3; i++)
        {
            ring.GetSqe().PrepSocketDirectAlloc(Posix.AF_INET, Posix.SOCK_STREAM, 0);
            slots.Add(RingKit.Run(ring).Res);
        }

        Assert.Equal([5, 6, -E.ENFILE], slots);
        Assert.Throws<IoUringException>(() => ring.SetFileAllocRange(6, 8)); // past the table
    }

    [UringFact(Opcode.MsgRing)]
    public void Msg_ring_fd_alloc_passes_a_direct_descriptor_into_a_free_slot_of_the_target()
    {
        using var source = new Ring(4);
        using var target = new Ring(4) { ExpectExternalCompletions = true };
        source.RegisterFilesSparse(4);
        target.RegisterFilesSparse(4);
        target.SetFileAllocRange(2, 2);
        using var pipe = new TestPipe();
        source.UpdateRegisteredFiles(0, [pipe.WriteFd]);
        source.GetSqe().PrepMsgRingFdAlloc(target.Fd, 0, 99);
        Assert.Equal(2, RingKit.Run(source).Res);
        Cqe got = RingKit.Next(target);
        Assert.Equal(99UL, got.UserData);
        Assert.Equal(2, got.Res);

        // The passed descriptor works in the target: write through slot 2, read from the pipe.
        var one = new Pinned<byte>([7]);
        target.NextSqe(0, SqeFlags.FixedFile).PrepWrite(2, one.Address, 1, ulong.MaxValue);
        Assert.Equal(1, RingKit.Run(target).Res);
        Span<byte> b = stackalloc byte[1];
        Assert.Equal(1, IoUring.Interop.Libc.Read(pipe.ReadFd, b));
        Assert.Equal(7, b[0]);
        Pinned.KeepAlive(one);
    }

    private static void RequireBundles(Ring ring)
    {
        if ((ring.Features & RingFeatures.RecvSendBundle) == 0)
        {
            Assert.Skip("The running kernel has no IORING_FEAT_RECVSEND_BUNDLE (6.10+).");
        }
    }
}
