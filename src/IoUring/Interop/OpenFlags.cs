using System.Runtime.InteropServices;

namespace IoUring.Interop;

/// <summary><c>open(2)</c> flags (<c>asm-generic/fcntl.h</c>) and the <c>posix_fadvise</c> advice the library uses.</summary>
internal static class OpenFlags
{
    public const int ORdOnly = 0;
    public const int OWrOnly = 1;
    public const int ORdWr = 2;
    public const int OCreat = 0x40;
    public const int OExcl = 0x80;
    public const int OTrunc = 0x200;
    public const int OSync = 0x101000;
    public const int PosixFadvSequential = 2;

    /// <summary><c>O_DIRECT</c>: 0x4000 on x86 and most architectures, 0x10000 on ARM.</summary>
    public static int ODirect => RuntimeInformation.ProcessArchitecture is Architecture.Arm or Architecture.Arm64 ? 0x10000 : 0x4000;
}
