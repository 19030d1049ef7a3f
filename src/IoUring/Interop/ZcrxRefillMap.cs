using System.Runtime.CompilerServices;

namespace IoUring.Interop;

/// <summary>
/// The refill queue of a zero-copy receive queue: a ring of <c>io_uring_zcrx_rqe</c> in the region registered with it,
/// through which the application gives received buffers back. Head (kernel) and tail (application) sit at the offsets
/// the kernel reported in <c>io_uring_zcrx_offsets</c>.
/// </summary>
internal readonly unsafe struct ZcrxRefillMap
{
    private readonly uint* _tail;
    private readonly ZcrxRqe* _rqes;
    public readonly uint Mask;

    public ZcrxRefillMap(nint region, in ZcrxOffsets offsets, uint entries)
    {
        // SAFETY: the region is the page-aligned allocation registered with the queue; the kernel checked that the
        // offsets plus entries * 16 bytes fit inside it at registration, and the region outlives this map.
        _tail = (uint*)(region + (nint)offsets.Tail);
        _rqes = (ZcrxRqe*)(region + (nint)offsets.Rqes);
        Mask = entries - 1;
    }

    /// <summary>Store-release of the application's producer index: the entries below <paramref name="tail"/> are visible first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ReleaseTail(uint tail) => Volatile.Write(ref *_tail, tail);

    /// <summary>The entry at <paramref name="index"/> &amp; <see cref="Mask"/>.</summary>
    public ref ZcrxRqe Entry(uint index)
    {
        // SAFETY: the index is masked to the ring's entry count, which lies inside the region (see the constructor).
        return ref _rqes[index & Mask];
    }
}
