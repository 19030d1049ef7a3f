using System.Net.Sockets;

namespace IoUring.Tests.Registration;

/// <summary>SetupBufferRing argument validation, accessors and dispose behaviour.</summary>
public sealed class BufferRingTests
{
    [UringTheory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(100)]
    [InlineData(65535)]
    public void Entries_must_be_a_power_of_two(int entries)
    {
        using var ring = new Ring(2);
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.SetupBufferRing(1, (ushort)entries, 64));
    }

    [UringTheory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Buffer_size_must_be_positive(int size)
    {
        using var ring = new Ring(2);
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.SetupBufferRing(1, 4, size));
    }

    [UringFact]
    public void A_group_id_in_use_is_refused_with_EEXIST_and_free_again_after_dispose()
    {
        using var ring = new Ring(2);
        BufferRing first = ring.SetupBufferRing(9, 4, 64);
        Assert.Equal((ushort)9, first.GroupId);
        Assert.Equal((ushort)4, first.Entries);
        Assert.Equal(64, first.BufferSize);

        var e = Assert.Throws<IoUringException>(() => ring.SetupBufferRing(9, 8, 32));
        Assert.Equal(E.EEXIST, e.Errno);

        first.Dispose();
        using BufferRing again = ring.SetupBufferRing(9, 8, 32);
        Assert.Equal((ushort)8, again.Entries);
    }

    [UringFact]
    public void Accessors_check_their_arguments()
    {
        using var ring = new Ring(2);
        using BufferRing br = ring.SetupBufferRing(1, 4, 100);
        Assert.Equal(100, br.GetBuffer(3).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => br.GetBuffer(4));
        Assert.Throws<ArgumentOutOfRangeException>(() => br.Recycle(4));
        Assert.Throws<ArgumentException>(() => br.GetData(new Cqe(1, 10, CqeFlags.None)));

        var cqe = new Cqe(1, 5, CqeFlags.Buffer | (CqeFlags)(2u << SqeConstants.CqeBufferShift));
        br.GetBuffer(2)[..5].Fill(7);
        Assert.Equal(new byte[] { 7, 7, 7, 7, 7 }, br.GetData(cqe).ToArray());
        Assert.Equal(0, br.GetData(new Cqe(1, -E.ENOBUFS, CqeFlags.Buffer)).Length);
    }

    [UringFact]
    public void Dispose_is_idempotent_and_recycling_afterwards_throws()
    {
        using var ring = new Ring(2);
        BufferRing br = ring.SetupBufferRing(1, 2, 16);
        br.Dispose();
        br.Dispose();
        Assert.Throws<ObjectDisposedException>(() => br.Recycle(0));
        Assert.Throws<ObjectDisposedException>(() => br.GetBuffer(0));
    }

    [UringFact]
    public void Disposing_the_ring_first_leaves_the_buffer_ring_safe_to_dispose()
    {
        var ring = new Ring(2);
        BufferRing br = ring.SetupBufferRing(1, 2, 16);
        ring.Dispose();
        br.Dispose();
        Assert.Throws<ObjectDisposedException>(() => br.Recycle(0));
        Assert.Throws<ObjectDisposedException>(() => ring.SetupBufferRing(2, 2, 16));
    }

    [UringFact(Opcode.Recv)]
    public void Disposing_a_buffer_ring_with_a_receive_in_flight_keeps_its_memory_until_the_ring_is_disposed()
    {
        using var tcp = Loopback.TcpPair();
        var ring = new Ring(4);
        BufferRing br = ring.SetupBufferRing(3, 2, 64);
        ring.GetSqe().PrepRecvMultishot(tcp.Client.Fd(), br.GroupId);
        Assert.Equal(1, ring.Submit());

        br.Dispose();
        // The kernel may still hold a buffer it picked: the memory stays readable, not freed under it.
        Assert.Equal(64, br.GetBuffer(0).Length);
        ring.Dispose(); // cancels the receive, then frees
        Assert.Throws<ObjectDisposedException>(() => br.GetBuffer(0));
    }
}
