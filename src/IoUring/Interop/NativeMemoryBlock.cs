using System.Buffers;
using System.Runtime.InteropServices;

namespace IoUring.Interop;

/// <summary>
/// Zeroed native memory at a requested alignment with a <see cref="MemoryManager{T}"/> view. The GC never moves it,
/// so the kernel may read and write it asynchronously; it is freed only by <see cref="Free"/>.
/// </summary>
internal sealed unsafe class NativeMemoryBlock : MemoryManager<byte>
{
    /// <summary>The bit of <see cref="_state"/> set by <see cref="Free"/>; the bits below it count references.</summary>
    private const int FreeRequested = 1 << 30;

    /// <summary>
    /// Blocks of at least this many bytes are anonymous private mappings: page-aligned, and zero-filled by the kernel
    /// a page at a time where they are first touched, so making one costs neither time nor memory up front. (Zeroing
    /// a 2 GiB receive buffer ring with <see cref="NativeMemory.Clear"/> took the engine's loop thread seconds, and
    /// more than 30 s on a loaded machine, while every other request of the engine waited.)
    /// </summary>
    internal const int MapThreshold = 1 << 20;

    private byte* _pointer;
    private readonly int _length;

    /// <summary>True when the block is an anonymous mapping (freed with munmap), false when it came from the allocator.</summary>
    private readonly bool _mapped;

    /// <summary>References (pins, requests in flight) in the low bits, and <see cref="FreeRequested"/>.</summary>
    private int _state;

    /// <summary>The public type that owns the block, named by <see cref="ObjectDisposedException"/> once it is freed.</summary>
    private readonly Type _owner;

    public NativeMemoryBlock(int length, int alignment, Type owner)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        _length = length;
        _owner = owner;
        if (length >= MapThreshold && alignment <= Libc.PageSize)
        {
            // SAFETY: a fresh anonymous private mapping of length bytes: page-aligned (so at any alignment up to a page),
            // reading as zeros until written, unmapped once in FreeNow with the same length.
            nint p = Libc.Mmap((nuint)length, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS, -1, 0, out int errno);
            if (p == 0)
            {
                throw new OutOfMemoryException($"mmap of {length} bytes for {owner.Name} failed (errno {errno}).");
            }

            _pointer = (byte*)p;
            _mapped = true;
            return;
        }

        // SAFETY: a fresh allocation of length bytes at the given power-of-two alignment, zeroed, freed once in FreeNow.
        _pointer = (byte*)NativeMemory.AlignedAlloc((nuint)length, (nuint)alignment);
        NativeMemory.Clear(_pointer, (nuint)length);
    }

    public nint Address => (nint)_pointer;

    public int Length => _length;

    /// <summary>True once <see cref="Free"/> was called (the memory itself may live on until the last reference goes).</summary>
    public bool IsFreed => (Volatile.Read(ref _state) & FreeRequested) != 0;

    /// <summary>True once the memory was given back to the allocator.</summary>
    public bool IsReleased => Volatile.Read(ref _state) == FreeRequested && _pointer == null;

    /// <summary>References held now (pins and requests in flight).</summary>
    public int References => Volatile.Read(ref _state) & (FreeRequested - 1);

    public override Span<byte> GetSpan()
    {
        ObjectDisposedException.ThrowIf(IsFreed, _owner);
        // SAFETY: the pointer is live (not freed: checked) and the span covers exactly the allocation.
        return new Span<byte>(_pointer, _length);
    }

    /// <summary>Pins: the memory is not released before the handle is disposed, even if <see cref="Free"/> comes first.</summary>
    public override MemoryHandle Pin(int elementIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)elementIndex, (uint)_length, nameof(elementIndex));
        AddRef();
        // SAFETY: native memory never moves and is not released while the reference taken above is held; the handle
        // carries the address inside the allocation and calls Unpin (which drops the reference) when disposed.
        return new MemoryHandle(_pointer + elementIndex, default, this);
    }

    public override void Unpin() => Release();

    /// <summary>Takes a reference (a request in flight uses the memory). Throws once <see cref="Free"/> was called.</summary>
    public void AddRef()
    {
        while (true)
        {
            int s = Volatile.Read(ref _state);
            ObjectDisposedException.ThrowIf((s & FreeRequested) != 0, _owner);
            if (Interlocked.CompareExchange(ref _state, s + 1, s) == s)
            {
                return;
            }
        }
    }

    /// <summary>Drops a reference; the last one after <see cref="Free"/> releases the memory.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _state) == FreeRequested)
        {
            FreeNow();
        }
    }

    /// <summary>Frees the memory now, or when the last reference is dropped if requests still use it.</summary>
    public void Free()
    {
        int before = Interlocked.Or(ref _state, FreeRequested);
        if (before == 0)
        {
            FreeNow();
        }
    }

    private void FreeNow()
    {
        // SAFETY: mapped by Mmap or allocated by AlignedAlloc (as _mapped says), with _length bytes; reached exactly
        // once (the transition to "free requested, no reference" happens once: no reference can be taken after Free),
        // and nulled so nothing can use it afterwards.
        byte* p = _pointer;
        _pointer = null;
        if (_mapped)
        {
            _ = Libc.Munmap((nint)p, (nuint)_length);
        }
        else
        {
            NativeMemory.AlignedFree(p);
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
