using System.Runtime.InteropServices;

namespace IoUring;

/// <summary><c>EPOLL_CTL_*</c>: what an <see cref="Opcode.EpollCtl"/> does.</summary>
public enum EpollOp
{
    /// <summary><c>EPOLL_CTL_ADD</c>: watch a descriptor.</summary>
    Add = 1,
    /// <summary><c>EPOLL_CTL_DEL</c>: stop watching it.</summary>
    Delete = 2,
    /// <summary><c>EPOLL_CTL_MOD</c>: change its events or data.</summary>
    Modify = 3,
}

/// <summary><c>EPOLL*</c> event bits of <c>struct epoll_event</c>.</summary>
[Flags]
public enum EpollEvents : uint
{
    /// <summary>No events.</summary>
    None = 0,
    /// <summary><c>EPOLLIN</c>: readable.</summary>
    In = 0x001,
    /// <summary><c>EPOLLPRI</c>: urgent data.</summary>
    Pri = 0x002,
    /// <summary><c>EPOLLOUT</c>: writable.</summary>
    Out = 0x004,
    /// <summary><c>EPOLLERR</c>: error (always reported).</summary>
    Err = 0x008,
    /// <summary><c>EPOLLHUP</c>: hang-up (always reported).</summary>
    Hup = 0x010,
    /// <summary><c>EPOLLRDHUP</c>: the peer shut down its writing half.</summary>
    RdHup = 0x2000,
    /// <summary><c>EPOLLEXCLUSIVE</c>: wake one waiter only.</summary>
    Exclusive = 1u << 28,
    /// <summary><c>EPOLLWAKEUP</c>.</summary>
    WakeUp = 1u << 29,
    /// <summary><c>EPOLLONESHOT</c>: disarm after one event.</summary>
    OneShot = 1u << 30,
    /// <summary><c>EPOLLET</c>: edge-triggered.</summary>
    EdgeTriggered = 1u << 31,
}

/// <summary>
/// <c>struct epoll_event</c> as x86-64 lays it out: packed, 12 bytes (other 64-bit architectures use 16, with the data
/// 8-aligned; <see cref="EpollAbi"/> handles both).
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
internal struct EpollEventPacked
{
    public EpollEvents Events;
    public ulong Data;
}

/// <summary>
/// The architecture-dependent <c>struct epoll_event</c>: its size (12 bytes on x86-64, where the kernel declares it
/// packed, 16 elsewhere) and where its 64-bit data sits.
/// </summary>
internal static class EpollAbi
{
    /// <summary><c>sizeof(struct epoll_event)</c> on this process's architecture.</summary>
    public static readonly int EventSize = RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86 ? 12 : 16;

    /// <summary>Offset of <c>data</c>.</summary>
    public static int DataOffset => EventSize - 8;

    /// <summary>Writes one event into <paramref name="destination"/> (at least <see cref="EventSize"/> bytes).</summary>
    public static void Write(Span<byte> destination, EpollEvents events, ulong data)
    {
        destination[..EventSize].Clear();
        MemoryMarshal.Write(destination, (uint)events);
        MemoryMarshal.Write(destination[DataOffset..], data);
    }

    /// <summary>Reads one event from <paramref name="source"/>.</summary>
    public static (EpollEvents Events, ulong Data) Read(ReadOnlySpan<byte> source) =>
        ((EpollEvents)MemoryMarshal.Read<uint>(source), MemoryMarshal.Read<ulong>(source[DataOffset..]));
}

/// <summary>An <c>epoll_event</c> passed to <c>epoll_ctl</c>, 16 bytes so that it fits either layout; see <see cref="EpollAbi"/>.</summary>
[StructLayout(LayoutKind.Sequential, Size = 16)]
internal struct EpollEventArg
{
    public ulong Low;
    public ulong High;

    public static EpollEventArg Create(EpollEvents events, ulong data)
    {
        EpollEventArg arg = default;
        EpollAbi.Write(MemoryMarshal.AsBytes(new Span<EpollEventArg>(ref arg)), events, data);
        return arg;
    }
}
