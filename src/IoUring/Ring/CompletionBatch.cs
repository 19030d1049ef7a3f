namespace IoUring;

/// <summary>
/// The CQEs that were ready when <see cref="Ring.ReadyCqes"/> was read, walked by reference without copying.
/// The references are valid until <see cref="Ring.CqAdvance"/> hands the slots back to the kernel.
/// </summary>
public readonly ref struct CompletionBatch
{
    private readonly Ring _ring;
    private readonly uint _head;

    internal CompletionBatch(Ring ring, uint head, uint count)
    {
        _ring = ring;
        _head = head;
        Count = count;
    }

    /// <summary>How many CQEs the batch holds; pass it to <see cref="Ring.CqAdvance"/> when done.</summary>
    public uint Count { get; }

    /// <summary>The CQE at <paramref name="index"/> (0 is the oldest).</summary>
    /// <param name="index">The position in the batch.</param>
    /// <returns>A read-only reference into the CQ.</returns>
    public ref readonly Cqe this[uint index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
            return ref _ring.CqeAt(_head + index);
        }
    }

    /// <summary>Returns an enumerator over the batch.</summary>
    /// <returns>The enumerator.</returns>
    public Enumerator GetEnumerator() => new(_ring, _head, Count);

    /// <summary>Walks a <see cref="CompletionBatch"/>.</summary>
    public ref struct Enumerator
    {
        private readonly Ring _ring;
        private readonly uint _head;
        private readonly uint _count;
        private uint _next;

        internal Enumerator(Ring ring, uint head, uint count)
        {
            _ring = ring;
            _head = head;
            _count = count;
            _next = 0;
        }

        /// <summary>The current CQE.</summary>
        public readonly ref readonly Cqe Current => ref _ring.CqeAt(_head + _next - 1);

        /// <summary>Moves to the next CQE.</summary>
        /// <returns>False at the end.</returns>
        public bool MoveNext()
        {
            if (_next >= _count)
            {
                return false;
            }

            _next++;
            return true;
        }
    }
}
