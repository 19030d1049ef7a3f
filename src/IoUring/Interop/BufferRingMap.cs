using System.Runtime.CompilerServices;

namespace IoUring.Interop;

/// <summary>
/// The shared memory of a provided-buffer ring: <c>struct io_uring_buf_ring</c>, an array of <c>io_uring_buf</c>
/// whose first entry's last 16 bits are the ring's tail.
/// </summary>
internal readonly unsafe struct BufferRingMap
{
    private readonly BufRingEntry* _entries;
    public readonly ushort Mask;

    public BufferRingMap(nint memory, ushort entries)
    {
        _entries = (BufRingEntry*)memory;
        Mask = (ushort)(entries - 1);
    }

    /// <summary>The entry at <paramref name="index"/> &amp; <see cref="Mask"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref BufRingEntry Entry(int index)
    {
        // SAFETY: index is masked to the ring, which was allocated with entries * 16 bytes and stays allocated
        // until the BufferRing that owns this map is released.
        return ref _entries[index & Mask];
    }

    /// <summary>
    /// Store-release of the ring tail (which overlays <c>bufs[0].resv</c>): the entries written below
    /// <paramref name="tail"/> are visible before the kernel sees the new tail (liburing <c>io_uring_buf_ring_advance</c>'s
    /// <c>io_uring_smp_store_release</c>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ReleaseTail(ushort tail)
    {
        // SAFETY: the tail is the 2 bytes at offset 14 of the first entry, inside the allocation.
        Volatile.Write(ref *(ushort*)((byte*)_entries + BufRingEntry.TailOffset), tail);
    }
}
