using System.Buffers;

namespace IoUring.Tests.Sockets;

/// <summary>The retaining pinned block pool behind <see cref="UringConnection"/>'s pipes.</summary>
public sealed class PinnedBlockMemoryPoolTests
{
    [Fact]
    public void A_returned_block_is_rented_again_and_no_new_one_is_allocated()
    {
        using var pool = new PinnedBlockMemoryPool(trimInterval: Timeout.InfiniteTimeSpan);
        IMemoryOwner<byte> a = pool.Rent();
        Assert.Equal(PinnedBlockMemoryPool.BlockSize, a.Memory.Length);
        Memory<byte> memory = a.Memory;
        a.Dispose();
        Assert.Equal(1, pool.FreeBlocks);

        IMemoryOwner<byte> b = pool.Rent(100);
        Assert.True(b.Memory.Span == memory.Span, "the same block comes back");
        Assert.Equal(1, pool.BlocksAllocated);
        Assert.Equal(0, pool.FreeBlocks);
        b.Dispose();
    }

    [Fact]
    public void Disposing_a_block_twice_returns_it_once_and_its_memory_is_refused_after()
    {
        using var pool = new PinnedBlockMemoryPool(trimInterval: Timeout.InfiniteTimeSpan);
        IMemoryOwner<byte> a = pool.Rent();
        a.Dispose();
        a.Dispose();
        Assert.Equal(1, pool.FreeBlocks);
        _ = Assert.Throws<ObjectDisposedException>(() => a.Memory);

        // Two rents get two different blocks: the double dispose did not queue it twice.
        using IMemoryOwner<byte> x = pool.Rent();
        using IMemoryOwner<byte> y = pool.Rent();
        Assert.False(x.Memory.Span == y.Memory.Span);
        Assert.Equal(2, pool.BlocksAllocated);
    }

    [Fact]
    public void Blocks_are_pinned_and_larger_requests_are_served_elsewhere()
    {
        using var pool = new PinnedBlockMemoryPool(trimInterval: Timeout.InfiniteTimeSpan);
        using IMemoryOwner<byte> block = pool.Rent();
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray<byte>(block.Memory, out ArraySegment<byte> segment));
        Assert.Equal(PinnedBlockMemoryPool.BlockSize, segment.Array!.Length);

        using IMemoryOwner<byte> big = pool.Rent(3 * PinnedBlockMemoryPool.BlockSize);
        Assert.True(big.Memory.Length >= 3 * PinnedBlockMemoryPool.BlockSize);
        Assert.Equal(1, pool.BlocksAllocated);
        _ = Assert.Throws<ArgumentOutOfRangeException>(() => pool.Rent(-2));
    }

    [Fact]
    public void Retention_is_bounded_and_trimming_releases_blocks_left_idle()
    {
        using var pool = new PinnedBlockMemoryPool(maxRetainedBlocks: 8, trimInterval: Timeout.InfiniteTimeSpan);
        var burst = new List<IMemoryOwner<byte>>();
        for (int i = 0; i < 12; i++)
        {
            burst.Add(pool.Rent());
        }

        burst.ForEach(b => b.Dispose());
        Assert.Equal(8, pool.FreeBlocks);

        // The first trims only set the marks; blocks unused over two whole intervals are idle, half of them go per trim.
        Assert.Equal(0, pool.Trim());
        Assert.Equal(0, pool.Trim());
        Assert.Equal(4, pool.Trim());
        Assert.Equal(4, pool.FreeBlocks);

        // Blocks in use between two trims are not idle: two of the four were rented, so half of the other two go.
        using (pool.Rent())
        {
            using (pool.Rent())
            {
            }
        }

        Assert.Equal(4, pool.FreeBlocks);
        Assert.Equal(1, pool.Trim());
        Assert.Equal(3, pool.Trim(all: true));
        Assert.Equal(0, pool.FreeBlocks);
    }

    [Fact]
    public void Renting_and_returning_from_many_threads_keeps_every_block_exclusive()
    {
        using var pool = new PinnedBlockMemoryPool(trimInterval: Timeout.InfiniteTimeSpan);
        Parallel.For(0, 4, worker =>
        {
            for (int i = 0; i < 20_000; i++)
            {
                using IMemoryOwner<byte> block = pool.Rent();
                Span<byte> span = block.Memory.Span;
                span[0] = (byte)worker;
                span[^1] = (byte)worker;
                Thread.SpinWait(5);
                Assert.Equal((byte)worker, span[0]);
                Assert.Equal((byte)worker, span[^1]);
            }
        });
        Assert.True(pool.BlocksAllocated <= 16, $"{pool.BlocksAllocated} blocks for 4 workers");
        Assert.Equal(pool.BlocksAllocated, pool.FreeBlocks);
    }

    [Fact]
    public void The_shared_pool_survives_dispose()
    {
        PinnedBlockMemoryPool.Shared.Dispose();
        using IMemoryOwner<byte> block = PinnedBlockMemoryPool.Shared.Rent();
        block.Memory.Span[0] = 1;
    }
}
