using System.Buffers;
using IoUring.Interop;

namespace IoUring;

/// <summary>
/// A buffer from an engine's registered-buffer pool (<see cref="IoUringEngineOptions.RegisteredBufferCount"/>):
/// native memory the kernel mapped once at start-up (<c>IORING_REGISTER_BUFFERS</c>). Reads and writes of that
/// engine whose <see cref="Memory{T}"/> lies in such a buffer become <c>IORING_OP_READ_FIXED</c> /
/// <c>IORING_OP_WRITE_FIXED</c>, which spares the kernel mapping and pinning the user pages on every request.
/// </summary>
/// <remarks>
/// <para>Rent one with <see cref="IoUringEngine.RentRegisteredBuffer"/>; give it back with <see cref="Dispose"/>.
/// A buffer given back while a request still uses it goes back to the pool only when that request completes, so the
/// kernel never writes into a buffer somebody else rented. Use its <see cref="MemoryManager{T}.Memory"/> (or a slice of it) with any
/// read or write of the engine that owns it; with another engine the request is an ordinary one.</para>
/// <para>The memory stays valid until the engine is disposed and every buffer was given back. Like an
/// <see cref="ArrayPool{T}"/> array, do not keep using a <see cref="Memory{T}"/> of a buffer after giving it back.</para>
/// </remarks>
public sealed class RegisteredBuffer : MemoryManager<byte>
{
    private const int Free = 0;
    private const int Rented = 1;
    private const int Returning = 2;

    private readonly RegisteredBufferPool _pool;
    private readonly int _offset;
    private readonly int _length;
    private int _state;
    private int _pins;

    internal RegisteredBuffer(RegisteredBufferPool pool, int index, int offset, int length)
    {
        _pool = pool;
        Index = index;
        _offset = offset;
        _length = length;
    }

    /// <summary>The buffer's index in the ring's registered-buffer table (the SQE's <c>buf_index</c>).</summary>
    public int Index { get; }

    /// <summary>The size in bytes.</summary>
    public int Length => _length;

    /// <summary>The engine whose requests use this buffer as a registered one.</summary>
    public IoUringEngine Engine => _pool.Engine;

    internal RegisteredBufferPool Pool => _pool;

    /// <summary>The buffer's address (page-aligned).</summary>
    internal nint Address => _pool.Block.Address + _offset;

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The buffer was given back.</exception>
    public override Span<byte> GetSpan()
    {
        ThrowIfNotRented();
        return _pool.Block.GetSpan().Slice(_offset, _length);
    }

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">The buffer was given back.</exception>
    public override MemoryHandle Pin(int elementIndex = 0)
    {
        ThrowIfNotRented();
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)elementIndex, (uint)_length, nameof(elementIndex));
        _ = Interlocked.Increment(ref _pins);
        return Addresses.Handle(Address + elementIndex, this);
    }

    /// <inheritdoc/>
    public override void Unpin()
    {
        if (Interlocked.Decrement(ref _pins) == 0 && Volatile.Read(ref _state) == Returning)
        {
            GoBack();
        }
    }

    /// <summary>Marks the buffer rented (pool side).</summary>
    internal void OnRented() => Volatile.Write(ref _state, Rented);

    /// <summary>Gives the buffer back to its engine's pool (once the requests using it have completed).</summary>
    protected override void Dispose(bool disposing)
    {
        if (Interlocked.CompareExchange(ref _state, Returning, Rented) != Rented)
        {
            return;
        }

        if (Volatile.Read(ref _pins) == 0)
        {
            GoBack();
        }
    }

    private void GoBack()
    {
        if (Interlocked.CompareExchange(ref _state, Free, Returning) == Returning)
        {
            _pool.Return(this);
        }
    }

    private void ThrowIfNotRented()
    {
        if (Volatile.Read(ref _state) != Rented)
        {
            throw new ObjectDisposedException(nameof(RegisteredBuffer), "The registered buffer was given back to its engine.");
        }
    }
}

/// <summary>
/// An engine's registered buffers: one page-aligned native block cut into equal buffers, registered by the loop
/// thread at start-up. The block is freed only once the engine has stopped, the kernel gave every request back, and
/// every buffer was returned.
/// </summary>
internal sealed class RegisteredBufferPool
{
    private readonly RegisteredBuffer[] _buffers;
    private readonly Stack<RegisteredBuffer> _free;
    private readonly Lock _gate = new();
    private bool _stopped;
    private bool _mayFree;

    public RegisteredBufferPool(IoUringEngine engine, int count, int size)
    {
        Engine = engine;
        int stride = checked((size + Libc.PageSize - 1) / Libc.PageSize * Libc.PageSize);
        Block = new NativeMemoryBlock(checked(stride * count), Libc.PageSize, typeof(RegisteredBuffer));
        _buffers = new RegisteredBuffer[count];
        _free = new Stack<RegisteredBuffer>(count);
        for (int i = count - 1; i >= 0; i--)
        {
            _buffers[i] = new RegisteredBuffer(this, i, i * stride, size);
            _free.Push(_buffers[i]);
        }
    }

    public IoUringEngine Engine { get; }

    public NativeMemoryBlock Block { get; }

    public int Count => _buffers.Length;

    /// <summary>True once the kernel accepted the buffers (requests then use the fixed opcodes).</summary>
    public bool IsRegistered { get; private set; }

    /// <summary>Buffers not rented now.</summary>
    public int Available
    {
        get
        {
            lock (_gate)
            {
                return _free.Count;
            }
        }
    }

    /// <summary>Registers the buffers with the ring (loop thread, at start-up).</summary>
    public void Register(Ring ring)
    {
        var memories = new Memory<byte>[_buffers.Length];
        for (int i = 0; i < memories.Length; i++)
        {
            RegisteredBuffer b = _buffers[i];
            memories[i] = Block.Memory.Slice((int)(b.Address - Block.Address), b.Length);
        }

        ring.RegisterBuffers(memories);
        IsRegistered = true;
    }

    public bool TryRent(out RegisteredBuffer? buffer)
    {
        lock (_gate)
        {
            if (_stopped || !_free.TryPop(out buffer))
            {
                buffer = null;
                return false;
            }
        }

        buffer.OnRented();
        return true;
    }

    public void Return(RegisteredBuffer buffer)
    {
        bool free;
        lock (_gate)
        {
            _free.Push(buffer);
            free = _mayFree && _free.Count == _buffers.Length;
        }

        if (free)
        {
            Block.Free();
        }
    }

    /// <summary>
    /// The engine stopped: no more rentals. With <paramref name="kernelDone"/> the block is freed as soon as every buffer
    /// is back (now, or at the last return); without it the kernel may still write into it, so it is never freed.
    /// </summary>
    public void OnEngineStopped(bool kernelDone)
    {
        bool free;
        lock (_gate)
        {
            _stopped = true;
            _mayFree = kernelDone;
            free = kernelDone && _free.Count == _buffers.Length;
        }

        if (free)
        {
            Block.Free();
        }
        else if (!kernelDone)
        {
            PinnedForever.Keep(this);
        }
    }

    /// <summary>True when <paramref name="memory"/> lies in one of this pool's registered buffers; gives its index.</summary>
    public bool TryGetIndex(ReadOnlyMemory<byte> memory, out ushort index)
    {
        if (IsRegistered && System.Runtime.InteropServices.MemoryMarshal.TryGetMemoryManager(memory, out RegisteredBuffer? buffer) && ReferenceEquals(buffer.Pool, this))
        {
            index = (ushort)buffer.Index;
            return true;
        }

        index = 0;
        return false;
    }
}
