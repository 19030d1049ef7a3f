using IoUring.Interop;

namespace IoUring;

// Zero-copy receive queues (IORING_REGISTER_ZCRX_IFQ, 6.15).
public sealed partial class Ring
{
    /// <summary>
    /// Binds hardware receive queue <paramref name="rxQueue"/> of network interface <paramref name="interfaceIndex"/> to
    /// this ring for zero-copy receive (<c>IORING_REGISTER_ZCRX_IFQ</c>, 6.15; liburing <c>io_uring_register_ifq</c>):
    /// the NIC writes payloads into <paramref name="area"/>, and <see cref="Sqe.PrepRecvZc"/> reports where. The kernel
    /// requires <c>CAP_NET_ADMIN</c>, a <see cref="RingOptions.DeferTaskRun"/> + <see cref="RingOptions.Cqe32"/> ring, and a
    /// NIC driver with header/data split and queue management; flows must be steered to that queue (ethtool ntuple rules).
    /// </summary>
    /// <param name="interfaceIndex">The interface index (<c>if_nametoindex</c>, <c>/sys/class/net/NAME/ifindex</c>).</param>
    /// <param name="rxQueue">The hardware receive queue.</param>
    /// <param name="area">Page-aligned memory for payloads (a <see cref="NativeBuffer"/> whose length is a multiple of the page size); keep it until the ring is disposed.</param>
    /// <param name="refillEntries">Entries of the refill queue (rounded up to a power of two).</param>
    /// <returns>The queue.</returns>
    /// <exception cref="IoUringException">The kernel refused: <c>EPERM</c> without <c>CAP_NET_ADMIN</c>; <c>EINVAL</c> for a ring without DEFER_TASKRUN and CQE32 or before 6.15; <c>ENODEV</c> for an unknown interface; <c>EOPNOTSUPP</c> when the NIC cannot do it.</exception>
    public ZeroCopyReceiveQueue RegisterZeroCopyReceiveQueue(int interfaceIndex, uint rxQueue, NativeBuffer area, uint refillEntries)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(area);
        ArgumentOutOfRangeException.ThrowIfZero(refillEntries);
        int page = Libc.PageSize;
        if (area.Length % page != 0)
        {
            throw new ArgumentException($"The area's length must be a multiple of the page size ({page}).", nameof(area));
        }

        uint entries = System.Numerics.BitOperations.RoundUpToPowerOf2(refillEntries);
        // The refill ring: a cache line of head/tail, then the entries (as the kernel's io_allocate_rbuf_ring sizes it).
        int regionSize = checked(((64 + ((int)entries * 16)) + page - 1) / page * page);
        var region = new NativeMemoryBlock(regionSize, page, typeof(ZeroCopyReceiveQueue));
        var reg = new ZcrxIfqReg { IfIdx = (uint)interfaceIndex, IfRxq = rxQueue, RqEntries = entries };
        var areaReg = new ZcrxAreaReg { Addr = (ulong)area.Address, Len = (ulong)area.Length };
        int r = RegisterCalls.ZcrxIfq(Handle, ref reg, areaReg, region.Address, (ulong)regionSize, out ulong areaToken);
        if (r < 0)
        {
            region.Free();
            throw IoUringException.FromErrno(-r, "io_uring_register(IORING_REGISTER_ZCRX_IFQ)", r switch
            {
                -Errno.EPERM => "Zero-copy receive needs CAP_NET_ADMIN.",
                -Errno.EINVAL => "Needs Linux 6.15+, a ring with RingOptions.DeferTaskRun and RingOptions.Cqe32, and a valid queue.",
                -Errno.EOPNOTSUPP => "The network driver cannot do zero-copy receive (it needs header/data split and queue management; virtio-net cannot).",
                _ => null,
            });
        }

        var queue = new ZeroCopyReceiveQueue(reg.ZcrxId, area, region, reg.Offsets, reg.RqEntries, areaToken);
        AddResource(queue);
        return queue;
    }
}
