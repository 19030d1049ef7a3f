using System.Buffers;
using System.Runtime.InteropServices;

namespace IoUring.Interop;

/// <summary>
/// Page-aligned native memory with a <see cref="MemoryManager{T}"/> view. The GC never moves it, so the kernel
/// may read and write it asynchronously; it is freed only by <see cref="Free"/>.
/// </summary>
internal sealed unsafe class NativeMemoryBlock : MemoryManager<byte>
{
    private byte* _pointer;
    private readonly int _length;

    /// <summary>The public type that owns the block, named by <see cref="ObjectDisposedException"/> once it is freed.</summary>
    private readonly Type _owner;

    public NativeMemoryBlock(int length, int alignment, Type owner)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        _length = length;
        _owner = owner;
        // SAFETY: a fresh allocation of length bytes at the given power-of-two alignment, zeroed, freed once in Free.
        _pointer = (byte*)NativeMemory.AlignedAlloc((nuint)length, (nuint)alignment);
        NativeMemory.Clear(_pointer, (nuint)length);
    }

    public nint Address => (nint)_pointer;

    public int Length => _length;

    public bool IsFreed => _pointer == null;

    public override Span<byte> GetSpan()
    {
        ObjectDisposedException.ThrowIf(_pointer == null, _owner);
        // SAFETY: the pointer is live (checked) and the span covers exactly the allocation.
        return new Span<byte>(_pointer, _length);
    }

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        ObjectDisposedException.ThrowIf(_pointer == null, _owner);
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)elementIndex, (uint)_length, nameof(elementIndex));
        // SAFETY: native memory never moves; the handle only carries the address, inside the allocation.
        return new MemoryHandle(_pointer + elementIndex);
    }

    public override void Unpin()
    {
    }

    public void Free()
    {
        if (_pointer != null)
        {
            // SAFETY: allocated by AlignedAlloc; nulled so it is freed once.
            NativeMemory.AlignedFree(_pointer);
            _pointer = null;
        }
    }

    protected override void Dispose(bool disposing) => Free();
}

/// <summary>Addresses of pinned memory, for filling SQE address fields.</summary>
internal static unsafe class Addresses
{
    /// <summary>The address a <see cref="MemoryHandle"/> pins.</summary>
    public static nint Of(in MemoryHandle handle)
    {
        // SAFETY: reading the pointer value only; the caller keeps the handle alive for as long as the kernel uses it.
        return (nint)handle.Pointer;
    }

    /// <summary>A <see cref="MemoryHandle"/> for native memory at <paramref name="address"/> whose disposal calls <paramref name="pinnable"/>'s <c>Unpin</c>.</summary>
    public static MemoryHandle Handle(nint address, IPinnable pinnable)
    {
        // SAFETY: the address is native memory that never moves (the caller's NativeMemoryBlock), valid for as long as
        // the pinnable keeps it from being freed; the handle only carries the pointer and the Unpin callback.
        return new MemoryHandle((void*)address, default, pinnable);
    }
}
