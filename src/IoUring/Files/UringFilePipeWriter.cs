using System.IO.Pipelines;

namespace IoUring;

/// <summary>
/// A <see cref="PipeWriter"/> that writes a file sequentially: full segments are written at once (several in flight),
/// <see cref="FlushAsync"/> writes the partial one and applies back-pressure, <see cref="CompleteAsync"/> waits for
/// every write and reports the first failure.
/// </summary>
internal sealed class UringFilePipeWriter : PipeWriter
{
    private readonly UringFile _file;
    private readonly int _segmentSize;
    private readonly int _writesInFlight;
    private readonly bool _leaveOpen;
    private readonly Lock _lock = new();

    private Chunk? _current;
    private Chunk? _free;
    private long _nextOffset;
    private int _inFlight;
    private Exception? _error;
    private bool _completed;

    private readonly PipeWaiter<FlushResult> _waiter;

    /// <summary>What the pending waiter waits for: in-flight writes at most this many.</summary>
    private int _waitFor;

    /// <summary>The pending waiter ends at the first write error (flush) rather than when the writes are done (complete).</summary>
    private bool _waitStopsOnError;
    private bool _cancelNext;

    public UringFilePipeWriter(UringFile file, UringPipeWriterOptions options)
    {
        _file = file;
        _waiter = new PipeWaiter<FlushResult>(_lock);
        _segmentSize = options.SegmentSize;
        _writesInFlight = options.WritesInFlight;
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

        return WaitForInFlight(_writesInFlight - 1, stopOnError: true, cancellationToken);
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
            _ = await WaitForInFlight(0, stopOnError: false, CancellationToken.None).ConfigureAwait(false);
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

            return new Chunk(this, _segmentSize);
        }

        // A larger request than a segment gets a one-off buffer of its own.
        return new Chunk(this, need);
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

        long offset = _nextOffset;
        _nextOffset += c.Written;
        lock (_lock)
        {
            _inFlight++;
        }

        c.StartWrite(_file, offset);
    }

    private void Return(Chunk c)
    {
        if (c.Buffer.Length != _segmentSize)
        {
            return;
        }

        c.Written = 0;
        lock (_lock)
        {
            c.NextFree = _free;
            _free = c;
        }
    }

    private void OnWriteCompleted(Chunk c, Exception? error)
    {
        Return(c);
        bool signal = false;
        lock (_lock)
        {
            _inFlight--;
            if (error is not null)
            {
                _error ??= error;
            }

            if (_waiter.IsPending && (_inFlight <= _waitFor || (_error is not null && _waitStopsOnError)))
            {
                signal = _waiter.TryTake();
            }
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

    private ValueTask<FlushResult> WaitForInFlight(int atMost, bool stopOnError, CancellationToken cancellationToken)
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

            if (_inFlight <= atMost)
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

    /// <summary>A buffer being filled by the producer or written to the file.</summary>
    private sealed class Chunk : BackgroundWrite
    {
        private readonly UringFilePipeWriter _owner;

        public Chunk(UringFilePipeWriter owner, int size)
        {
            _owner = owner;
            Buffer = GC.AllocateUninitializedArray<byte>(size, pinned: true);
        }

        public byte[] Buffer { get; }

        public int Written { get; set; }

        public Chunk? NextFree { get; set; }

        public void StartWrite(UringFile file, long offset) => StartWrite(file, Buffer.AsMemory(0, Written), offset);

        protected override void OnWriteEnded(Exception? error) => _owner.OnWriteCompleted(this, error);
    }
}
