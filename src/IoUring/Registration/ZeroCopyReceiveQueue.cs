using IoUring.Interop;

namespace IoUring;

/// <summary>
/// A zero-copy receive interface queue (<c>IORING_REGISTER_ZCRX_IFQ</c>, 6.15; liburing <c>io_uring_register_ifq</c>):
/// one hardware receive queue of a NIC whose payloads land directly in <see cref="Area"/>; <see cref="Sqe.PrepRecvZc"/>
/// receives from it. Each CQE (on a <see cref="RingOptions.Cqe32"/> ring) names where its data lies
/// (<see cref="GetData"/>); give that memory back with <see cref="ReturnBuffer"/>. Needs a NIC with header/data split
/// and queue management (for example mlx5, bnxt, gve); virtio-net and loopback cannot, and the kernel refuses them.
/// The ring owns the queue: it is released when the ring is disposed.
/// </summary>
public sealed class ZeroCopyReceiveQueue : IRingResource
{
    private readonly NativeMemoryBlock _region;
    private readonly ZcrxRefillMap _refill;
    private uint _tail;

    internal ZeroCopyReceiveQueue(uint id, NativeBuffer area, NativeMemoryBlock region, in ZcrxOffsets offsets, uint entries, ulong areaToken)
    {
        Id = id;
        Area = area;
        AreaToken = areaToken;
        _region = region;
        _refill = new ZcrxRefillMap(region.Address, offsets, entries);
        RefillEntries = entries;
    }

    /// <summary>The queue's id: pass it to <see cref="Sqe.PrepRecvZc"/>.</summary>
    public uint Id { get; }

    /// <summary>The memory the NIC writes payloads into.</summary>
    public NativeBuffer Area { get; }

    /// <summary>The kernel's token for <see cref="Area"/> (<c>rq_area_token</c>).</summary>
    public ulong AreaToken { get; }

    /// <summary>Entries of the refill queue.</summary>
    public uint RefillEntries { get; }

    /// <summary>The payload a <see cref="Opcode.RecvZc"/> CQE delivered: <see cref="Cqe.Res"/> bytes at the area offset in its second half.</summary>
    /// <param name="cqe">The CQE.</param>
    /// <param name="bigCqe">Its extra 16 bytes (<see cref="Ring.BigCqe"/>).</param>
    /// <returns>The bytes, valid until returned with <see cref="ReturnBuffer"/>.</returns>
    public ReadOnlySpan<byte> GetData(in Cqe cqe, ReadOnlySpan<byte> bigCqe)
    {
        ulong offset = AreaOffset(bigCqe);
        return Area.Span.Slice(checked((int)offset), Math.Max(0, cqe.Res));
    }

    /// <summary>The offset of a CQE's data inside <see cref="Area"/>.</summary>
    /// <param name="bigCqe">The CQE's extra 16 bytes.</param>
    /// <returns>The offset, without the area id bits.</returns>
    public static ulong AreaOffset(ReadOnlySpan<byte> bigCqe)
    {
        if (bigCqe.Length < 16)
        {
            throw new ArgumentException("A zero-copy receive CQE has 16 extra bytes (a Cqe32 ring).", nameof(bigCqe));
        }

        ulong raw = System.Runtime.InteropServices.MemoryMarshal.Read<ulong>(bigCqe);
        return raw & ((1UL << AreaShift) - 1);
    }

    /// <summary>Gives <paramref name="length"/> bytes at <paramref name="offset"/> of <see cref="Area"/> back to the NIC (one refill-queue entry).</summary>
    /// <param name="offset">The offset from <see cref="AreaOffset"/>.</param>
    /// <param name="length">The CQE's length.</param>
    public void ReturnBuffer(ulong offset, uint length)
    {
        ref ZcrxRqe rqe = ref _refill.Entry(_tail);
        rqe.Off = offset | AreaToken;
        rqe.Len = length;
        rqe.Pad = 0;
        _tail++;
        // Release: the entry is written before the tail that publishes it (the kernel reads the tail with smp_load_acquire).
        _refill.ReleaseTail(_tail);
    }

    /// <summary><c>IORING_ZCRX_AREA_SHIFT</c>: the area id sits above this bit of an offset.</summary>
    internal const int AreaShift = 48;

    /// <summary>
    /// At ring disposal: the kernel tears the queue down asynchronously and may still write the refill head into the
    /// region's pinned pages, so the memory is kept for the life of the process instead of being handed back to the allocator.
    /// </summary>
    internal void Release() => PinnedForever.Keep(_region);

    /// <inheritdoc/>
    void IRingResource.ReleaseAfterRingClosed(bool drained) => Release();
}
