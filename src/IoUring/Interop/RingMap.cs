using System.Runtime.CompilerServices;

namespace IoUring.Interop;

/// <summary>
/// The submission queue as the kernel laid it out in the mmap'd SQ ring: the shared indices and the SQE array. The
/// indices are reached only through acquire loads and release stores (as the Rust io-uring crate's atomics and
/// liburing's <c>io_uring_smp_*</c> macros do), so a missing barrier cannot be written; which side writes each index and
/// what each barrier pairs with is in docs/memory-ordering.md.
/// </summary>
internal readonly unsafe struct SubmissionQueueMap
{
    private readonly uint* _head;
    private readonly uint* _tail;
    private readonly uint* _flags;
    private readonly uint* _dropped;
    private readonly byte* _sqes;
    private readonly int _sqeShift;

    public readonly uint Mask;
    public readonly uint Entries;

    public SubmissionQueueMap(byte* ring, byte* sqes, in IoUringParams p, bool sqe128)
    {
        // SAFETY: the offsets come from io_uring_setup for this very mapping and lie inside it (the kernel sized
        // the mmap from the same params); the ring stays mapped until RingMap.Dispose, after which no map is used.
        _head = (uint*)(ring + p.SqOff.Head);
        _tail = (uint*)(ring + p.SqOff.Tail);
        _flags = (uint*)(ring + p.SqOff.Flags);
        _dropped = (uint*)(ring + p.SqOff.Dropped);
        Mask = *(uint*)(ring + p.SqOff.RingMask);
        Entries = *(uint*)(ring + p.SqOff.RingEntries);
        _sqes = sqes;
        _sqeShift = sqe128 ? 7 : 6;
        if ((p.Flags & SetupFlags.NoSqArray) == 0)
        {
            // The SQ index array maps ring slot i to SQE i once and for all, as liburing does, so submission never writes it.
            uint* array = (uint*)(ring + p.SqOff.Array);
            for (uint i = 0; i < Entries; i++)
            {
                array[i] = i;
            }
        }
    }

    /// <summary>
    /// Load-acquire of the kernel's consumer index (<c>sq.head</c>, written by the kernel): SQEs below it have been read
    /// and their slots may be reused (pairs with the kernel's <c>smp_store_release</c> of the head; liburing
    /// <c>io_uring_smp_load_acquire(sq->khead)</c>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint AcquireHead() => Volatile.Read(ref *_head);

    /// <summary>
    /// Store-release of our producer index (<c>sq.tail</c>): every SQE written below <paramref name="tail"/> is visible to
    /// the kernel before the new tail is (liburing <c>io_uring_smp_store_release(sq->ktail, tail)</c>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ReleaseTail(uint tail) => Volatile.Write(ref *_tail, tail);

    /// <summary>Load-acquire of <c>sq.flags</c> (<see cref="SqRingFlags"/>, set by the kernel).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint AcquireFlags() => Volatile.Read(ref *_flags);

    /// <summary>Load-acquire of <c>sq.dropped</c>: invalid SQ indices the kernel skipped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint AcquireDropped() => Volatile.Read(ref *_dropped);

    /// <summary>The SQE in ring slot <paramref name="index"/> &amp; <see cref="Mask"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref Sqe Entry(uint index)
    {
        // SAFETY: index is masked to the SQE array's length, which setup sized to Entries SQEs of 64 << sqe128 bytes.
        return ref *(Sqe*)(_sqes + ((nuint)(index & Mask) << _sqeShift));
    }

    /// <summary>True when every entry is 128 bytes (<see cref="SetupFlags.Sqe128"/>).</summary>
    public bool Is128 => _sqeShift == 7;

    /// <summary>The whole 128-byte entry in ring slot <paramref name="index"/>; only for <see cref="Is128"/> rings.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref Sqe128 Entry128(uint index)
    {
        if (_sqeShift != 7)
        {
            throw new InvalidOperationException("This ring has 64-byte SQEs: create it with RingOptions.Sqe128 for 128-byte entries.");
        }

        // SAFETY: with SQE128 each of the Entries slots is 128 bytes (checked above), and index is masked to the array.
        return ref *(Sqe128*)(_sqes + ((nuint)(index & Mask) << 7));
    }
}

/// <summary>The completion queue as the kernel laid it out in the mmap'd CQ ring.</summary>
internal readonly unsafe struct CompletionQueueMap
{
    private readonly uint* _head;
    private readonly uint* _tail;
    private readonly uint* _overflow;
    private readonly uint* _flags;
    private readonly byte* _cqes;
    private readonly int _cqeShift;

    public readonly uint Mask;
    public readonly uint Entries;

    public CompletionQueueMap(byte* ring, in IoUringParams p, bool cqe32)
    {
        // SAFETY: as for the SQ: offsets from io_uring_setup for this mapping, valid until RingMap.Dispose.
        _head = (uint*)(ring + p.CqOff.Head);
        _tail = (uint*)(ring + p.CqOff.Tail);
        _overflow = (uint*)(ring + p.CqOff.Overflow);
        _flags = p.CqOff.Flags != 0 ? (uint*)(ring + p.CqOff.Flags) : null;
        Mask = *(uint*)(ring + p.CqOff.RingMask);
        Entries = *(uint*)(ring + p.CqOff.RingEntries);
        _cqes = ring + p.CqOff.Cqes;
        _cqeShift = cqe32 ? 5 : 4;
    }

    /// <summary>
    /// Store-release of our consumer index (<c>cq.head</c>): the CQEs below <paramref name="head"/> were read before the
    /// kernel may see their slots free and overwrite them (liburing <c>io_uring_smp_store_release(cq->khead, head)</c>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ReleaseHead(uint head) => Volatile.Write(ref *_head, head);

    /// <summary>
    /// Load-acquire of the kernel's producer index (<c>cq.tail</c>): the CQEs below it are fully written before they are
    /// read (pairs with the kernel's <c>smp_store_release</c> of the tail; liburing <c>io_uring_smp_load_acquire(cq->ktail)</c>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint AcquireTail() => Volatile.Read(ref *_tail);

    /// <summary>Load-acquire of <c>cq.overflow</c>: completions the kernel had to drop (only without NODROP).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint AcquireOverflow() => Volatile.Read(ref *_overflow);

    /// <summary>Whether the kernel exposes <c>cq.flags</c> (5.8+).</summary>
    public bool HasFlags => _flags != null;

    /// <summary>Load-acquire of <c>cq.flags</c> (<see cref="CqRingFlags"/>, written by the application); only when <see cref="HasFlags"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint AcquireFlags() => Volatile.Read(ref *_flags);

    /// <summary>Store-release of <c>cq.flags</c>; only when <see cref="HasFlags"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ReleaseFlags(uint flags) => Volatile.Write(ref *_flags, flags);

    /// <summary>The CQE in ring slot <paramref name="index"/> &amp; <see cref="Mask"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref Cqe Entry(uint index)
    {
        // SAFETY: index is masked to the CQE array's length, which lies inside the CQ mapping at cq_off.cqes.
        return ref *(Cqe*)(_cqes + ((nuint)(index & Mask) << _cqeShift));
    }

    /// <summary>The 16 extra bytes of a CQE32 entry in slot <paramref name="index"/>.</summary>
    public ReadOnlySpan<byte> BigCqe(uint index)
    {
        if (_cqeShift == 4)
        {
            return default;
        }

        // SAFETY: with CQE32 each slot is 32 bytes; the extra 16 follow the 16-byte io_uring_cqe inside the mapping.
        return new ReadOnlySpan<byte>(_cqes + ((nuint)(index & Mask) << _cqeShift) + Cqe.Size, Cqe.Size);
    }
}

/// <summary>
/// The memory maps of one ring: the SQ ring, the CQ ring (the same map with <see cref="RingFeatures.SingleMmap"/>)
/// and the SQE array. Disposing unmaps them; the kernel keeps its own reference to the pages, so this is safe
/// even while requests are in flight.
/// </summary>
internal sealed unsafe class RingMap : IDisposable
{
    private nint _sqRing;
    private nuint _sqRingSize;
    private nint _cqRing;
    private nuint _cqRingSize;
    private nint _sqes;
    private nuint _sqesSize;

    public SubmissionQueueMap Sq { get; }

    public CompletionQueueMap Cq { get; }

    private RingMap(in IoUringParams p, nint sqRing, nuint sqSize, nint cqRing, nuint cqSize, bool cqSeparate, nint sqes, nuint sqesSize)
    {
        _sqRing = sqRing;
        _sqRingSize = sqSize;
        // With a single mmap the CQ lives in the SQ ring's map, which is unmapped once.
        _cqRing = cqSeparate ? cqRing : 0;
        _cqRingSize = cqSeparate ? cqSize : 0;
        _sqes = sqes;
        _sqesSize = sqesSize;
        bool sqe128 = (p.Flags & SetupFlags.Sqe128) != 0;
        bool cqe32 = (p.Flags & SetupFlags.Cqe32) != 0;
        // SAFETY: the three addresses were just returned by mmap for this ring fd with the sizes the kernel asked for.
        Sq = new SubmissionQueueMap((byte*)sqRing, (byte*)sqes, p, sqe128);
        Cq = new CompletionQueueMap((byte*)cqRing, p, cqe32);
    }

    /// <summary>
    /// Bytes of the ring region (SQ and CQ ring headers, the CQE array and the SQ index array) for
    /// <see cref="SetupFlags.NoMmap"/>: what the kernel's <c>rings_size()</c> computes, where the CQEs start one cache line
    /// into the region. The caller adds slack and checks the offsets the kernel reports against its allocation.
    /// </summary>
    public static nuint RingRegionSize(uint sqEntries, uint cqEntries, SetupFlags flags)
    {
        nuint cqeSize = (nuint)((flags & SetupFlags.Cqe32) != 0 ? 2 * Cqe.Size : Cqe.Size);
        nuint size = 64 + (cqEntries * cqeSize);
        size = (size + 63) & ~(nuint)63;
        if ((flags & SetupFlags.NoSqArray) == 0)
        {
            size += sqEntries * sizeof(uint);
        }

        return size;
    }

    /// <summary>
    /// Where the SQ index array follows the CQE array in the ring region: the end of the CQEs rounded up to a cache line,
    /// as the kernel's <c>rings_size()</c> places it. Needed after <c>IORING_REGISTER_RESIZE_RINGS</c>, which does not report it.
    /// </summary>
    public static uint SqArrayOffset(uint cqesOffset, uint cqEntries, SetupFlags flags)
    {
        uint cqeSize = (uint)((flags & SetupFlags.Cqe32) != 0 ? 2 * Cqe.Size : Cqe.Size);
        return (cqesOffset + (cqEntries * cqeSize) + 63) & ~63u;
    }

    /// <summary>
    /// Builds the map over memory the library allocated for a <see cref="SetupFlags.NoMmap"/> ring: the kernel pinned
    /// <paramref name="ringRegion"/> (rings) and <paramref name="sqeRegion"/> (SQE array) at setup. Dispose unmaps them;
    /// the kernel keeps its own references to the pinned pages until the ring is torn down.
    /// </summary>
    public static RingMap FromUserMemory(in IoUringParams p, nint ringRegion, nuint ringSize, nint sqeRegion, nuint sqeSize) =>
        new(p, ringRegion, ringSize, ringRegion, ringSize, cqSeparate: false, sqeRegion, sqeSize);

    /// <summary>Anonymous, page-aligned, zeroed memory of <paramref name="size"/> bytes for a <see cref="SetupFlags.NoMmap"/> ring, or 0 and an errno.</summary>
    public static nint AllocateUserRegion(nuint size, out int errno) =>
        Libc.Mmap(size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_POPULATE, -1, 0, out errno);

    /// <summary>Releases memory from <see cref="AllocateUserRegion"/>.</summary>
    public static void FreeUserRegion(nint address, nuint size)
    {
        if (address != 0)
        {
            _ = Libc.Munmap(address, size);
        }
    }

    /// <summary>Maps the rings of <paramref name="ringFd"/>; returns null and an errno on failure, unmapping what was mapped.</summary>
    public static RingMap? Map(int ringFd, in IoUringParams p, out int errno)
    {
        bool sqe128 = (p.Flags & SetupFlags.Sqe128) != 0;
        bool cqe32 = (p.Flags & SetupFlags.Cqe32) != 0;
        nuint sqSize = p.SqOff.Array + p.SqEntries * sizeof(uint);

        nuint cqSize = p.CqOff.Cqes + (nuint)p.CqEntries * (nuint)(cqe32 ? 2 * Cqe.Size : Cqe.Size);
        bool single = (p.Features & RingFeatures.SingleMmap) != 0;
        if (single)
        {
            sqSize = cqSize = Math.Max(sqSize, cqSize);
        }

        const int prot = Libc.PROT_READ | Libc.PROT_WRITE;
        const int flags = Libc.MAP_SHARED | Libc.MAP_POPULATE;
        nint sqRing = Libc.Mmap(sqSize, prot, flags, ringFd, MmapOffsets.SqRing, out errno);
        if (sqRing == 0)
        {
            return null;
        }

        nint cqRing = sqRing;
        if (!single)
        {
            cqRing = Libc.Mmap(cqSize, prot, flags, ringFd, MmapOffsets.CqRing, out errno);
            if (cqRing == 0)
            {
                _ = Libc.Munmap(sqRing, sqSize);
                return null;
            }
        }

        nuint sqesSize = (nuint)p.SqEntries * (nuint)(sqe128 ? 2 * Sqe.Size : Sqe.Size);
        nint sqes = Libc.Mmap(sqesSize, prot, flags, ringFd, MmapOffsets.Sqes, out errno);
        if (sqes == 0)
        {
            _ = Libc.Munmap(sqRing, sqSize);
            if (!single)
            {
                _ = Libc.Munmap(cqRing, cqSize);
            }

            return null;
        }

        return new RingMap(p, sqRing, sqSize, cqRing, cqSize, !single, sqes, sqesSize);
    }

    public void Dispose()
    {
        Unmap(ref _sqes, ref _sqesSize);
        Unmap(ref _cqRing, ref _cqRingSize);
        Unmap(ref _sqRing, ref _sqRingSize);
    }

    private static void Unmap(ref nint addr, ref nuint size)
    {
        if (addr != 0)
        {
            _ = Libc.Munmap(addr, size);
            addr = 0;
            size = 0;
        }
    }
}
