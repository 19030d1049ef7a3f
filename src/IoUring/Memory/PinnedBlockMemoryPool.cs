using System.Buffers;
using System.Collections.Concurrent;

namespace IoUring;

/// <summary>
/// A <see cref="MemoryPool{T}"/> of pinned 4 KiB blocks that keeps the blocks given back to it, so that renting
/// allocates nothing once the pool holds as many blocks as are ever in use at once, whichever thread rents or returns
/// them. It is the default pool of <see cref="UringConnection"/>'s pipes (<see cref="Shared"/>).
/// </summary>
/// <remarks>
/// <para><b>Why.</b> <see cref="MemoryPool{T}.Shared"/> rents from <see cref="ArrayPool{T}.Shared"/>, whose per-thread
/// caches are small: when one thread (an engine loop) rents blocks for many connections and other threads (the pool
/// threads running the application) return them, the caches overflow and every request allocates new arrays. This pool
/// has one lock-free free list (<see cref="ConcurrentQueue{T}"/>) shared by all threads.</para>
/// <para><b>Pinned.</b> Blocks live on the pinned object heap, so pinning them for a send or receive costs nothing and
/// never fragments the ordinary heap.</para>
/// <para><b>Bounded retention.</b> The pool keeps at most <see cref="MaxRetainedBlocks"/> free blocks, and every
/// <see cref="TrimInterval"/> it lets go of half of the blocks that stayed free during the whole interval, so memory
/// taken by a burst of connections goes back to the garbage collector once the burst is over.</para>
/// <para>Requests larger than <see cref="MaxBufferSize"/> are served by <see cref="MemoryPool{T}.Shared"/> (unpooled here).</para>
/// <para>Thread-safe. Disposing a block twice returns it once.</para>
/// </remarks>
public sealed class PinnedBlockMemoryPool : MemoryPool<byte>
{
    /// <summary>The size of every block: 4 KiB.</summary>
    public const int BlockSize = 4096;

    private readonly ConcurrentQueue<Block> _free = new();
    private readonly Timer? _trimTimer;
    private readonly bool _isShared;
    private int _freeCount;
    private int _lowWater;
    private int _previousLowWater;
    private long _allocated;
    private int _disposed;

    /// <summary>Creates a pool.</summary>
    /// <param name="maxRetainedBlocks">Most free blocks kept (more are dropped when given back). Default 65536 (256 MiB).</param>
    /// <param name="trimInterval">How often blocks left unused for a whole interval are released; <see cref="Timeout.InfiniteTimeSpan"/> never. Default 10 s.</param>
    public PinnedBlockMemoryPool(int maxRetainedBlocks = 65536, TimeSpan? trimInterval = null)
        : this(maxRetainedBlocks, trimInterval ?? TimeSpan.FromSeconds(10), shared: false)
    {
    }

    private PinnedBlockMemoryPool(int maxRetainedBlocks, TimeSpan trimInterval, bool shared)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxRetainedBlocks);
        if (trimInterval != Timeout.InfiniteTimeSpan && trimInterval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(trimInterval), trimInterval, "The trim interval must be positive or Timeout.InfiniteTimeSpan.");
        }

        MaxRetainedBlocks = maxRetainedBlocks;
        TrimInterval = trimInterval;
        _isShared = shared;
        if (trimInterval != Timeout.InfiniteTimeSpan)
        {
            // The timer holds the pool weakly: an abandoned pool is collected rather than kept alive by its own timer,
            // and the timer then stops itself.
            var state = new TrimState(new WeakReference<PinnedBlockMemoryPool>(this));
            _trimTimer = new Timer(static s => OnTrimTimer((TrimState)s!), state, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            state.Timer = _trimTimer;
            _ = _trimTimer.Change(trimInterval, trimInterval);
        }
    }

    /// <summary>The process-wide pool that <see cref="UringConnection"/> uses when its options name none. Disposing it does nothing.</summary>
    public static new PinnedBlockMemoryPool Shared { get; } = new(65536, TimeSpan.FromSeconds(10), shared: true);

    /// <inheritdoc/>
    public override int MaxBufferSize => BlockSize;

    /// <summary>Most free blocks the pool keeps.</summary>
    public int MaxRetainedBlocks { get; }

    /// <summary>How often blocks that stayed free for a whole interval are released (<see cref="Timeout.InfiniteTimeSpan"/>: never).</summary>
    public TimeSpan TrimInterval { get; }

    /// <summary>Free blocks held right now (approximate while other threads rent and return).</summary>
    public int FreeBlocks => Math.Max(0, Volatile.Read(ref _freeCount));

    /// <summary>Blocks the pool has allocated so far (diagnostics: it stops growing in steady state).</summary>
    public long BlocksAllocated => Interlocked.Read(ref _allocated);

    /// <summary>Rents a block of <see cref="BlockSize"/> bytes (or, above that, an unpooled buffer from <see cref="MemoryPool{T}.Shared"/>).</summary>
    /// <param name="minBufferSize">Minimum size; -1 for the default (<see cref="BlockSize"/>).</param>
    /// <returns>The owner of the memory; dispose it to give the memory back.</returns>
    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minBufferSize, -1);
        if (minBufferSize > BlockSize)
        {
            return MemoryPool<byte>.Shared.Rent(minBufferSize);
        }

        if (_free.TryDequeue(out Block? block))
        {
            int left = Interlocked.Decrement(ref _freeCount);
            if (left < Volatile.Read(ref _lowWater))
            {
                // Racy on purpose: an approximate low-water mark is enough to decide what to trim.
                Volatile.Write(ref _lowWater, left);
            }

            block.Rented();
            return block;
        }

        Interlocked.Increment(ref _allocated);
        Volatile.Write(ref _lowWater, 0);
        return new Block(this);
    }

    private void Return(Block block)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        if (Interlocked.Increment(ref _freeCount) > MaxRetainedBlocks)
        {
            // Full: let the garbage collector have it.
            Interlocked.Decrement(ref _freeCount);
            return;
        }

        _free.Enqueue(block);
    }

    /// <summary>
    /// Releases half of the blocks that stayed free since the trim before the previous one, that is, over two whole
    /// intervals (all free blocks when <paramref name="all"/>). The pool calls this every <see cref="TrimInterval"/>;
    /// call it yourself after a burst to release memory sooner. Two intervals rather than one, so that a steady load
    /// whose peak comes now and then keeps the blocks for its peak (a released block is an allocation when it is needed again).
    /// </summary>
    /// <param name="all">Release every free block now.</param>
    /// <returns>The number of blocks released.</returns>
    public int Trim(bool all = false)
    {
        int low = Volatile.Read(ref _lowWater);
        int idle = all ? int.MaxValue : Math.Min(low, Volatile.Read(ref _previousLowWater)) / 2;
        int released = 0;
        while (released < idle && _free.TryDequeue(out _))
        {
            Interlocked.Decrement(ref _freeCount);
            released++;
        }

        Volatile.Write(ref _previousLowWater, all ? 0 : Math.Max(0, low - released));
        Volatile.Write(ref _lowWater, FreeBlocks);
        return released;
    }

    private static void OnTrimTimer(TrimState state)
    {
        if (state.Pool.TryGetTarget(out PinnedBlockMemoryPool? pool))
        {
            _ = pool.Trim();
        }
        else
        {
            state.Timer?.Dispose();
        }
    }

    private sealed class TrimState(WeakReference<PinnedBlockMemoryPool> pool)
    {
        public WeakReference<PinnedBlockMemoryPool> Pool { get; } = pool;

        public Timer? Timer { get; set; }
    }

    /// <summary>Drops the free blocks and stops keeping returned ones (the <see cref="Shared"/> pool ignores this).</summary>
    /// <param name="disposing">True from <see cref="IDisposable.Dispose"/>.</param>
    protected override void Dispose(bool disposing)
    {
        if (_isShared || Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _trimTimer?.Dispose();
        _ = Trim(all: true);
    }

    private sealed class Block(PinnedBlockMemoryPool pool) : IMemoryOwner<byte>
    {
        private readonly byte[] _array = GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true);
        private int _returned;

        public Memory<byte> Memory => Volatile.Read(ref _returned) == 0 ? _array : throw new ObjectDisposedException(nameof(IMemoryOwner<byte>), "The block was given back to its pool.");

        public void Rented() => Volatile.Write(ref _returned, 0);

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _returned, 1) == 0)
            {
                pool.Return(this);
            }
        }
    }
}
