using System.Runtime.InteropServices;

namespace IoUring;

/// <summary><c>struct open_how</c>: the argument of <c>openat2</c> (24 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct OpenHow
{
    /// <summary><c>flags</c>: <c>O_*</c>.</summary>
    public ulong Flags;
    /// <summary><c>mode</c>: permission bits for a created file.</summary>
    public ulong Mode;
    /// <summary><c>resolve</c>: <c>RESOLVE_*</c>.</summary>
    public ulong Resolve;
}
