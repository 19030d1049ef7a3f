namespace IoUring.Interop;

/// <summary>Which io_uring system call a <see cref="SyscallFaults"/> injector is asked about.</summary>
internal enum SyscallKind
{
    /// <summary><c>io_uring_enter</c>; the argument is the <see cref="EnterFlags"/>.</summary>
    Enter,

    /// <summary><c>io_uring_register</c>; the argument is the <see cref="RegisterOpcode"/>.</summary>
    Register,
}

/// <summary>
/// Decides whether one io_uring system call fails: returns 0 to make the real call, or a negative errno to return
/// instead of making it.
/// </summary>
/// <param name="call">The system call.</param>
/// <param name="ringFd">The ring's descriptor (or its registered index with <c>IORING_ENTER_REGISTERED_RING</c>).</param>
/// <param name="argument">The enter flags or the register opcode.</param>
internal delegate int SyscallFaultInjector(SyscallKind call, int ringFd, uint argument);

/// <summary>
/// Fault injection for the tests (internal; nothing public reaches it): while <see cref="Injector"/> is set, every
/// <c>io_uring_enter</c> and <c>io_uring_register</c> asks it first, and an injected errno is returned as if the
/// kernel had refused the call at entry, before doing anything (nothing submitted, waited for or registered), which
/// is how the kernel reports EINTR, EAGAIN, EBUSY, ENOMEM and EFAULT from these calls. The error paths of the Ring,
/// the registration calls and the engine's loop run this way against a real kernel. Unset (always, outside tests)
/// it costs one static read per system call.
/// </summary>
internal static class SyscallFaults
{
    private static SyscallFaultInjector? s_injector;

    /// <summary>The installed injector, or null.</summary>
    public static SyscallFaultInjector? Injector
    {
        get => Volatile.Read(ref s_injector);
        set => Volatile.Write(ref s_injector, value);
    }
}
