using System.Runtime.InteropServices;

namespace IoUring;

/// <summary>
/// <c>siginfo_t</c> as <c>waitid(2)</c> fills it (128 bytes) for <see cref="Sqe.PrepWaitId"/>: who changed state and how.
/// The offsets are those of the <c>SIGCHLD</c> member of the union on 64-bit Linux.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
public struct WaitIdInfo
{
    /// <summary>Size in bytes.</summary>
    public const int Size = 128;

    /// <summary><c>si_signo</c>: <c>SIGCHLD</c> (17) once a child changed state; 0 when <c>WNOHANG</c> found none.</summary>
    [FieldOffset(0)] public int Signal;

    /// <summary><c>si_errno</c>.</summary>
    [FieldOffset(4)] public int Errno;

    /// <summary><c>si_code</c>: how the child changed state.</summary>
    [FieldOffset(8)] public WaitIdCode Code;

    /// <summary><c>si_pid</c>: the child's process id.</summary>
    [FieldOffset(16)] public int ProcessId;

    /// <summary><c>si_uid</c>: the child's real user id.</summary>
    [FieldOffset(20)] public uint UserId;

    /// <summary><c>si_status</c>: the exit status (<see cref="WaitIdCode.Exited"/>) or the signal number.</summary>
    [FieldOffset(24)] public int Status;
}

/// <summary><c>CLD_*</c>: the <c>si_code</c> of a child's state change.</summary>
public enum WaitIdCode
{
    /// <summary>No state change was reported (a <c>WNOHANG</c> wait with nothing ready).</summary>
    None = 0,
    /// <summary><c>CLD_EXITED</c>: the child called <c>exit</c>; <see cref="WaitIdInfo.Status"/> is its exit code.</summary>
    Exited = 1,
    /// <summary><c>CLD_KILLED</c>: a signal killed the child.</summary>
    Killed = 2,
    /// <summary><c>CLD_DUMPED</c>: a signal killed the child and it dumped core.</summary>
    Dumped = 3,
    /// <summary><c>CLD_TRAPPED</c>: a traced child trapped.</summary>
    Trapped = 4,
    /// <summary><c>CLD_STOPPED</c>: the child stopped.</summary>
    Stopped = 5,
    /// <summary><c>CLD_CONTINUED</c>: a stopped child continued.</summary>
    Continued = 6,
}

/// <summary><c>idtype_t</c>: which children a <see cref="Sqe.PrepWaitId"/> waits for.</summary>
public enum WaitIdType
{
    /// <summary><c>P_ALL</c>: any child.</summary>
    All = 0,
    /// <summary><c>P_PID</c>: the child whose process id is the id argument.</summary>
    Pid = 1,
    /// <summary><c>P_PGID</c>: any child in the process group of the id argument.</summary>
    ProcessGroup = 2,
    /// <summary><c>P_PIDFD</c>: the child the pidfd in the id argument refers to (5.4).</summary>
    PidFd = 3,
}

/// <summary><c>W*</c> options of <c>waitid(2)</c>.</summary>
[Flags]
public enum WaitIdOptions
{
    /// <summary>No option (the kernel then refuses the wait: name at least one state change).</summary>
    None = 0,
    /// <summary><c>WNOHANG</c>: complete at once when no child has changed state.</summary>
    NoHang = 1,
    /// <summary><c>WSTOPPED</c>: report children stopped by a signal.</summary>
    Stopped = 2,
    /// <summary><c>WEXITED</c>: report children that exited.</summary>
    Exited = 4,
    /// <summary><c>WCONTINUED</c>: report stopped children that continued.</summary>
    Continued = 8,
    /// <summary><c>WNOWAIT</c>: leave the child waitable (do not reap it).</summary>
    NoWait = 0x01000000,
}
