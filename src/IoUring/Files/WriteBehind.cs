using System.Runtime.CompilerServices;

namespace IoUring;

/// <summary>
/// The write-behind of <see cref="UringFileStream"/>: a write is copied into one of a few native buffers and written
/// from there while the caller goes on, so several writes are in flight behind the caller and the caller's buffer is
/// free as soon as <c>WriteAsync</c> returns. Small sequential writes are gathered into the buffer being filled; a
/// buffer is written when full or when the stream drains (<see cref="DrainAsync"/>: before a read, a length query,
/// <c>SetLength</c>, <c>Flush</c>, a write that is not sequential, and dispose).
/// </summary>
/// <remarks>
/// <para>The buffers are sized from the caller's writes: sixteen times the largest so far (rounded up to 4 KiB), at
/// least 64 KiB, at most 1 MiB, so small sequential writes reach the kernel as few large requests; a write at least a
/// buffer's size goes straight from the caller's buffer (awaited, no copy). Memory is bounded by <see cref="Slots"/> buffers
/// (4 MiB per stream at most), allocated as they are first needed.</para>
/// <para>A failed write is reported by the next operation that writes or drains (as a buffered <see cref="FileStream"/>
/// reports a failed flush), once; bytes after it may not have been written.</para>
/// <para>Each buffer is a <see cref="NativeBuffer"/>: a request in flight holds a reference to its memory, so disposing
/// the stream with writes still in the kernel never frees memory under them.</para>
/// </remarks>
internal sealed class WriteBehind
{
    /// <summary>Buffers (and so writes in flight) at most.</summary>
    public const int Slots = 4;

    private const int MinSlotSize = 64 * 1024;
    private const int MaxSlotSize = 1024 * 1024;

    /// <summary>
    /// Writes of the first write's size that one buffer gathers. A buffered write the kernel cannot complete without
    /// blocking (ext4 refuses <c>RWF_NOWAIT</c> for buffered writes) goes to an io-wq worker, a thread hop per request:
    /// sixteen 64 KiB writes gathered into one 1 MiB request make one hop instead of sixteen.
    /// </summary>
    private const int GatherFactor = 16;

    private readonly UringFile _file;
    private readonly Lock _lock = new();
    private readonly PipeWaiter<bool> _waiter;

    /// <summary>Free buffers (guarded by <see cref="_lock"/>).</summary>
    private readonly Stack<Slot> _free = new(Slots);

    /// <summary>The buffer being filled (caller's side only), with its file offset and fill.</summary>
    private Slot? _current;

    /// <summary>The size of the buffers made from now on: it only grows, with the largest write seen (<see cref="SlotSizeFor"/>).</summary>
    private int _slotSize;

    /// <summary>Buffers that exist (free, being filled or in flight; guarded by <see cref="_lock"/>).</summary>
    private int _created;

    /// <summary>Writes in the kernel (guarded by <see cref="_lock"/>).</summary>
    private int _inFlight;

    /// <summary>What the pending waiter waits for: writes in flight at most this many.</summary>
    private int _waitFor;

    /// <summary>The first write failure not reported yet.</summary>
    private Exception? _error;

    /// <summary>The file offset just past everything accepted so far (written, in flight or buffered).</summary>
    private long _end = -1;

    private bool _disposed;

    /// <summary>Write requests issued so far (gathered buffers and direct writes); for tests.</summary>
    private int _writesIssued;

    public WriteBehind(UringFile file)
    {
        _file = file;
        _waiter = new PipeWaiter<bool>(_lock);
    }

    /// <summary>Write requests issued so far (gathered buffers and direct writes); for tests.</summary>
    internal int WritesIssued => Volatile.Read(ref _writesIssued);

    /// <summary>True when nothing is buffered or in flight and no failure waits to be reported.</summary>
    public bool IsIdle
    {
        get
        {
            lock (_lock)
            {
                return _current is null && _inFlight == 0 && _error is null;
            }
        }
    }

    /// <summary>Accepts <paramref name="data"/> for <paramref name="position"/>; completes at once unless every buffer is busy.</summary>
    public ValueTask WriteAsync(ReadOnlyMemory<byte> data, long position, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        if (_slotSize < MaxSlotSize && data.Length > _slotSize / GatherFactor)
        {
            // The first write, or one larger than the buffers were made for (a small header before 64 KiB writes):
            // buffers made from now on are sized for it, smaller free ones are dropped as they come up.
            // At least doubling, so a stream whose writes creep up re-makes its buffers a few times at most.
            _slotSize = _slotSize == 0 ? SlotSizeFor(data.Length) : Math.Max(SlotSizeFor(data.Length), Math.Min(2 * _slotSize, MaxSlotSize));
        }

        lock (_lock)
        {
            if (_error is not null || (position != _end && (_current is not null || _inFlight > 0)))
            {
                return SlowWriteAsync(data, position, cancellationToken);
            }
        }

        while (!data.IsEmpty)
        {
            if (_current is null)
            {
                if (data.Length >= _slotSize)
                {
                    // Large enough to write as it is: no copy; the caller's buffer is in use until the write completes.
                    return DirectWriteAsync(data, position, cancellationToken);
                }

                if (!TryTakeFree(out _current))
                {
                    return SlowWriteAsync(data, position, cancellationToken);
                }

                _current.Offset = position;
                _current.Filled = 0;
            }

            CopyIn(ref data, ref position);
        }

        return default;
    }

    /// <summary>
    /// The buffer size for writes of <paramref name="write"/> bytes: room for <see cref="GatherFactor"/> of them
    /// (rounded up to 4 KiB), at least 64 KiB, at most 1 MiB.
    /// </summary>
    internal static int SlotSizeFor(int write) =>
        (int)Math.Clamp(((long)write * GatherFactor + 4095L) & ~4095L, MinSlotSize, MaxSlotSize);

    /// <summary>Writes what is buffered, waits for every write in flight and reports a failure once.</summary>
    public ValueTask DrainAsync(CancellationToken cancellationToken = default)
    {
        if (_current is not null)
        {
            IssueCurrent();
        }

        lock (_lock)
        {
            if (_inFlight == 0)
            {
                return ThrowIfFailedLocked() is Exception e ? ValueTask.FromException(e) : default;
            }
        }

        return WaitThenThrowAsync(0, cancellationToken);
    }

    /// <summary>Drains, blocking the caller (the synchronous stream methods).</summary>
    public void Drain()
    {
        ValueTask drain = DrainAsync();
        if (drain.IsCompleted)
        {
            drain.GetAwaiter().GetResult();
        }
        else
        {
            drain.AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>Frees the buffers: at once those not in use, the others when their write completes.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            while (_free.TryPop(out Slot? s))
            {
                s.Buffer.Dispose();
            }
        }

        // A buffer never written (a drain failed before it) is not in flight either.
        _current?.Buffer.Dispose();
        _current = null;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SlowWriteAsync(ReadOnlyMemory<byte> data, long position, CancellationToken cancellationToken)
    {
        if (position != _end)
        {
            // Not sequential: everything before goes first, so overlapping writes land in order.
            await DrainAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            ThrowIfFailed();
        }

        while (!data.IsEmpty)
        {
            if (_current is null)
            {
                if (data.Length >= _slotSize)
                {
                    await DirectWriteAsync(data, position, cancellationToken).ConfigureAwait(false);
                    return;
                }

                while (!TryTakeFree(out _current))
                {
                    await WaitForInFlightAsync(Slots - 1, cancellationToken).ConfigureAwait(false);
                    ThrowIfFailed();
                }

                _current.Offset = position;
                _current.Filled = 0;
            }

            CopyIn(ref data, ref position);
        }
    }

    /// <summary>Copies what fits of <paramref name="data"/> into the buffer being filled; writes it once full.</summary>
    private void CopyIn(ref ReadOnlyMemory<byte> data, ref long position)
    {
        Slot current = _current!;
        int n = Math.Min(data.Length, current.Buffer.Length - current.Filled);
        data.Span[..n].CopyTo(current.Buffer.Span[current.Filled..]);
        current.Filled += n;
        data = data[n..];
        position += n;
        _end = position;
        if (current.Filled == current.Buffer.Length)
        {
            IssueCurrent();
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask DirectWriteAsync(ReadOnlyMemory<byte> data, long position, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _writesIssued);
        await _file.WriteAsync(data, position, cancellationToken).ConfigureAwait(false);
        _end = position + data.Length;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WaitThenThrowAsync(int atMost, CancellationToken cancellationToken)
    {
        await WaitForInFlightAsync(atMost, cancellationToken).ConfigureAwait(false);
        ThrowIfFailed();
    }

    private ValueTask<bool> WaitForInFlightAsync(int atMost, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_inFlight <= atMost)
            {
                return new ValueTask<bool>(true);
            }

            _waitFor = atMost;
            return _waiter.Start(cancellationToken);
        }
    }

    private void ThrowIfFailed()
    {
        lock (_lock)
        {
            if (ThrowIfFailedLocked() is Exception e)
            {
                throw e;
            }
        }
    }

    /// <summary>
    /// Takes the failure to report (once). A file or engine disposed meanwhile is reported as the
    /// <see cref="ObjectDisposedException"/> it is; a failed write as an <see cref="IOException"/> around the kernel's error.
    /// </summary>
    private Exception? ThrowIfFailedLocked()
    {
        Exception? e = _error;
        _error = null;
        return e switch
        {
            null => null,
            ObjectDisposedException => e,
            _ => new IOException("A write issued earlier through the stream failed; bytes written after it may be incomplete.", e),
        };
    }

    private bool TryTakeFree([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Slot? slot)
    {
        lock (_lock)
        {
            while (_free.TryPop(out slot))
            {
                if (slot.Buffer.Length == _slotSize)
                {
                    return true;
                }

                // Made for smaller writes before the buffers grew: not in flight (it was free), so freed now.
                slot.Buffer.Dispose();
                _created--;
            }

            if (_created < Slots)
            {
                _created++;
                slot = new Slot(this, _slotSize);
                return true;
            }

            return false;
        }
    }

    private void IssueCurrent()
    {
        Slot s = _current!;
        _current = null;
        if (s.Filled == 0)
        {
            Recycle(s);
            return;
        }

        lock (_lock)
        {
            _inFlight++;
        }

        Interlocked.Increment(ref _writesIssued);
        s.Start(_file);
    }

    private void Recycle(Slot s)
    {
        lock (_lock)
        {
            if (_disposed)
            {
                s.Buffer.Dispose();
            }
            else
            {
                _free.Push(s);
            }
        }
    }

    private void OnWritten(Slot s, Exception? error)
    {
        bool signal = false;
        lock (_lock)
        {
            _inFlight--;
            if (error is not null)
            {
                _error ??= error;
            }

            if (_disposed)
            {
                s.Buffer.Dispose();
            }
            else
            {
                _free.Push(s);
            }

            if (_waiter.IsPending && (_inFlight <= _waitFor || _error is not null))
            {
                signal = _waiter.TryTake();
            }
        }

        if (signal)
        {
            _waiter.SetResult(true);
        }
    }

    /// <summary>One buffer and its write.</summary>
    private sealed class Slot : BackgroundWrite
    {
        private readonly WriteBehind _owner;

        public Slot(WriteBehind owner, int size)
        {
            _owner = owner;
            Buffer = new NativeBuffer(size);
        }

        public NativeBuffer Buffer { get; }

        public long Offset { get; set; }

        public int Filled { get; set; }

        public void Start(UringFile file) => StartWrite(file, Buffer.Memory[..Filled], Offset);

        protected override void OnWriteEnded(Exception? error) => _owner.OnWritten(this, error);
    }
}
