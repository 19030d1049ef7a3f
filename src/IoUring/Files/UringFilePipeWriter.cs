using System.IO.Pipelines;

namespace IoUring;

/// <summary>
/// A <see cref="PipeWriter"/> that writes a file sequentially: full segments are handed over for writing at once,
/// <see cref="FlushAsync"/> hands over the partial one and applies back-pressure (it waits only while more than the
/// pause threshold of bytes is not written yet), <see cref="CompleteAsync"/> waits for every write and reports the
/// first failure.
/// </summary>
/// <remarks>
/// <para>At most two writes are in flight, and the segments handed over meanwhile are written together by the next one,
/// as a single gather write (<c>WRITEV</c>) in file order. Writes to one file run one after another in the kernel
/// anyway (a buffered write that cannot complete inline, as on ext4, goes to an io-wq worker that serialises writes
/// per file), so more requests in flight buy no parallelism, only requests, completions and thread hops; the second one
/// keeps the worker from waiting for the engine between two writes. It starts only once <see cref="MinGatherBytes"/>
/// are queued (or when no write is in flight), so a producer flushing every 64 KiB still makes requests of hundreds of
/// KiB rather than one per flush.</para>
/// <para>Memory: the segment being filled plus at most the pause threshold (and the last flush's segments) handed over
/// and not written; segments are reused.</para>
/// </remarks>
internal sealed class UringFilePipeWriter : PipeWriter
{
    private readonly UringFile _file;
    /// <summary>Bytes a write gathers at least before it starts while the other write is in flight.</summary>
    private const long MinGatherBytes = 256 * 1024;

    private readonly int _segmentSize;

    /// <summary>Bytes handed over and not written beyond which <see cref="FlushAsync"/> waits.</summary>
    private readonly long _pauseThreshold;

    /// <summary>Queued bytes that start a write while the other one is in flight (<see cref="MinGatherBytes"/>, or less under a small threshold).</summary>
    private readonly long _gatherBytes;
    private readonly bool _leaveOpen;
    private readonly Lock _lock = new();

    private Chunk? _current;
    private Chunk? _free;
    private long _nextOffset;

    /// <summary>Bytes handed over and not written yet: queued, or in a write in flight (guarded by <see cref="_lock"/>).</summary>
    private long _unwritten;

    /// <summary>Segments handed over and waiting for a write, in file order (guarded by <see cref="_lock"/>).</summary>
    private readonly Queue<Chunk> _queued = new();

    /// <summary>The bytes of <see cref="_queued"/> (guarded by <see cref="_lock"/>).</summary>
    private long _queuedBytes;

    /// <summary>The two writes that may be in flight, each with the segments it carries.</summary>
    private readonly GatherWrite[] _writes;

    /// <summary>Write requests issued so far (each carrying one or more segments); for tests.</summary>
    private int _writesIssued;

    /// <summary>Write requests issued so far (each carrying one or more segments); for tests.</summary>
    internal int WritesIssued => Volatile.Read(ref _writesIssued);

    /// <summary>Bytes handed over and not written yet; for tests.</summary>
    internal long UnwrittenBytes
    {
        get
        {
            lock (_lock)
            {
                return _unwritten;
            }
        }
    }

    private Exception? _error;
    private bool _completed;

    private readonly PipeWaiter<FlushResult> _waiter;

    /// <summary>What the pending waiter waits for: unwritten bytes at most this many.</summary>
    private long _waitFor;

    /// <summary>The pending waiter ends at the first write error (flush) rather than when the writes are done (complete).</summary>
    private bool _waitStopsOnError;
    private bool _cancelNext;

    public UringFilePipeWriter(UringFile file, UringPipeWriterOptions options)
    {
        _file = file;
        _waiter = new PipeWaiter<FlushResult>(_lock);
        _writes = [new GatherWrite(this), new GatherWrite(this)];
        _segmentSize = options.SegmentSize;
        _pauseThreshold = options.EffectivePauseWriterThreshold;
        _gatherBytes = Math.Max(1, Math.Min(MinGatherBytes, _pauseThreshold / 2));
        _leaveOpen = options.LeaveOpen;
        _nextOffset = options.StartOffset;
    }

    public override bool CanGetUnflushedBytes => true;

    public override long UnflushedBytes => _current?.Written ?? 0;

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sizeHint);
        ThrowIfCompleted();
        int need = Math.Max(sizeHint, 1);
        if (_current is not null && _current.Buffer.Length - _current.Written < need)
        {
            SubmitCurrent();
        }

        if (_current is null)
        {
            _current = Rent(need);
        }

        return _current.Buffer.AsMemory(_current.Written);
    }

    public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    public override void Advance(int bytes)
    {
        ThrowIfCompleted();
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (_current is null || bytes > _current.Buffer.Length - _current.Written)
        {
            throw new InvalidOperationException("Advance went past the memory returned by GetMemory.");
        }

        _current.Written += bytes;
        if (_current.Written == _current.Buffer.Length)
        {
            SubmitCurrent();
        }
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfCompleted();
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<FlushResult>(cancellationToken);
        }

        if (_current is { Written: > 0 })
        {
            SubmitCurrent();
        }

        return WaitForUnwritten(_pauseThreshold, stopOnError: true, cancellationToken);
    }

    public override void CancelPendingFlush()
    {
        bool signal = false;
        lock (_lock)
        {
            signal = _waiter.TryTake();
            if (!signal)
            {
                _cancelNext = true;
            }
        }

        if (signal)
        {
            _waiter.SetResult(new FlushResult(isCanceled: true, isCompleted: false));
        }
    }

    /// <summary>Writes what is buffered, waits for every write and disposes the file unless left open. Throws the first write error.</summary>
    public override async ValueTask CompleteAsync(Exception? exception = null)
    {
        if (_completed)
        {
            return;
        }

        if (exception is null && _current is { Written: > 0 } && _error is null)
        {
            SubmitCurrent();
        }

        _completed = true;
        try
        {
            // Every write the kernel holds finishes before the file may be closed and before a failure is reported.
            _ = await WaitForUnwritten(0, stopOnError: false, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            _current = null;
            if (!_leaveOpen)
            {
                await _file.DisposeAsync().ConfigureAwait(false);
            }
        }

        Exception? error = Volatile.Read(ref _error);
        if (error is not null && exception is null)
        {
            throw new IOException("Writing the file failed; data written after the failed write may be incomplete.", error);
        }
    }

    /// <summary>Like <see cref="CompleteAsync"/>, blocking the caller. Do not call it from an inline continuation of the file's engine.</summary>
    public override void Complete(Exception? exception = null) => CompleteAsync(exception).AsTask().GetAwaiter().GetResult();

    // ------------------------------------------------------------------------------------------------------------

    private Chunk Rent(int need)
    {
        if (need <= _segmentSize)
        {
            lock (_lock)
            {
                if (_free is Chunk c)
                {
                    _free = c.NextFree;
                    c.NextFree = null;
                    return c;
                }
            }

            return new Chunk(_segmentSize);
        }

        // A larger request than a segment gets a one-off buffer of its own.
        return new Chunk(need);
    }

    private void SubmitCurrent()
    {
        Chunk c = _current!;
        _current = null;
        if (c.Written == 0)
        {
            Return(c);
            return;
        }

        c.Offset = _nextOffset;
        _nextOffset += c.Written;
        GatherWrite? start = null;
        lock (_lock)
        {
            _unwritten += c.Written;
            _queued.Enqueue(c);
            _queuedBytes += c.Written;
            bool idle = !_writes[0].Busy && !_writes[1].Busy;
            if (idle || _queuedBytes >= _gatherBytes)
            {
                foreach (GatherWrite w in _writes)
                {
                    if (!w.Busy)
                    {
                        TakeQueuedLocked(w);
                        start = w;
                        break;
                    }
                }
            }
        }

        if (start is not null)
        {
            StartWrite(start);
        }
    }

    /// <summary>The writer's other write.</summary>
    private GatherWrite Other(GatherWrite write) => ReferenceEquals(write, _writes[0]) ? _writes[1] : _writes[0];

    /// <summary>Moves the queued segments (up to one request's worth) into <paramref name="write"/>. Under the lock.</summary>
    private void TakeQueuedLocked(GatherWrite write) => _queuedBytes -= write.Take(_queued);

    private void StartWrite(GatherWrite write)
    {
        Interlocked.Increment(ref _writesIssued);
        write.Start(_file);
    }

    private void Return(Chunk c)
    {
        lock (_lock)
        {
            ReturnLocked(c);
        }
    }

    private void ReturnLocked(Chunk c)
    {
        if (c.Buffer.Length != _segmentSize)
        {
            return;
        }

        c.Written = 0;
        c.NextFree = _free;
        _free = c;
    }

    /// <summary><paramref name="write"/> ended: its segments are free; the segments queued meanwhile go out as its next write.</summary>
    private void OnWriteCompleted(GatherWrite write, Exception? error)
    {
        bool signal = false;
        bool next = false;
        lock (_lock)
        {
            _unwritten -= write.Bytes;
            write.Release(this);
            if (error is not null)
            {
                _error ??= error;
            }

            // The queued segments go out now if nothing else is being written (the worker must not idle) or if they
            // make a full gather; otherwise they wait for more, so each write carries at least a gather's worth instead
            // of whatever one flush queued while this write was in flight. Written even after a failure, as separate
            // writes would have been; CompleteAsync reports the failure.
            if (_queued.Count > 0 && (!Other(write).Busy || _queuedBytes >= _gatherBytes))
            {
                TakeQueuedLocked(write);
                next = true;
            }

            if (_waiter.IsPending && (_unwritten <= _waitFor || (_error is not null && _waitStopsOnError)))
            {
                signal = _waiter.TryTake();
            }
        }

        if (next)
        {
            StartWrite(write);
        }

        if (signal)
        {
            SignalWaiter();
        }
    }

    private void SignalWaiter()
    {
        Exception? e = Volatile.Read(ref _error);
        if (e is not null && _waitStopsOnError)
        {
            _waiter.SetException(e);
        }
        else
        {
            _waiter.SetResult(new FlushResult(isCanceled: false, isCompleted: false));
        }
    }

    private ValueTask<FlushResult> WaitForUnwritten(long atMost, bool stopOnError, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_cancelNext)
            {
                _cancelNext = false;
                return new ValueTask<FlushResult>(new FlushResult(isCanceled: true, isCompleted: false));
            }

            if (_error is not null && stopOnError)
            {
                return ValueTask.FromException<FlushResult>(_error);
            }

            if (_unwritten <= atMost)
            {
                return new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: false));
            }

            if (_waiter.IsPending)
            {
                throw new InvalidOperationException("FlushAsync is already pending: a PipeWriter serves one flush at a time.");
            }

            _waitFor = atMost;
            _waitStopsOnError = stopOnError;
            return _waiter.Start(cancellationToken);
        }
    }

    private void ThrowIfCompleted()
    {
        if (_completed)
        {
            throw new InvalidOperationException("The writer was completed.");
        }
    }

    /// <summary>A buffer being filled by the producer, queued, or being written to the file.</summary>
    private sealed class Chunk(int size)
    {
        public byte[] Buffer { get; } = GC.AllocateUninitializedArray<byte>(size, pinned: true);

        public int Written { get; set; }

        /// <summary>Where the chunk goes in the file (set when it is handed over).</summary>
        public long Offset { get; set; }

        public Chunk? NextFree { get; set; }
    }

    /// <summary>One of the writer's writes: queued segments, contiguous in the file, written together.</summary>
    private sealed class GatherWrite(UringFilePipeWriter owner) : BackgroundWrite
    {
        private readonly List<Chunk> _chunks = [];

        /// <summary>The chunks' filled parts, the gather list of the write (unchanged while it is in flight).</summary>
        private readonly List<ReadOnlyMemory<byte>> _data = [];

        /// <summary>The bytes in the write.</summary>
        public long Bytes { get; private set; }

        /// <summary>True from <see cref="Take"/> until <see cref="Release"/> (under the owner's lock).</summary>
        public bool Busy => _chunks.Count > 0;

        /// <summary>Takes the queued segments (at most one request's worth of iovecs) into this write and returns their bytes. Under the owner's lock.</summary>
        public long Take(Queue<Chunk> queued)
        {
            long taken = 0;
            while (queued.Count > 0 && _chunks.Count < IoUringEngine.MaxIoVecs)
            {
                Chunk c = queued.Dequeue();
                _chunks.Add(c);
                _data.Add(c.Buffer.AsMemory(0, c.Written));
                taken += c.Written;
            }

            Bytes += taken;
            return taken;
        }

        /// <summary>Starts the write of the segments taken.</summary>
        public void Start(UringFile file)
        {
            long offset = _chunks[0].Offset;
            if (_chunks.Count == 1)
            {
                StartWrite(file, _data[0], offset);
            }
            else
            {
                StartWrite(file, _data, offset);
            }
        }

        /// <summary>Gives the written segments back for reuse. Under the owner's lock.</summary>
        public void Release(UringFilePipeWriter writer)
        {
            foreach (Chunk c in _chunks)
            {
                writer.ReturnLocked(c);
            }

            _chunks.Clear();
            _data.Clear();
            Bytes = 0;
        }

        protected override void OnWriteEnded(Exception? error) => owner.OnWriteCompleted(this, error);
    }
}
