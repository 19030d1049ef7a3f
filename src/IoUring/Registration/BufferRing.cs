using IoUring.Interop;

namespace IoUring;

/// <summary>
/// A provided-buffer ring (<c>IORING_REGISTER_PBUF_RING</c>, 5.19; liburing <c>io_uring_setup_buf_ring</c>): a group of
/// equal buffers in native memory that the kernel picks from for requests with <see cref="SqeFlags.BufferSelect"/> (for
/// example <see cref="Sqe.PrepRecvMultishot"/>). A CQE names the buffer it used in <see cref="Cqe.BufferId"/>; read the
/// data with <see cref="GetData"/>, then give the buffer back with <see cref="Recycle(in Cqe)"/>. Bundles
/// (<see cref="Sqe.PrepRecvBundle"/>, <see cref="Sqe.PrepSendBundle"/>) use several consecutive buffers per CQE:
/// <see cref="ConsumeBundle"/> names them.
/// </summary>
public sealed class BufferRing : IDisposable, IRingResource
{
    private readonly Ring _ring;
    private readonly NativeMemoryBlock _ringMemory;
    private readonly NativeMemoryBlock _buffers;
    private readonly BufferRingMap _map;

    /// <summary>Per buffer: true while the kernel may pick it (or, with incremental consumption, still fills it).</summary>
    private readonly bool[] _withKernel;

    /// <summary>Per buffer: bytes already delivered from it by earlier completions (incremental consumption only).</summary>
    private readonly int[] _consumed;

    /// <summary>Per buffer: the length it was handed to the kernel with.</summary>
    private readonly int[] _lengths;

    /// <summary>Per ring position (masked): the buffer id added there, so bundles can be followed in ring order.</summary>
    private readonly ushort[] _bidAt;

    /// <summary>Per buffer: the ring position it was last added at.</summary>
    private readonly ushort[] _positionOf;
    private ushort _tail;
    private bool _unregistered;

    internal BufferRing(Ring ring, ushort groupId, ushort entries, int bufferSize, BufferRingOptions? options)
    {
        _ring = ring;
        GroupId = groupId;
        Entries = entries;
        BufferSize = bufferSize;
        IsIncremental = options?.IncrementalConsumption == true;
        _ringMemory = new NativeMemoryBlock(entries * 16, Libc.PageSize, typeof(BufferRing));
        _buffers = new NativeMemoryBlock(checked(entries * bufferSize), Libc.PageSize, typeof(BufferRing));
        _map = new BufferRingMap(_ringMemory.Address, entries);
        _withKernel = new bool[entries];
        _consumed = new int[entries];
        _lengths = new int[entries];
        _bidAt = new ushort[entries];
        _positionOf = new ushort[entries];
        ushort flags = IsIncremental ? PbufRingInc : (ushort)0;
        int r = RegisterCalls.PbufRing(ring.Handle, _ringMemory.Address, entries, groupId, flags);
        if (r < 0)
        {
            _ringMemory.Free();
            _buffers.Free();
            throw IoUringException.FromErrno(-r, "io_uring_register(IORING_REGISTER_PBUF_RING)",
                r == -Errno.EINVAL
                    ? IsIncremental
                        ? "Incremental consumption needs Linux 6.12+; also check the entry count (a power of two up to 32768) and that the group id is unused."
                        : "Needs Linux 5.19+, a power-of-two entry count up to 32768, and an unused group id."
                    : null);
        }

        if (options?.StartEmpty == true)
        {
            return;
        }

        for (ushort bid = 0; bid < entries; bid++)
        {
            Add(bid, bid, bufferSize);
            _withKernel[bid] = true;
        }

        Advance(entries);
    }

    /// <summary><c>IOU_PBUF_RING_INC</c>.</summary>
    internal const ushort PbufRingInc = 2;

    /// <summary>The buffer group id to put in <see cref="Sqe.BufGroup"/>.</summary>
    public ushort GroupId { get; }

    /// <summary>Number of buffers.</summary>
    public ushort Entries { get; }

    /// <summary>Size of each buffer.</summary>
    public int BufferSize { get; }

    /// <summary>True when the ring was set up with <see cref="BufferRingOptions.IncrementalConsumption"/>.</summary>
    public bool IsIncremental { get; }

    /// <summary>
    /// The kernel's consumer index into this ring (<c>IORING_REGISTER_PBUF_STATUS</c>, 6.8; liburing
    /// <c>io_uring_buf_ring_head</c>): how many buffer entries it has taken since the ring was set up, modulo 65536.
    /// Compared with the number of buffers handed over, it says how many are still available to the kernel.
    /// </summary>
    /// <exception cref="IoUringException">The kernel lacks the call (before 6.8: <c>EINVAL</c>).</exception>
    public ushort KernelHead
    {
        get
        {
            ObjectDisposedException.ThrowIf(_unregistered, this);
            int r = RegisterCalls.PbufStatus(_ring.Handle, GroupId, out uint head);
            return r >= 0 ? (ushort)head : throw IoUringException.FromErrno(-r, "io_uring_register(IORING_REGISTER_PBUF_STATUS)", r == -Errno.EINVAL ? "Needs Linux 6.8+." : null);
        }
    }

    /// <summary>The whole of buffer <paramref name="bufferId"/>.</summary>
    /// <param name="bufferId">The id.</param>
    /// <returns>Its bytes.</returns>
    public Span<byte> GetBuffer(ushort bufferId)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(bufferId, Entries);
        return _buffers.GetSpan().Slice(bufferId * BufferSize, BufferSize);
    }

    /// <summary>
    /// The bytes a completion delivered: <see cref="Cqe.Res"/> bytes of its buffer, from its start or, with incremental
    /// consumption, from where the previous completion into that buffer ended. Call it once per CQE: it records that the
    /// buffer came back (or, with <see cref="CqeFlags.BufMore"/>, how far the kernel has filled it).
    /// </summary>
    /// <param name="cqe">A successful CQE with <see cref="CqeFlags.Buffer"/>.</param>
    /// <returns>The data.</returns>
    /// <exception cref="ArgumentException">The CQE carries no buffer.</exception>
    public ReadOnlySpan<byte> GetData(in Cqe cqe)
    {
        if (!cqe.HasBuffer)
        {
            throw new ArgumentException("The CQE did not use a provided buffer (no IORING_CQE_F_BUFFER).", nameof(cqe));
        }

        ushort bid = cqe.BufferId;
        int start = IsIncremental && bid < Entries ? _consumed[bid] : 0;
        int length = Math.Clamp(cqe.Res, 0, BufferSize - start);
        MarkConsumed(cqe);
        return GetBuffer(bid).Slice(start, length);
    }

    /// <summary>
    /// Gives buffer <paramref name="bufferId"/> back to the kernel (<c>io_uring_buf_ring_add</c> + <c>advance</c>).
    /// The buffer must have been delivered by a CQE that was passed to <see cref="GetData"/> or <see cref="MarkConsumed"/>
    /// (or use <see cref="Recycle(in Cqe)"/>); a second recycle is refused, because it would let the kernel hand the
    /// same buffer to two requests.
    /// </summary>
    /// <param name="bufferId">The id from <see cref="Cqe.BufferId"/>.</param>
    /// <exception cref="InvalidOperationException">The buffer is already with the kernel.</exception>
    public void Recycle(ushort bufferId) => Provide(bufferId, BufferSize);

    /// <summary>
    /// Hands buffer <paramref name="bufferId"/> to the kernel with <paramref name="length"/> valid bytes: for a group used by
    /// <see cref="Sqe.PrepSendBundle"/>, write the data into <see cref="GetBuffer"/> first, and the kernel sends the buffers
    /// in the order they were provided. For receive groups, <see cref="Recycle(ushort)"/> hands back the whole buffer.
    /// </summary>
    /// <param name="bufferId">A buffer the application holds.</param>
    /// <param name="length">1 to <see cref="BufferSize"/>.</param>
    /// <exception cref="InvalidOperationException">The buffer is already with the kernel.</exception>
    public void Provide(ushort bufferId, int length)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(bufferId, Entries);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, BufferSize);
        ObjectDisposedException.ThrowIf(_unregistered, this);
        if (_withKernel[bufferId])
        {
            throw new InvalidOperationException(
                $"Buffer {bufferId} of group {GroupId} is already with the kernel (recycled twice, or its CQE was not passed to GetData/MarkConsumed); recycling it again would let two requests fill it at once.");
        }

        Add(bufferId, 0, length);
        Advance(1);
        _withKernel[bufferId] = true;
    }

    /// <summary>Marks the buffer a CQE delivered as consumed and gives it back to the kernel.</summary>
    /// <param name="cqe">A CQE with <see cref="CqeFlags.Buffer"/>.</param>
    /// <exception cref="ArgumentException">The CQE carries no buffer.</exception>
    public void Recycle(in Cqe cqe)
    {
        if (!cqe.HasBuffer)
        {
            throw new ArgumentException("The CQE did not use a provided buffer (no IORING_CQE_F_BUFFER).", nameof(cqe));
        }

        MarkConsumed(cqe);
        if ((cqe.Flags & CqeFlags.BufMore) == 0)
        {
            Recycle(cqe.BufferId);
        }
    }

    /// <summary>
    /// Records that the kernel handed out the buffer a CQE names, so that it may be recycled once. <see cref="GetData"/>
    /// does this too. With incremental consumption, a CQE with <see cref="CqeFlags.BufMore"/> leaves the buffer with the
    /// kernel and only advances where the next completion's data starts.
    /// </summary>
    /// <param name="cqe">A CQE; one without <see cref="CqeFlags.Buffer"/> is ignored.</param>
    public void MarkConsumed(in Cqe cqe)
    {
        if (!cqe.HasBuffer || cqe.BufferId >= Entries)
        {
            return;
        }

        ushort bid = cqe.BufferId;
        if (IsIncremental && (cqe.Flags & CqeFlags.BufMore) != 0)
        {
            _consumed[bid] += Math.Max(0, cqe.Res);
            return;
        }

        _withKernel[bid] = false;
        _consumed[bid] = 0;
    }

    /// <summary>
    /// The buffers a bundle CQE used (<see cref="Sqe.PrepRecvBundle"/>, <see cref="Sqe.PrepSendBundle"/>), in order: the
    /// first is <see cref="Cqe.BufferId"/>, the next ones follow in the order the buffers were handed to the kernel, and
    /// together they hold <see cref="Cqe.Res"/> bytes (every buffer full but the last). Marks them all consumed.
    /// </summary>
    /// <param name="cqe">A successful bundle CQE with <see cref="CqeFlags.Buffer"/>.</param>
    /// <param name="bufferIds">Receives the buffer ids; it must have room for every buffer used.</param>
    /// <returns>How many buffers the CQE used.</returns>
    /// <exception cref="ArgumentException">The CQE carries no buffer, or <paramref name="bufferIds"/> is too short.</exception>
    public int ConsumeBundle(in Cqe cqe, Span<ushort> bufferIds)
    {
        if (!cqe.HasBuffer || cqe.BufferId >= Entries)
        {
            throw new ArgumentException("The CQE did not use a provided buffer of this group.", nameof(cqe));
        }

        int remaining = Math.Max(0, cqe.Res);
        ushort position = _positionOf[cqe.BufferId];
        int count = 0;
        do
        {
            ushort bid = _bidAt[position & (Entries - 1)];
            if (count == bufferIds.Length)
            {
                throw new ArgumentException($"The bundle used more than {bufferIds.Length} buffers.", nameof(bufferIds));
            }

            bufferIds[count++] = bid;
            _withKernel[bid] = false;
            remaining -= _lengths[bid];
            position++;
        }
        while (remaining > 0 && count < Entries);

        return count;
    }

    /// <summary>How many bytes of buffer <paramref name="bufferId"/> a bundle delivered, given the bytes left to account for.</summary>
    /// <param name="bufferId">A buffer id from <see cref="ConsumeBundle"/>.</param>
    /// <returns>The length it was handed to the kernel with (the whole buffer for receive groups).</returns>
    public int ProvidedLength(ushort bufferId)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(bufferId, Entries);
        return _lengths[bufferId];
    }

    private void Add(ushort bufferId, int offset, int length)
    {
        ushort position = (ushort)(_tail + offset);
        ref BufRingEntry e = ref _map.Entry(position);
        e.Addr = (ulong)(_buffers.Address + (bufferId * BufferSize));
        e.Len = (uint)length;
        e.Bid = bufferId;
        _lengths[bufferId] = length;
        _bidAt[position & (Entries - 1)] = bufferId;
        _positionOf[bufferId] = position;
        _consumed[bufferId] = 0;
    }

    private void Advance(int count)
    {
        _tail = (ushort)(_tail + count);
        // Release: the entries written above are visible before the new tail. Pairs with the kernel's
        // smp_load_acquire(&br->tail) in io_ring_buffer_select()/io_ring_buffers_peek().
        _map.ReleaseTail(_tail);
    }

    /// <summary>
    /// Unregisters the group. The memory is freed now when the ring has nothing in flight, otherwise when the ring is
    /// disposed (a request may still be writing into a buffer it picked).
    /// </summary>
    public void Dispose() => Unregister(outOfKernel: false);

    /// <summary>The native memory of the buffers (a <see cref="System.Buffers.MemoryManager{T}"/> over all of them, in buffer-id order).</summary>
    internal NativeMemoryBlock BufferMemory => _buffers;

    /// <summary>
    /// Unregisters the group and frees its memory now (the buffers' block once nothing pins it), whatever else the ring has
    /// in flight: for an owner that knows no request of this group is still in the kernel (its last CQE came).
    /// </summary>
    internal void DisposeOutOfKernel() => Unregister(outOfKernel: true);

    /// <summary>Unregisters the group; frees the memory now when no request can still write into it.</summary>
    /// <param name="outOfKernel">The owner knows no request of this group is in the kernel (otherwise only an idle ring proves it).</param>
    private void Unregister(bool outOfKernel)
    {
        if (_unregistered)
        {
            return;
        }

        _unregistered = true;
        if (!_ring.IsDisposed)
        {
            _ = RegisterCalls.UnregisterPbufRing(_ring.Handle, GroupId);
            if (outOfKernel || _ring.InFlight == 0)
            {
                _ring.ForgetBufferRing(this);
                _ringMemory.Free();
                _buffers.Free();
            }
        }
    }

    void IRingResource.ReleaseAfterRingClosed(bool drained)
    {
        _unregistered = true;
        if (drained)
        {
            _ringMemory.Free();
            _buffers.Free();
        }
        else
        {
            PinnedForever.Keep(this);
        }
    }
}
