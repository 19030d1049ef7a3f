using System.Runtime.InteropServices;
using IoUring.Interop;

namespace IoUring;

/// <summary>
/// A registered wait region (<c>IORING_REGISTER_MEM_REGION</c> with <c>IORING_MEM_REGION_REG_WAIT_ARG</c>, 6.13;
/// liburing <c>io_uring_register_region</c> + <c>io_uring_submit_and_wait_reg</c>): slots of wait arguments (timeout,
/// minimum wait) that the kernel reads in place, so a wait passes only a slot number instead of copying an argument.
/// Create it with <see cref="Ring.RegisterWaitRegion"/> and wait with <see cref="Ring.WaitCqes(uint, WaitRegion, int)"/>.
/// The ring owns it and frees it when disposed.
/// </summary>
public sealed class WaitRegion : IRingResource
{
    private readonly NativeMemoryBlock _memory;

    internal WaitRegion(int slots, int bytes)
    {
        Slots = slots;
        _memory = new NativeMemoryBlock(bytes, Libc.PageSize, typeof(WaitRegion));
    }

    /// <summary>Number of wait slots.</summary>
    public int Slots { get; }

    /// <summary>Size of one slot in bytes (<c>sizeof(struct io_uring_reg_wait)</c>).</summary>
    public static int SlotSize => Marshal.SizeOf<RegWait>();

    internal nint Address => _memory.Address;

    internal int Length => _memory.Length;

    /// <summary>
    /// Sets slot <paramref name="slot"/>: a wait through it ends after <paramref name="timeout"/> (null: no timeout), and
    /// with a non-zero <paramref name="minWait"/> returns early once that much time passed with at least one CQE
    /// (<see cref="RingFeatures.MinTimeout"/>).
    /// </summary>
    /// <param name="slot">0 to <see cref="Slots"/> - 1.</param>
    /// <param name="timeout">The relative timeout, or null.</param>
    /// <param name="minWait">The minimum wait, or zero.</param>
    public void Set(int slot, TimeSpan? timeout, TimeSpan minWait = default)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)slot, (uint)Slots, nameof(slot));
        RegWait wait = default;
        if (timeout is TimeSpan t)
        {
            wait.Ts = KernelTimespec.FromTimeSpan(t);
            wait.Flags = RegWait.FlagTs;
        }

        wait.MinWaitUsec = Ring.ToMicroseconds(minWait);
        MemoryMarshal.Write(_memory.GetSpan()[(slot * SlotSize)..], in wait);
    }

    /// <summary>True when slot <paramref name="slot"/> carries a timeout, so a wait through it ends on its own.</summary>
    internal bool HasTimeout(int slot) => (MemoryMarshal.Read<RegWait>(_memory.GetSpan()[(slot * SlotSize)..]).Flags & RegWait.FlagTs) != 0;

    /// <summary>Frees the memory once the ring is closed (the kernel pinned its own reference to the pages).</summary>
    internal void Release() => _memory.Free();

    /// <inheritdoc/>
    void IRingResource.ReleaseAfterRingClosed(bool drained) => Release();
}
