using IoUring.Interop;

namespace IoUring;

/// <summary>
/// Whether io_uring is usable in this process and, if not, why: the <c>io_uring_disabled</c> sysctl, seccomp,
/// the kernel version, and the errno of a trial setup.
/// </summary>
public static partial class IoUringSupport
{
    private static readonly Lazy<IoUringAvailability> s_cached = new(Check);

    /// <summary>The result of <see cref="Check"/>, computed once per process.</summary>
    public static IoUringAvailability Current => s_cached.Value;

    /// <summary>True when a ring can be created in this process (cached).</summary>
    public static bool IsAvailable => Current.IsAvailable;

    /// <summary>Creates and disposes a small ring and reports what happened. Never throws for an unavailable kernel.</summary>
    /// <returns>The availability report.</returns>
    public static IoUringAvailability Check()
    {
        int? sysctl = ReadDisabledSysctl();
        int? seccomp = ReadSeccompMode();
        string release = KernelRelease();
        if (!OperatingSystem.IsLinux())
        {
            return new IoUringAvailability(false, SetupFailureReason.NotSupportedByKernel, Errno.ENOSYS,
                "io_uring exists only on Linux.", sysctl, seccomp, release, RingFeatures.None, 0);
        }

        try
        {
            using var ring = new Ring(2, new RingOptions { RegisterRingFd = false });
            byte lastOp = 0;
            try
            {
                lastOp = ring.GetProbe().LastOp;
            }
            catch (IoUringException)
            {
                // 5.1-5.5 have rings but no IORING_REGISTER_PROBE: io_uring is still available.
            }

            return new IoUringAvailability(true, SetupFailureReason.None, 0, "io_uring is available.", sysctl, seccomp, release, ring.Features, lastOp);
        }
        catch (IoUringSetupException e)
        {
            return new IoUringAvailability(false, e.Reason, e.Errno, e.Message, sysctl, seccomp, release, RingFeatures.None, 0);
        }
    }
}

/// <summary>The outcome of <see cref="IoUringSupport.Check"/>.</summary>
/// <param name="IsAvailable">True when a ring could be created.</param>
/// <param name="Reason">Why not, when it could not.</param>
/// <param name="Errno">The setup errno, or 0.</param>
/// <param name="Message">A readable explanation.</param>
/// <param name="DisabledSysctl">The value of <c>/proc/sys/kernel/io_uring_disabled</c>, or null when absent.</param>
/// <param name="SeccompMode">The process's seccomp mode, or null when unknown.</param>
/// <param name="KernelRelease">The kernel release.</param>
/// <param name="Features">The features a trial ring reported.</param>
/// <param name="LastOpcode">The highest opcode the kernel knows (<c>probe.last_op</c>).</param>
public sealed record IoUringAvailability(
    bool IsAvailable,
    SetupFailureReason Reason,
    int Errno,
    string Message,
    int? DisabledSysctl,
    int? SeccompMode,
    string KernelRelease,
    RingFeatures Features,
    byte LastOpcode);
