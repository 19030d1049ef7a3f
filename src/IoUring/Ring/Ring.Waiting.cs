using System.Diagnostics;
using IoUring.Interop;

namespace IoUring;

// Batched waits: a minimum wait (IORING_ENTER_EXT_ARG's min_wait_usec, 6.12) and registered wait arguments (6.13).
public sealed partial class Ring
{
    /// <summary>The registered wait region, freed at dispose.</summary>
    private WaitRegion? _waitRegion;

    /// <summary>
    /// Waits until <paramref name="count"/> CQEs are ready, at most <paramref name="timeout"/>; with a non-zero
    /// <paramref name="minWait"/>, returns as soon as that much time has passed with at least one CQE ready
    /// (liburing <c>io_uring_wait_cqes_min_timeout</c>; <c>min_wait_usec</c> needs <see cref="RingFeatures.MinTimeout"/>, 6.12).
    /// Batches completions without trading away latency: wait for a full batch, but never longer than
    /// <paramref name="minWait"/> once something arrived. Does not submit and does not consume CQEs.
    /// </summary>
    /// <param name="count">CQEs to wait for, 1 to <see cref="CqEntries"/>.</param>
    /// <param name="timeout">The longest wait; <see cref="Timeout.InfiniteTimeSpan"/> for none.</param>
    /// <param name="minWait">The minimum wait (microsecond resolution), or zero.</param>
    /// <returns>The CQEs ready when it returned; 0 when the timeout passed with none.</returns>
    /// <exception cref="WaitWouldBlockForeverException">Nothing is ready or in flight and the timeout is infinite.</exception>
    /// <exception cref="NotSupportedException">A minimum wait on a kernel without <see cref="RingFeatures.MinTimeout"/>, or a finite timeout without <see cref="RingFeatures.ExtArg"/>.</exception>
    public uint WaitCqes(uint count, TimeSpan timeout, TimeSpan minWait)
    {
        ThrowIfDisposed();
        ValidateWait(count);
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);
        }

        uint minWaitUsec = ToMicroseconds(minWait);
        if (minWaitUsec != 0 && (Features & RingFeatures.MinTimeout) == 0)
        {
            throw new NotSupportedException("A minimum wait needs IORING_FEAT_MIN_TIMEOUT (Linux 6.12+).");
        }

        if ((Features & RingFeatures.ExtArg) == 0)
        {
            throw new NotSupportedException("Waiting with a timeout needs IORING_FEAT_EXT_ARG (Linux 5.11+).");
        }

        uint ready = CqReady;
        if (ready >= count || timeout == TimeSpan.Zero)
        {
            return ready;
        }

        if (timeout == Timeout.InfiniteTimeSpan && ready == 0)
        {
            GuardWait(1, 0);
        }

        long deadline = DeadlineAfter(timeout);
        while (true)
        {
            KernelTimespec? ts = null;
            if (deadline != long.MaxValue)
            {
                long left = deadline - Stopwatch.GetTimestamp();
                if (left <= 0)
                {
                    return CqReady;
                }

                ts = KernelTimespec.FromTimeSpan(TimeSpan.FromSeconds((double)left / Stopwatch.Frequency));
            }

            int ret = EnterSyscall(0, count, EnterFlags.GetEvents, new EnterArgs(ts, minWaitUsec, null), "WaitCqes");
            ready = CqReady;
            if (ret >= 0 || ret == -Errno.ETIME || ready >= count)
            {
                return ready;
            }

            if (ret != -Errno.EINTR && ret != -Errno.EAGAIN && ret != -Errno.EBUSY)
            {
                throw IoUringException.FromErrno(-ret, "io_uring_enter (wait with min_wait_usec)");
            }
        }
    }

    /// <summary>
    /// Registers a wait region of <paramref name="slots"/> wait arguments (<c>IORING_REGISTER_MEM_REGION</c> with
    /// <c>IORING_MEM_REGION_REG_WAIT_ARG</c>, 6.13; liburing <c>io_uring_register_region</c>). The kernel accepts it only
    /// while the ring is disabled: create the ring with <see cref="RingOptions.StartDisabled"/>, register the region, then
    /// <see cref="EnableRings"/>. One region per ring.
    /// </summary>
    /// <param name="slots">Number of wait slots, at least 1.</param>
    /// <returns>The region, owned by the ring.</returns>
    /// <exception cref="InvalidOperationException">The ring is enabled, or already has a region.</exception>
    /// <exception cref="IoUringException">The kernel refused (before 6.13: <c>EINVAL</c>).</exception>
    public WaitRegion RegisterWaitRegion(int slots)
    {
        ThrowIfDisposed();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(slots);
        if (IsEnabled)
        {
            throw new InvalidOperationException("The kernel takes a wait region only on a disabled ring: create it with RingOptions.StartDisabled, register the region, then call EnableRings().");
        }

        if (_waitRegion is not null)
        {
            throw new InvalidOperationException("This ring already has a wait region.");
        }

        int page = Libc.PageSize;
        int bytes = checked((((slots * WaitRegion.SlotSize) + page - 1) / page) * page);
        var region = new WaitRegion(bytes / WaitRegion.SlotSize, bytes);
        int r = RegisterCalls.MemRegion(Handle, region.Address, (ulong)bytes, MemRegionReg.RegWaitArg);
        if (r < 0)
        {
            region.Release();
            throw IoUringException.FromErrno(-r, "io_uring_register(IORING_REGISTER_MEM_REGION, REG_WAIT_ARG)",
                r == -Errno.EINVAL ? "Needs Linux 6.13+ and a disabled ring." : null);
        }

        _waitRegion = region;
        return region;
    }

    /// <summary>
    /// Waits until <paramref name="count"/> CQEs are ready, with the timeout and minimum wait of slot
    /// <paramref name="slot"/> of the ring's registered <paramref name="region"/> (<c>IORING_ENTER_EXT_ARG_REG</c>, 6.13;
    /// liburing <c>io_uring_submit_and_wait_reg</c> without the submit): the kernel reads the argument in place.
    /// </summary>
    /// <param name="count">CQEs to wait for, 1 to <see cref="CqEntries"/>.</param>
    /// <param name="region">This ring's region.</param>
    /// <param name="slot">The slot to use.</param>
    /// <returns>The CQEs ready when it returned; 0 when the slot's timeout passed with none.</returns>
    /// <exception cref="ArgumentException"><paramref name="region"/> is not this ring's.</exception>
    public uint WaitCqes(uint count, WaitRegion region, int slot)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(region);
        ValidateWait(count);
        if (!ReferenceEquals(region, _waitRegion))
        {
            throw new ArgumentException("The wait region was registered on another ring.", nameof(region));
        }

        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)slot, (uint)region.Slots, nameof(slot));
        uint ready = CqReady;
        if (ready >= count)
        {
            return ready;
        }

        if (ready == 0 && !region.HasTimeout(slot))
        {
            GuardWait(1, 0);
        }

        while (true)
        {
            int ret = EnterSyscall(0, count, EnterFlags.GetEvents, new EnterArgs(null, 0, (nuint)(slot * WaitRegion.SlotSize)), "WaitCqes (registered wait)");
            ready = CqReady;
            if (ret >= 0 || ret == -Errno.ETIME || ready >= count)
            {
                return ready;
            }

            if (ret != -Errno.EINTR && ret != -Errno.EAGAIN && ret != -Errno.EBUSY)
            {
                throw IoUringException.FromErrno(-ret, "io_uring_enter (registered wait)");
            }
        }
    }

    /// <summary>Whole microseconds of <paramref name="value"/> for <c>min_wait_usec</c>, saturating.</summary>
    internal static uint ToMicroseconds(TimeSpan value)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
        return (uint)Math.Min(value.Ticks / 10, uint.MaxValue);
    }

    private void ValidateWait(uint count)
    {
        ArgumentOutOfRangeException.ThrowIfZero(count);
        if (count > _cq.Entries)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"The CQ holds at most {_cq.Entries} CQEs, so waiting for {count} would never end.");
        }
    }
}
