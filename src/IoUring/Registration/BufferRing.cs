using IoUring.Interop;

namespace IoUring;

/// <summary>
/// A provided-buffer ring (<c>IORING_REGISTER_PBUF_RING</c>, 5.19): a group of equal buffers in native memory that
/// the kernel picks from for requests with <see cref="SqeFlags.BufferSelect"/> (for example
/// <see cref="Sqe.PrepRecvMultishot"/>). A CQE names the buffer it used in <see cref="Cqe.BufferId"/>; read the
/// data with <see cref="GetData"/>, then give the buffer back with <see cref="Recycle(in Cqe)"/>.
/// </summary>
public sealed class BufferRing : IDisposable
{
    private readonly Ring _ring;
    private readonly NativeMemoryBlock _ringMemory;
    private readonly NativeMemoryBlock _buffers;
    private readonly BufferRingMap _map;
    private readonly bool[] _withKernel;
    private ushort _tail;
    private bool _unregistered;

    internal BufferRing(Ring ring, ushort groupId, ushort entries, int bufferSize)
    {
        _ring = ring;
        GroupId = groupId;
        Entries = entries;
        BufferSize = bufferSize;
        _ringMemory = new NativeMemoryBlock(entries * 16, Libc.PageSize, typeof(BufferRing));
        _buffers = new NativeMemoryBlock(checked(entries * bufferSize), Libc.PageSize, typeof(BufferRing));
        _map = new BufferRingMap(_ringMemory.Address, entries);
        _withKernel = new bool[entries];
        int r = RegisterCalls.PbufRing(ring.Fd, _ringMemory.Address, entries, groupId, 0);
        if (r < 0)
        {
            _ringMemory.Free();
            _buffers.Free();
            throw IoUringException.FromErrno(-r, "io_uring_register(IORING_REGISTER_PBUF_RING)",
                r == -Errno.EINVAL ? "Needs Linux 5.19+, a power-of-two entry count up to 32768, and an unused group id." : null);
        }

        for (ushort bid = 0; bid < entries; bid++)
        {
            Add(bid, bid);
            _withKernel[bid] = true;
        }

        Advance(entries);
    }

    /// <summary>The buffer group id to put in <see cref="Sqe.BufGroup"/>.</summary>
    public ushort GroupId { get; }

    /// <summary>Number of buffers.</summary>
    public ushort Entries { get; }

    /// <summary>Size of each buffer.</summary>
    public int BufferSize { get; }

    /// <summary>The whole of buffer <paramref name="bufferId"/>.</summary>
    /// <param name="bufferId">The id.</param>
    /// <returns>Its bytes.</returns>
    public Span<byte> GetBuffer(ushort bufferId)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(bufferId, Entries);
        return _buffers.GetSpan().Slice(bufferId * BufferSize, BufferSize);
    }

    /// <summary>The bytes a completion delivered: the first <see cref="Cqe.Res"/> bytes of its buffer.</summary>
    /// <param name="cqe">A successful CQE with <see cref="CqeFlags.Buffer"/>.</param>
    /// <returns>The data.</returns>
    /// <exception cref="ArgumentException">The CQE carries no buffer.</exception>
    public ReadOnlySpan<byte> GetData(in Cqe cqe)
    {
        if (!cqe.HasBuffer)
        {
            throw new ArgumentException("The CQE did not use a provided buffer (no IORING_CQE_F_BUFFER).", nameof(cqe));
        }

        MarkConsumed(cqe);
        return GetBuffer(cqe.BufferId)[..Math.Max(0, cqe.Res)];
    }

    /// <summary>
    /// Gives buffer <paramref name="bufferId"/> back to the kernel (<c>io_uring_buf_ring_add</c> + <c>advance</c>).
    /// The buffer must have been delivered by a CQE that was passed to <see cref="GetData"/> or <see cref="MarkConsumed"/>
    /// (or use <see cref="Recycle(in Cqe)"/>); a second recycle is refused, because it would let the kernel hand the
    /// same buffer to two requests.
    /// </summary>
    /// <param name="bufferId">The id from <see cref="Cqe.BufferId"/>.</param>
    /// <exception cref="InvalidOperationException">The buffer is already with the kernel.</exception>
    public void Recycle(ushort bufferId)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(bufferId, Entries);
        ObjectDisposedException.ThrowIf(_unregistered, this);
        if (_withKernel[bufferId])
        {
            throw new InvalidOperationException(
                $"Buffer {bufferId} of group {GroupId} is already with the kernel (recycled twice, or its CQE was not passed to GetData/MarkConsumed); recycling it again would let two requests fill it at once.");
        }

        Add(bufferId, 0);
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
        Recycle(cqe.BufferId);
    }

    /// <summary>Records that the kernel handed out the buffer a CQE names, so that it may be recycled once. <see cref="GetData"/> does this too.</summary>
    /// <param name="cqe">A CQE; one without <see cref="CqeFlags.Buffer"/> is ignored.</param>
    public void MarkConsumed(in Cqe cqe)
    {
        if (cqe.HasBuffer && cqe.BufferId < Entries)
        {
            _withKernel[cqe.BufferId] = false;
        }
    }

    private void Add(ushort bufferId, int offset)
    {
        ref BufRingEntry e = ref _map.Entry(_tail + offset);
        e.Addr = (ulong)(_buffers.Address + (bufferId * BufferSize));
        e.Len = (uint)BufferSize;
        e.Bid = bufferId;
    }

    private void Advance(int count)
    {
        _tail = (ushort)(_tail + count);
        // Release: the entries written above are visible before the new tail. Pairs with the kernel's
        // smp_load_acquire(&br->tail) in io_ring_buffer_select()/io_ring_buffers_peek().
        Volatile.Write(ref _map.Tail, _tail);
    }

    /// <summary>
    /// Unregisters the group. The memory is freed now when the ring has nothing in flight, otherwise when the ring is
    /// disposed (a request may still be writing into a buffer it picked).
    /// </summary>
    public void Dispose()
    {
        if (_unregistered)
        {
            return;
        }

        _unregistered = true;
        if (!_ring.IsDisposed)
        {
            _ = RegisterCalls.UnregisterPbufRing(_ring.Fd, GroupId);
            if (_ring.InFlight == 0)
            {
                _ring.ForgetBufferRing(this);
                _ringMemory.Free();
                _buffers.Free();
            }
        }
    }

    internal void ReleaseAfterRingClosed(bool drained)
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
