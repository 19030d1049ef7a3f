namespace IoUring;

/// <summary>Why <c>io_uring_setup(2)</c> failed, in plain terms.</summary>
public enum SetupFailureReason
{
    /// <summary>Setup did not fail.</summary>
    None = 0,
    /// <summary><c>/proc/sys/kernel/io_uring_disabled</c> is 2: io_uring is off for every process.</summary>
    DisabledBySysctl,
    /// <summary><c>/proc/sys/kernel/io_uring_disabled</c> is 1 and this process is neither privileged nor in <c>kernel.io_uring_group</c>.</summary>
    DisabledForUnprivileged,
    /// <summary>A seccomp filter (typical of containers) denied the system call.</summary>
    BlockedBySeccomp,
    /// <summary>A security module (SELinux, AppArmor) or a missing capability denied it.</summary>
    PermissionDenied,
    /// <summary>The kernel has no io_uring: older than 5.1, or built without <c>CONFIG_IO_URING</c>.</summary>
    NotSupportedByKernel,
    /// <summary>Not enough memory for the rings: <c>RLIMIT_MEMLOCK</c> or the memory cgroup limit.</summary>
    MemoryLimit,
    /// <summary>The process or system is out of file descriptors.</summary>
    TooManyOpenFiles,
    /// <summary>The kernel rejected the entries or setup flags (too many entries, or a flag this kernel lacks).</summary>
    InvalidArguments,
    /// <summary>Some other errno; see the exception's <see cref="IoUringException.Errno"/>.</summary>
    Other,
    /// <summary>
    /// The environment variable <c>IOURING_DISABLE</c> (<see cref="IoUringSupport.DisableVariable"/>) turned io_uring
    /// off for this process: no ring was tried (<see cref="IoUringException.Errno"/> is 0).
    /// </summary>
    DisabledByEnvironment,
}
