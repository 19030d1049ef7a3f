using System.Diagnostics;
using IoUring.Interop;

namespace IoUring;

// Batched waits: a minimum wait (IORING_ENTER_EXT_ARG's min_wait_usec, 6.12). Waits on registered wait arguments
// (6.13) are in Registration/Ring.WaitRegion.cs.
public sealed partial class Ring
{
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
