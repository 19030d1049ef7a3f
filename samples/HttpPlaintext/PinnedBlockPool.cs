using System.Buffers;
using System.Collections.Concurrent;

namespace HttpPlaintext;

/// <summary>
/// A <see cref="MemoryPool{T}"/> of pinned 4 KiB blocks that keeps every block it ever handed out (the idea of
/// Kestrel's pinned block pool): once the server has as many blocks as it ever holds at once, renting allocates
/// nothing, however many connections hold blocks and whichever thread returns them. <c>--pool pinned</c> gives it to
/// both transports; the default is each transport's own default pool.
/// </summary>
internal sealed class PinnedBlockPool : MemoryPool<byte>
{
    public const int BlockSize = 4096;

    private readonly ConcurrentQueue<Block> _free = new();

    public override int MaxBufferSize => BlockSize;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        if (minBufferSize > BlockSize)
        {
            return Shared.Rent(minBufferSize);
        }

        return _free.TryDequeue(out Block? block) ? block : new Block(this);
    }

    protected override void Dispose(bool disposing)
    {
    }

    private sealed class Block(PinnedBlockPool pool) : IMemoryOwner<byte>
    {
        private readonly byte[] _array = GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true);

        public Memory<byte> Memory => _array;

        public void Dispose() => pool._free.Enqueue(this);
    }
}
