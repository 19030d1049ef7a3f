using System.Runtime.InteropServices;

namespace IoUring;

/// <summary><c>struct msghdr</c> of the C library, for <see cref="Opcode.SendMsg"/> and <see cref="Opcode.RecvMsg"/>.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct MsgHdr
{
    /// <summary><c>msg_name</c>: socket address, or 0.</summary>
    public nint Name;
    /// <summary><c>msg_namelen</c>.</summary>
    public uint NameLength;
    /// <summary><c>msg_iov</c>: pointer to an <see cref="IoVec"/> array.</summary>
    public nint Iov;
    /// <summary><c>msg_iovlen</c>.</summary>
    public nuint IovLength;
    /// <summary><c>msg_control</c>: ancillary data, or 0.</summary>
    public nint Control;
    /// <summary><c>msg_controllen</c>.</summary>
    public nuint ControlLength;
    /// <summary><c>msg_flags</c>: flags of the received message.</summary>
    public int Flags;
}
