using IoUring.Interop;

namespace IoUring;

// Registered wait arguments (IORING_REGISTER_MEM_REGION with REG_WAIT_ARG, 6.13): the region and the waits that use it.
public sealed partial class Ring
{
    /// <summary>The registered wait region (a ring resource: freed after the ring is closed).</summary>
    private WaitRegion? _waitRegion;

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
        AddResource(region);
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
}
