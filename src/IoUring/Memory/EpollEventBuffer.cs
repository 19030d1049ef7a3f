using IoUring.Interop;

namespace IoUring;

/// <summary>
/// Native memory for the events an <see cref="Opcode.EpollWait"/> returns (<see cref="Sqe.PrepEpollWait(int, EpollEventBuffer)"/>),
/// laid out as this architecture's <c>struct epoll_event</c> (12 bytes each on x86-64, 16 elsewhere).
/// </summary>
public sealed class EpollEventBuffer : IDisposable
{
    private readonly NativeMemoryBlock _memory;

    /// <summary>Allocates room for <paramref name="capacity"/> events.</summary>
    /// <param name="capacity">1 or more.</param>
    public EpollEventBuffer(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        Capacity = capacity;
        _memory = new NativeMemoryBlock(checked(capacity * EpollAbi.EventSize), 16, typeof(EpollEventBuffer));
    }

    /// <summary>How many events fit.</summary>
    public int Capacity { get; }

    /// <summary>The address to pass to the kernel.</summary>
    public nint Address => _memory.IsFreed ? throw new ObjectDisposedException(nameof(EpollEventBuffer)) : _memory.Address;

    /// <summary>Event <paramref name="index"/> as the kernel wrote it: the ready events and the data given at <see cref="EpollOp.Add"/>.</summary>
    /// <param name="index">0 to the CQE result - 1.</param>
    /// <returns>The events and the user data.</returns>
    public (EpollEvents Events, ulong Data) Get(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Capacity, nameof(index));
        return EpollAbi.Read(_memory.GetSpan()[(index * EpollAbi.EventSize)..]);
    }

    /// <summary>Frees the memory; do not dispose it while a wait that uses it is in flight.</summary>
    public void Dispose() => _memory.Free();
}
