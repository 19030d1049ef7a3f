using System.Runtime.InteropServices;

namespace IoUring.Interop;

/// <summary>
/// The three io_uring system calls, made through the C library's <c>syscall(2)</c> so that no liburing is needed.
/// Every method returns the kernel's convention: a non-negative result, or <c>-errno</c>.
/// </summary>
internal static unsafe partial class Syscalls
{
    private const string Libc = "libc";

    // asm-generic syscall numbers: identical on x86_64, arm64 and every architecture added after 5.1's table unification.
    private const long SysIoUringSetup = 425;
    private const long SysIoUringEnter = 426;
    private const long SysIoUringRegister = 427;

    [LibraryImport(Libc, EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall3(long number, nint a1, nint a2, nint a3);

    [LibraryImport(Libc, EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall6(long number, nint a1, nint a2, nint a3, nint a4, nint a5, nint a6);

    private static int Result(long ret) => ret < 0 ? -Marshal.GetLastPInvokeError() : (int)ret;

    /// <summary><c>io_uring_setup(entries, params)</c>: returns the ring fd or <c>-errno</c>.</summary>
    public static int Setup(uint entries, IoUringParams* p) =>
        Result(Syscall3(SysIoUringSetup, (nint)entries, (nint)p, 0));

    /// <summary><c>io_uring_enter(fd, to_submit, min_complete, flags, arg, argsz)</c>.</summary>
    public static int Enter(int fd, uint toSubmit, uint minComplete, EnterFlags flags, void* arg, nuint argSize)
    {
        if (SyscallFaults.Injector is { } inject && inject(SyscallKind.Enter, fd, (uint)flags) is int injected and < 0)
        {
            return injected;
        }

        return Result(Syscall6(SysIoUringEnter, fd, (nint)toSubmit, (nint)minComplete, (nint)(uint)flags, (nint)arg, (nint)argSize));
    }

    /// <summary><c>io_uring_register(fd, opcode, arg, nr_args)</c>.</summary>
    public static int Register(int fd, RegisterOpcode opcode, void* arg, uint nrArgs)
    {
        if (SyscallFaults.Injector is { } inject && inject(SyscallKind.Register, fd, (uint)opcode) is int injected and < 0)
        {
            return injected;
        }

        return Result(Syscall6(SysIoUringRegister, fd, (nint)(uint)opcode, (nint)arg, (nint)nrArgs, 0, 0));
    }

    /// <summary>Setup with the params in a managed ref (copied in and out by the kernel during the call).</summary>
    public static int Setup(uint entries, ref IoUringParams p)
    {
        // SAFETY: p is pinned by fixed for the synchronous call; the kernel reads and writes exactly sizeof(io_uring_params).
        fixed (IoUringParams* pp = &p)
        {
            return Setup(entries, pp);
        }
    }

    /// <summary><c>io_uring_enter</c> without an argument.</summary>
    public static int Enter(int fd, uint toSubmit, uint minComplete, EnterFlags flags) =>
        Enter(fd, toSubmit, minComplete, flags, null, 0);

    /// <summary><c>io_uring_enter</c> with <c>IORING_ENTER_EXT_ARG</c> and a relative timeout.</summary>
    public static int EnterWithTimeout(int fd, uint toSubmit, uint minComplete, EnterFlags flags, KernelTimespec timeout)
    {
        GeteventsArg arg = default;
        // SAFETY: arg and timeout are locals of this frame; the kernel copies both during the synchronous call.
        arg.Ts = (ulong)&timeout;
        return Enter(fd, toSubmit, minComplete, flags | EnterFlags.ExtArg, &arg, (nuint)sizeof(GeteventsArg));
    }

    /// <summary>
    /// <c>io_uring_enter</c> with <c>IORING_ENTER_EXT_ARG</c>: an optional timeout (absolute with
    /// <see cref="EnterFlags.AbsTimer"/>) and a minimum wait in microseconds (<c>min_wait_usec</c>, 6.12).
    /// </summary>
    public static int EnterWithArgs(int fd, uint toSubmit, uint minComplete, EnterFlags flags, KernelTimespec? timeout, uint minWaitUsec)
    {
        GeteventsArg arg = default;
        KernelTimespec ts = timeout.GetValueOrDefault();
        // SAFETY: arg and ts are locals of this frame; the kernel copies both during the synchronous call.
        arg.Ts = timeout.HasValue ? (ulong)&ts : 0;
        arg.MinWaitUsec = minWaitUsec;
        return Enter(fd, toSubmit, minComplete, flags | EnterFlags.ExtArg, &arg, (nuint)sizeof(GeteventsArg));
    }

    /// <summary>
    /// <c>io_uring_enter</c> with <c>IORING_ENTER_EXT_ARG_REG</c> (6.13): the argument is the byte offset of an
    /// <c>io_uring_reg_wait</c> inside the ring's registered wait region.
    /// </summary>
    public static int EnterRegisteredWait(int fd, uint toSubmit, uint minComplete, EnterFlags flags, nuint offset) =>
        Enter(fd, toSubmit, minComplete, flags | EnterFlags.ExtArg | EnterFlags.ExtArgReg, (void*)offset, (nuint)sizeof(RegWait));
}
