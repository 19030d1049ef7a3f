using System.Runtime.InteropServices;

namespace IoUring.Interop;

/// <summary>
/// Native memory with one 32-byte slot per SQ entry, for arguments the kernel reads at submission (timespecs,
/// <c>open_how</c>). A slot is reused only when its SQE slot is, i.e. after the kernel consumed the SQE, and with
/// <see cref="RingFeatures.SubmitStable"/> (every kernel since 5.5) the kernel has copied the argument by then.
/// </summary>
internal sealed unsafe class SubmitScratch : IDisposable
{
    public const int SlotSize = 32;
    private readonly uint _mask;
    private byte* _memory;

    public SubmitScratch(uint entries)
    {
        _mask = entries - 1;
        // SAFETY: a fresh zeroed allocation of entries * SlotSize bytes, freed once in Dispose.
        _memory = (byte*)NativeMemory.AlignedAlloc((nuint)entries * SlotSize, 64);
        NativeMemory.Clear(_memory, (nuint)entries * SlotSize);
    }

    /// <summary>Stores <paramref name="value"/> in the slot of SQE index <paramref name="sqeIndex"/> and returns its address.</summary>
    public nint Store<T>(uint sqeIndex, in T value)
        where T : unmanaged
    {
        if (sizeof(T) > SlotSize)
        {
            throw new ArgumentException($"{typeof(T).Name} does not fit a scratch slot.", nameof(value));
        }

        ObjectDisposedException.ThrowIf(_memory == null, this);
        // SAFETY: the slot index is masked to the allocation and T fits in SlotSize bytes (checked above).
        byte* slot = _memory + ((sqeIndex & _mask) * SlotSize);
        *(T*)slot = value;
        return (nint)slot;
    }

    public void Dispose()
    {
        if (_memory != null)
        {
            // SAFETY: allocated by AlignedAlloc in the constructor; set to null so it is freed once.
            NativeMemory.AlignedFree(_memory);
            _memory = null;
        }
    }
}
