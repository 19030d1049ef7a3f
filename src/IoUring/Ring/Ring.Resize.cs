using IoUring.Interop;

namespace IoUring;

// Resizing the rings of a live ring (IORING_REGISTER_RESIZE_RINGS, 6.13).
public sealed partial class Ring
{
    /// <summary>
    /// Resizes the submission and completion queues in place (<c>IORING_REGISTER_RESIZE_RINGS</c>, 6.13; liburing
    /// <c>io_uring_resize_rings</c>): the kernel moves requests in flight and CQEs not yet reaped to the new rings, and
    /// the ring maps them again. Start small and grow when load demands, instead of sizing for the peak up front.
    /// The kernel allows it only for <see cref="RingOptions.DeferTaskRun"/> rings.
    /// </summary>
    /// <param name="sqEntries">New SQ size, 1 to <see cref="MaxEntries"/> (rounded up to a power of two).</param>
    /// <param name="cqEntries">New CQ size, or 0 for twice the SQ size.</param>
    /// <exception cref="InvalidOperationException">SQEs are prepared or not yet consumed by the kernel (submit them first), or the ring is a <see cref="RingOptions.NoMmap"/> ring.</exception>
    /// <exception cref="IoUringException">The kernel refused: <c>EINVAL</c> before 6.13 or without <see cref="SetupFlags.DeferTaskRun"/>; <c>EOVERFLOW</c> when more CQEs wait than the new CQ holds.</exception>
    public void Resize(uint sqEntries, uint cqEntries = 0)
    {
        ThrowIfDisposed();
        if (sqEntries == 0 || sqEntries > MaxEntries)
        {
            throw new ArgumentOutOfRangeException(nameof(sqEntries), sqEntries, $"A ring needs 1 to {MaxEntries} entries.");
        }

        if ((SetupFlags & SetupFlags.NoMmap) != 0)
        {
            throw new InvalidOperationException("Resizing a NoMmap ring is not supported: the library would have to provide the new ring memory.");
        }

        if (_sqeTail != _sq.AcquireHead())
        {
            throw new InvalidOperationException($"{_sqeTail - _sq.AcquireHead()} SQEs are prepared or not yet consumed by the kernel: submit them before resizing.");
        }

        var p = new IoUringParams { SqEntries = sqEntries, CqEntries = cqEntries, Features = Features };
        if (cqEntries != 0)
        {
            p.Flags = SetupFlags.CqSize;
        }

        int r = RegisterCalls.ResizeRings(Handle, ref p);
        if (r < 0)
        {
            throw IoUringException.FromErrno(-r, "io_uring_register(IORING_REGISTER_RESIZE_RINGS)",
                r switch
                {
                    -Errno.EINVAL => "Needs Linux 6.13+ and a ring created with RingOptions.DeferTaskRun.",
                    -Errno.EOVERFLOW => "More CQEs wait than the new completion queue holds: reap them first.",
                    _ => null,
                });
        }

        // The kernel copied the rings (keeping head and tail values) and now serves the new ones at the same mmap offsets.
        p.Flags |= SetupFlags & (SetupFlags.Sqe128 | SetupFlags.Cqe32 | SetupFlags.NoSqArray);
        p.Features = Features;
        if ((p.Flags & SetupFlags.NoSqArray) == 0)
        {
            // The resize reports no sq_off.array (only setup does), and the new index array starts zeroed: it sits where
            // the kernel's rings_size() puts it, and the map's constructor writes the identity mapping into it again.
            p.SqOff.Array = RingMap.SqArrayOffset(p.CqOff.Cqes, p.CqEntries, p.Flags);
        }
        RingMap? map = RingMap.Map(_ringFd, p, out int errno);
        if (map is null)
        {
            throw IoUringException.FromErrno(errno, "mmap (after IORING_REGISTER_RESIZE_RINGS)", "The ring was resized but cannot be mapped again; dispose it.");
        }

        _map.Dispose();
        _map = map;
        _sq = map.Sq;
        _cq = map.Cq;
        _sqEntries = _sq.Entries;
        _cachedSqHead = _sq.AcquireHead();
        _scratch.Dispose();
        _scratch = new SubmitScratch(_sqEntries);
    }
}
