namespace IoUring;

/// <summary>How to create a <see cref="Ring"/>. Each option maps to an <c>IORING_SETUP_*</c> flag or field.</summary>
public sealed class RingOptions
{
    /// <summary>CQ size (<see cref="SetupFlags.CqSize"/>); 0 lets the kernel pick twice the SQ size.</summary>
    public uint CqEntries { get; init; }

    /// <summary>Clamp too-large sizes to the kernel maximum instead of failing (<see cref="SetupFlags.Clamp"/>).</summary>
    public bool Clamp { get; init; }

    /// <summary>A kernel thread polls the SQ, so submission usually needs no syscall (<see cref="SetupFlags.SqPoll"/>).</summary>
    public bool SqPoll { get; init; }

    /// <summary>How long the SQPOLL thread spins before sleeping; null keeps the kernel default (1 s).</summary>
    public TimeSpan? SqPollIdle { get; init; }

    /// <summary>Pins the SQPOLL thread to this CPU (<see cref="SetupFlags.SqAff"/>); null leaves it unpinned.</summary>
    public int? SqPollCpu { get; init; }

    /// <summary>Keep submitting a batch after an SQE fails (<see cref="SetupFlags.SubmitAll"/>, 5.18).</summary>
    public bool SubmitAll { get; init; }

    /// <summary>Do not interrupt the submitting thread to post completions (<see cref="SetupFlags.CoopTaskRun"/>, 5.19).</summary>
    public bool CoopTaskRun { get; init; }

    /// <summary>Flag pending completion work in the SQ ring (<see cref="SetupFlags.TaskRunFlag"/>, 5.19).</summary>
    public bool TaskRunFlag { get; init; }

    /// <summary>
    /// Promise that one thread submits (<see cref="SetupFlags.SingleIssuer"/>, 6.0): the ring must then stay on the
    /// thread that created it; the kernel fails submissions from another thread with <c>-EEXIST</c>.
    /// </summary>
    public bool SingleIssuer { get; init; }

    /// <summary>
    /// Post completions only when the ring waits (<see cref="SetupFlags.DeferTaskRun"/>, 6.1). The kernel accepts it
    /// only with <see cref="SetupFlags.SingleIssuer"/>, so the library adds that (with its one-thread rule), and adds
    /// <see cref="SetupFlags.TaskRunFlag"/> so that peeking notices pending work.
    /// </summary>
    public bool DeferTaskRun { get; init; }

    /// <summary>Drop the SQ index array (<see cref="SetupFlags.NoSqArray"/>, 6.6).</summary>
    public bool NoSqArray { get; init; }

    /// <summary>
    /// 128-byte SQEs (<see cref="SetupFlags.Sqe128"/>, 5.19), for uring_cmd: <see cref="Ring.GetSqe128"/> hands out the
    /// whole entry with its 80-byte <see cref="Sqe128.Command"/>; <see cref="Ring.GetSqe"/> still works and zeroes the whole entry too.
    /// </summary>
    public bool Sqe128 { get; init; }

    /// <summary>32-byte CQEs (<see cref="SetupFlags.Cqe32"/>).</summary>
    public bool Cqe32 { get; init; }

    /// <summary>Busy-poll for completions (<see cref="SetupFlags.IoPoll"/>); only O_DIRECT on polled devices.</summary>
    public bool IoPoll { get; init; }

    /// <summary>Share the async worker pool of this ring (<see cref="SetupFlags.AttachWq"/>).</summary>
    public Ring? AttachWorkQueueOf { get; init; }

    /// <summary>
    /// Register the ring's own fd (<c>IORING_REGISTER_RING_FDS</c>, 5.18) so each <c>io_uring_enter</c> skips the
    /// fd lookup (an atomic reference count in a multi-threaded process such as .NET). The kernel keeps the
    /// registration per thread: only the creating thread benefits, other threads transparently use the plain fd, and
    /// it is removed at <see cref="Ring.Dispose()"/> only when that runs on the creating thread (otherwise when the
    /// creating thread exits). Turn it on for a ring that lives on one dedicated thread; off by default. Silently
    /// off where the kernel lacks it.
    /// </summary>
    public bool RegisterRingFd { get; init; }

    /// <summary>
    /// How long <see cref="Ring.Dispose()"/> waits for cancelled in-flight requests to complete before it gives up
    /// and keeps their memory pinned for the life of the process. Default 5 s; <see cref="Timeout.InfiniteTimeSpan"/>
    /// waits as long as it takes (beware: requests sent with <see cref="SqeFlags.CqeSkipSuccess"/> that succeed are never
    /// counted off, see <see cref="Ring.InFlight"/>, so with them an infinite drain never ends).
    /// </summary>
    public TimeSpan DisposeDrainTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Create the ring disabled (<see cref="SetupFlags.RDisabled"/>, 5.10): it accepts registrations such as
    /// <see cref="Ring.RegisterRestrictions"/> and <see cref="Ring.RegisterWaitRegion"/> but no submissions until
    /// <see cref="Ring.EnableRings"/>. The way to hand a restricted ring to code you do not trust.
    /// </summary>
    public bool StartDisabled { get; init; }

    /// <summary>
    /// Put the rings in memory the library allocates instead of kernel memory mapped into the process
    /// (<see cref="SetupFlags.NoMmap"/>, 6.5; liburing <c>io_uring_queue_init_mem</c>): the kernel pins the library's
    /// pages at setup. Before 6.13 a ring region larger than one page must be a huge page, so keep such rings small there.
    /// </summary>
    public bool NoMmap { get; init; }

    /// <summary>
    /// Return no ring fd at all, only an index in the creating thread's registered-ring table
    /// (<see cref="SetupFlags.RegisteredFdOnly"/>, 6.5; requires <see cref="NoMmap"/>). The ring can then be used only
    /// from the creating thread, <see cref="Ring.Fd"/> is -1, and it cannot be a <see cref="AttachWorkQueueOf"/> or
    /// message target by fd. Saves a file descriptor per ring and every fd lookup.
    /// </summary>
    public bool RegisteredFdOnly { get; init; }

    /// <summary>
    /// Further raw flags OR-ed into the setup flags. The flags that have their own option (<see cref="SetupFlags.NoMmap"/>,
    /// <see cref="SetupFlags.RegisteredFdOnly"/>, <see cref="SetupFlags.RDisabled"/>) are refused here: set
    /// <see cref="NoMmap"/>, <see cref="RegisteredFdOnly"/> or <see cref="StartDisabled"/>, which the library then drives.
    /// </summary>
    public SetupFlags ExtraFlags { get; init; }

    /// <summary>Setup flags that need library support and therefore have their own option.</summary>
    private const SetupFlags OwnOption = SetupFlags.NoMmap | SetupFlags.RegisteredFdOnly | SetupFlags.RDisabled;

    internal SetupFlags ToFlags()
    {
        if ((ExtraFlags & OwnOption) != 0)
        {
            throw new ArgumentException(
                $"RingOptions.ExtraFlags contains {ExtraFlags & OwnOption}: set RingOptions.NoMmap, RegisteredFdOnly or StartDisabled instead, so that the library maps, names and enables the ring accordingly.",
                nameof(ExtraFlags));
        }

        if (RegisteredFdOnly && !NoMmap)
        {
            throw new ArgumentException("RingOptions.RegisteredFdOnly requires RingOptions.NoMmap: without an fd the rings cannot be mmap'd.", nameof(RegisteredFdOnly));
        }

        SetupFlags f = ExtraFlags;
        if (StartDisabled)
        {
            f |= SetupFlags.RDisabled;
        }

        if (NoMmap)
        {
            f |= SetupFlags.NoMmap;
        }

        if (RegisteredFdOnly)
        {
            f |= SetupFlags.RegisteredFdOnly;
        }

        if (CqEntries != 0)
        {
            f |= SetupFlags.CqSize;
        }

        if (Clamp)
        {
            f |= SetupFlags.Clamp;
        }

        if (SqPoll)
        {
            f |= SetupFlags.SqPoll;
            if (SqPollCpu is not null)
            {
                f |= SetupFlags.SqAff;
            }
        }

        if (SubmitAll)
        {
            f |= SetupFlags.SubmitAll;
        }

        if (CoopTaskRun)
        {
            f |= SetupFlags.CoopTaskRun;
        }

        if (TaskRunFlag)
        {
            f |= SetupFlags.TaskRunFlag;
        }

        if (SingleIssuer)
        {
            f |= SetupFlags.SingleIssuer;
        }

        if (DeferTaskRun)
        {
            f |= SetupFlags.DeferTaskRun | SetupFlags.TaskRunFlag | SetupFlags.SingleIssuer;
        }

        if (NoSqArray)
        {
            f |= SetupFlags.NoSqArray;
        }

        if (Sqe128)
        {
            f |= SetupFlags.Sqe128;
        }

        if (Cqe32)
        {
            f |= SetupFlags.Cqe32;
        }

        if (IoPoll)
        {
            f |= SetupFlags.IoPoll;
        }

        if (AttachWorkQueueOf is not null)
        {
            f |= SetupFlags.AttachWq;
        }

        return f;
    }
}
