using IoUring.Interop;

namespace IoUring;

/// <summary>
/// A buffer in native memory, aligned to a page by default (what <c>O_DIRECT</c> needs). The GC never moves it,
/// so it can be handed to the kernel across submission and completion.
/// </summary>
/// <remarks>
/// <para><b>Disposing it while a request uses it is safe: the memory is kept alive until that request's CQE.</b>
/// The buffer counts the requests that use it: one for each SQE prepared with the <see cref="NativeBuffer"/>
/// overloads (<see cref="Sqe.PrepRead(int, NativeBuffer, ulong, ReadWriteFlags)"/>,
/// <see cref="Sqe.PrepWrite(int, NativeBuffer, ulong, ReadWriteFlags)"/>) on an SQE from <see cref="Ring.GetSqe"/>,
/// until the ring reaps its final CQE (<see cref="Ring.CqeSeen(in Cqe)"/>, <see cref="Ring.CqAdvance"/>, or the drain
/// of <see cref="Ring.Dispose()"/>); and one for each pin of <see cref="Memory"/> (what the async engine takes for an
/// operation, and <see cref="Ring.RegisterBuffers(ReadOnlySpan{Memory{byte}})"/> for a registration) until it is
/// released. <see cref="Dispose"/> then marks the buffer disposed at once (every member throws
/// <see cref="ObjectDisposedException"/>) and gives the memory back when the last such request completes. If a ring is
/// disposed without draining a request that uses the buffer, the memory stays allocated for the life of the process.</para>
/// <para>Raw addresses (<see cref="Address"/> copied into an SQE or an iovec) are not counted: for those, dispose the
/// buffer only after the CQE.</para>
/// </remarks>
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
    /// <exception cref="ObjectDisposedException">The buffer was disposed.</exception>
    public Span<byte> Span
    {
        get
        {
            ObjectDisposedException.ThrowIf(_block.IsFreed, this);
            return _block.GetSpan();
        }
    }

    /// <summary>
    /// The bytes as <see cref="Memory{T}"/>. Its <c>Pin</c> never moves anything (the memory is native); it takes a
    /// reference that keeps the memory alive, even past <see cref="Dispose"/>, until the handle is disposed.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The buffer was disposed.</exception>
    public Memory<byte> Memory
    {
        get
        {
            ObjectDisposedException.ThrowIf(_block.IsFreed, this);
            return _block.Memory;
        }
    }

    /// <summary>True once <see cref="Dispose"/> was called (the memory itself may live on until the requests using it complete).</summary>
    public bool IsDisposed => _block.IsFreed;

    /// <summary>The memory, for the ring's per-request references.</summary>
    internal NativeMemoryBlock Block => _block;

    /// <summary>
    /// Disposes the buffer: the memory is given back now, or, if requests prepared with it (or pins of
    /// <see cref="Memory"/>) are still in flight, when the last of them completes.
    /// </summary>
    public void Dispose() => _block.Free();
}
