namespace IoUring;

/// <summary><c>IORING_ENTER_*</c>: flags of <c>io_uring_enter(2)</c>.</summary>
[Flags]
public enum EnterFlags : uint
{
    /// <summary>No flags.</summary>
    None = 0,
    /// <summary>Wait for <c>min_complete</c> completions.</summary>
    GetEvents = 1u << 0,
    /// <summary>Wake the SQPOLL thread.</summary>
    SqWakeup = 1u << 1,
    /// <summary>Wait for SQ space (SQPOLL).</summary>
    SqWait = 1u << 2,
    /// <summary>The argument is an <c>io_uring_getevents_arg</c> (5.11).</summary>
    ExtArg = 1u << 3,
    /// <summary>The fd argument is an index of a registered ring fd (5.18).</summary>
    RegisteredRing = 1u << 4,
    /// <summary>The timeout is absolute (6.12).</summary>
    AbsTimer = 1u << 5,
    /// <summary>The extended argument is a registered wait region offset (6.13).</summary>
    ExtArgReg = 1u << 6,
    /// <summary>Do not account the wait as iowait (6.15).</summary>
    NoIoWait = 1u << 7,
}
