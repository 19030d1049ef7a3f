using System.Numerics;
using IoUring.Interop;

namespace IoUring;

/// <summary>
/// <c>io_uring_setup</c> and the mapping of the rings, for kernel-mapped rings and for <see cref="SetupFlags.NoMmap"/>
/// rings in memory the library allocates (liburing <c>io_uring_queue_init_mem</c>).
/// </summary>
internal static class RingSetup
{
    /// <summary>
    /// Sets up a ring; returns the fd (or, with <see cref="SetupFlags.RegisteredFdOnly"/>, the registered index) and the map.
    /// Throws <see cref="IoUringSetupException"/> when the kernel refuses or the memory cannot be had.
    /// </summary>
    public static (int FdOrIndex, RingMap Map) Create(uint entries, ref IoUringParams p)
    {
        SetupFlags flags = p.Flags;
        if ((flags & SetupFlags.NoMmap) == 0)
        {
            int fd = Syscalls.Setup(entries, ref p);
            if (fd < 0)
            {
                throw IoUringSupport.SetupFailed(-fd, entries, flags);
            }

            RingMap? map = RingMap.Map(fd, p, out int mapErrno);
            if (map is null)
            {
                _ = Libc.Close(fd);
                throw MapFailed(mapErrno);
            }

            return (fd, map);
        }

        return CreateInUserMemory(entries, ref p);
    }

    private static (int FdOrIndex, RingMap Map) CreateInUserMemory(uint entries, ref IoUringParams p)
    {
        SetupFlags flags = p.Flags;
        (uint sq, uint cq) = EntryCounts(entries, p.CqEntries, flags);
        int page = Libc.PageSize;
        nuint ringSize = PageAlign(RingMap.RingRegionSize(sq, cq, flags), page) + (nuint)page;
        nuint sqeSize = PageAlign((nuint)sq * (nuint)((flags & SetupFlags.Sqe128) != 0 ? Sqe128.Size : Sqe.Size), page);
        nint ringMemory = RingMap.AllocateUserRegion(ringSize, out int errno);
        nint sqeMemory = ringMemory == 0 ? 0 : RingMap.AllocateUserRegion(sqeSize, out errno);
        if (sqeMemory == 0)
        {
            RingMap.FreeUserRegion(ringMemory, ringSize);
            throw MapFailed(errno);
        }

        p.CqOff.UserAddr = (ulong)ringMemory;
        p.SqOff.UserAddr = (ulong)sqeMemory;
        int result = Syscalls.Setup(entries, ref p);
        if (result < 0)
        {
            RingMap.FreeUserRegion(ringMemory, ringSize);
            RingMap.FreeUserRegion(sqeMemory, sqeSize);
            throw IoUringSupport.SetupFailed(-result, entries, flags);
        }

        // The kernel sized its view of our memory from the same counts; check that every offset it reported lies inside.
        nuint cqeSize = (nuint)((flags & SetupFlags.Cqe32) != 0 ? 2 * Cqe.Size : Cqe.Size);
        bool fits = p.SqEntries == sq && p.CqEntries == cq
            && p.CqOff.Cqes + ((nuint)p.CqEntries * cqeSize) <= ringSize
            && ((flags & SetupFlags.NoSqArray) != 0 || p.SqOff.Array + ((nuint)p.SqEntries * sizeof(uint)) <= ringSize);
        if (!fits)
        {
            CloseSetupResult(result, flags);
            RingMap.FreeUserRegion(ringMemory, ringSize);
            RingMap.FreeUserRegion(sqeMemory, sqeSize);
            throw new IoUringSetupException(Errno.EINVAL, SetupFailureReason.InvalidArguments,
                $"io_uring_setup with IORING_SETUP_NO_MMAP laid the rings out beyond the {ringSize} bytes the library provided (sq {p.SqEntries}, cq {p.CqEntries}, cqes at {p.CqOff.Cqes}); please report this kernel version.");
        }

        return (result, RingMap.FromUserMemory(p, ringMemory, ringSize, sqeMemory, sqeSize));
    }

    /// <summary>The SQ and CQ sizes the kernel will pick, as <c>io_uring_fill_params</c> computes them.</summary>
    public static (uint Sq, uint Cq) EntryCounts(uint entries, uint cqEntries, SetupFlags flags)
    {
        const uint maxCq = 2 * Ring.MaxEntries;
        bool clamp = (flags & SetupFlags.Clamp) != 0;
        uint sq = BitOperations.RoundUpToPowerOf2(Math.Min(entries, Ring.MaxEntries));
        uint cq;
        if ((flags & SetupFlags.CqSize) != 0)
        {
            cq = BitOperations.RoundUpToPowerOf2(clamp ? Math.Min(cqEntries, maxCq) : cqEntries);
        }
        else
        {
            cq = 2 * sq;
        }

        return (sq, cq);
    }

    /// <summary>Releases what a successful setup returned: closes the fd, or unregisters a registered-only ring.</summary>
    public static void CloseSetupResult(int fdOrIndex, SetupFlags flags)
    {
        if ((flags & SetupFlags.RegisteredFdOnly) != 0)
        {
            _ = RegisterCalls.UnregisterRingFd(new RingHandle(fdOrIndex, registeredIndex: true), fdOrIndex);
        }
        else
        {
            _ = Libc.Close(fdOrIndex);
        }
    }

    private static nuint PageAlign(nuint size, int page) => (size + (nuint)page - 1) & ~((nuint)page - 1);

    private static IoUringSetupException MapFailed(int errno) =>
        new(errno, SetupFailureReason.MemoryLimit,
            $"io_uring is unavailable: mapping the rings failed with {IoUringException.ErrnoName(errno)} ({errno}); raise RLIMIT_MEMLOCK or the memory cgroup limit, or ask for fewer entries.");
}
