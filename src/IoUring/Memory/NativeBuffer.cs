using IoUring.Interop;

namespace IoUring;

/// <summary>
/// A buffer in native memory, aligned to a page by default (what <c>O_DIRECT</c> needs). The GC never moves it,
/// so it can be handed to the kernel across submission and completion. Free it with <see cref="Dispose"/> only
/// after every request that uses it has completed.
/// </summary>
public sealed class NativeBuffer : IDisposable
{
    private readonly NativeMemoryBlock _block;

    /// <summary>Allocates <paramref name="length"/> zeroed bytes.</summary>
    /// <param name="length">Size in bytes, greater than 0.</param>
    /// <param name="alignment">A power of two; default the page size.</param>
    /// <exception cref="ArgumentOutOfRangeException">Length is not positive, or alignment is not a power of two.</exception>
    public NativeBuffer(int length, int alignment = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        if (alignment == 0)
        {
            alignment = Libc.PageSize;
        }

        if (alignment < 0 || (alignment & (alignment - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(alignment), alignment, "Alignment must be a power of two.");
        }

        _block = new NativeMemoryBlock(length, alignment, typeof(NativeBuffer));
    }

    /// <summary>The buffer's address, for SQE fields.</summary>
    /// <exception cref="ObjectDisposedException">The buffer was freed.</exception>
    public nint Address
    {
        get
        {
            ObjectDisposedException.ThrowIf(_block.IsFreed, this);
            return _block.Address;
        }
    }

    /// <summary>The size in bytes.</summary>
    public int Length => _block.Length;

    /// <summary>The bytes as a span.</summary>
    public Span<byte> Span => _block.GetSpan();

    /// <summary>The bytes as <see cref="Memory{T}"/> (whose <c>Pin</c> costs nothing: the memory never moves).</summary>
    public Memory<byte> Memory => _block.Memory;

    /// <summary>True once freed.</summary>
    public bool IsDisposed => _block.IsFreed;

    /// <summary>Frees the memory. The kernel must no longer use it.</summary>
    public void Dispose() => _block.Free();
}
