using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace IoUring;

/// <summary>
/// A <see cref="PipeReader"/> over a file with several reads in flight. Each read fills its own segment; segments are
/// exposed to the consumer strictly in file order, once complete, as one <see cref="ReadOnlySequence{T}"/>.
/// </summary>
/// <remarks>
/// <para>State is guarded by one lock. Read completions arrive on whatever thread the engine completes them on
/// (thread pool, or the loop with inline continuations); they update the segment, issue the next reads and wake a
/// waiting <see cref="ReadAsync"/> after leaving the lock.</para>
/// <para>A read that returns fewer bytes than asked is continued at the same segment; a read that returns 0 marks
/// the end of the file there, and data any later read may find beyond it (a file growing meanwhile) is ignored, so
/// the stream is always a contiguous prefix of the file.</para>
/// </remarks>
internal sealed class UringFilePipeReader : PipeReader
{
    private readonly UringFile _file;
    private readonly int _segmentSize;
    private readonly int _readsInFlight;
    private readonly int _maxSegments;
    private readonly long _startOffset;
    private readonly bool _leaveOpen;
    private readonly Lock _lock = new();

    /// <summary>Segments in file order: first the one the consumer is in, last the most recently issued.</summary>
    private Segment? _head;
    private Segment? _tail;

    /// <summary>The last segment exposed to the consumer (every segment up to it is complete and linked).</summary>
    private Segment? _lastVisible;
    private Segment? _free;
    private int _segments;
    private int _inFlight;

    private long _nextOffset;

    /// <summary>The end of the stream: the end of the file once a read returned 0, or StartOffset + Length.</summary>
    private long _endOffset;

    /// <summary>File offset just past the data the consumer can see.</summary>
    private long _visibleEnd;

    /// <summary>Index of the first unconsumed byte in <see cref="_head"/>.</summary>
    private int _headIndex;

    /// <summary>File offset up to which the consumer has examined the data.</summary>
    private long _examinedEnd;

    private Exception? _error;
    private bool _completed;
    private bool _cancelNext;

    private readonly PipeWaiter<ReadResult> _waiter;

    /// <summary>Completed by the last read to finish after <see cref="Complete"/>; what <see cref="CompleteAsync"/> awaits.</summary>
    private TaskCompletionSource? _drained;

    public UringFilePipeReader(UringFile file, UringPipeReaderOptions options)
    {
        _file = file;
        _waiter = new PipeWaiter<ReadResult>(_lock);
        _segmentSize = options.SegmentSize;
        _readsInFlight = options.EffectiveReadsInFlight;
        _maxSegments = options.EffectiveMaxSegments;
        _startOffset = options.StartOffset;
        _leaveOpen = options.LeaveOpen;
        _nextOffset = _startOffset;
        _visibleEnd = _startOffset;
        _examinedEnd = _startOffset;
        _endOffset = options.Length is long length ? _startOffset + length : long.MaxValue;

        List<Segment>? toIssue = null;
        lock (_lock)
        {
            TopUp(ref toIssue);
        }

        Issue(toIssue);
    }

    public override bool TryRead(out ReadResult result)
    {
        lock (_lock)
        {
            ThrowIfCompleted();
            if (_cancelNext)
            {
                _cancelNext = false;
                result = new ReadResult(Buffer(), isCanceled: true, isCompleted: false);
                return true;
            }

            if (_error is not null)
            {
                throw _error;
            }

            if (HasResult())
            {
                result = new ReadResult(Buffer(), isCanceled: false, isCompleted: IsEnd());
                return true;
            }
        }

        result = default;
        return false;
    }

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<ReadResult>(cancellationToken);
        }

        lock (_lock)
        {
            ThrowIfCompleted();
            if (_waiter.IsPending)
            {
                throw new InvalidOperationException("ReadAsync is already pending: a PipeReader serves one read at a time.");
            }

            if (_cancelNext)
            {
                _cancelNext = false;
                return new ValueTask<ReadResult>(new ReadResult(Buffer(), isCanceled: true, isCompleted: false));
            }

            if (_error is not null)
            {
                return ValueTask.FromException<ReadResult>(_error);
            }

            if (HasResult())
            {
                return new ValueTask<ReadResult>(new ReadResult(Buffer(), isCanceled: false, isCompleted: IsEnd()));
            }

            return _waiter.Start(cancellationToken);
        }
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        List<Segment>? toIssue = null;
        lock (_lock)
        {
            ThrowIfCompleted();
            if (_waiter.IsPending)
            {
                throw new InvalidOperationException("AdvanceTo cannot be called while ReadAsync is pending.");
            }

            long consumedAt = Absolute(consumed);
            long examinedAt = Absolute(examined);
            if (consumedAt < HeadOffset() || consumedAt > _visibleEnd || examinedAt < consumedAt || examinedAt > _visibleEnd)
            {
                throw new InvalidOperationException("The positions passed to AdvanceTo are not inside the last buffer read, or examined is before consumed.");
            }

            _examinedEnd = Math.Max(_examinedEnd, examinedAt);

            // Release every segment wholly consumed. The one holding the next unconsumed byte stays (also when the
            // consumer stopped exactly at its end and it is the last visible one, to keep positions valid).
            while (_head is not null && _head.Done && _head.FileOffset + _head.Filled <= consumedAt && _head != _lastVisible)
            {
                Segment done = _head;
                _head = done.QueueNext;
                Recycle(done);
            }

            if (_head is not null && _head == _lastVisible && _head.Done && _head.FileOffset + _head.Filled == consumedAt
                && _head.Filled == _head.Requested)
            {
                // Fully consumed last visible segment: drop it too; the next segment (in flight) starts the view.
                Segment done = _head;
                _head = done.QueueNext;
                _lastVisible = null;
                Recycle(done);
            }

            if (_head is null)
            {
                _tail = null;
                _lastVisible = null;
                _headIndex = 0;
            }
            else
            {
                _headIndex = (int)Math.Max(0, consumedAt - _head.FileOffset);
            }

            TopUp(ref toIssue);
        }

        Issue(toIssue);
    }

    public override void CancelPendingRead()
    {
        bool signal = false;
        ReadResult result = default;
        lock (_lock)
        {
            if (_waiter.TryTake())
            {
                result = new ReadResult(Buffer(), isCanceled: true, isCompleted: false);
                signal = true;
            }
            else
            {
                _cancelNext = true;
            }
        }

        if (signal)
        {
            _waiter.SetResult(result);
        }
    }

    /// <summary>
    /// Completes the reader without waiting: reads still in flight (issued ahead, some past an end of file not known
    /// when they were issued) keep their segments until the kernel is done and are dropped then. With
    /// <see cref="UringPipeReaderOptions.LeaveOpen"/> false the file is disposed now (its descriptor closes when those
    /// reads have finished). <see cref="CompleteAsync"/> waits for them.
    /// </summary>
    public override void Complete(Exception? exception = null)
    {
        if (MarkCompleted() && !_leaveOpen)
        {
            _file.Dispose();
        }
    }

    /// <summary>Completes the reader and waits until no read it issued is in the kernel; then disposes the file unless left open.</summary>
    public override async ValueTask CompleteAsync(Exception? exception = null)
    {
        bool first = MarkCompleted();
        TaskCompletionSource? drained = null;
        lock (_lock)
        {
            if (_inFlight > 0)
            {
                drained = _drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        if (drained is not null)
        {
            await drained.Task.ConfigureAwait(false);
        }

        if (first && !_leaveOpen)
        {
            await _file.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Marks the reader completed; true for the call that did it.</summary>
    private bool MarkCompleted()
    {
        lock (_lock)
        {
            if (_completed)
            {
                return false;
            }

            _completed = true;

            // Segments still being read belong to their requests until those complete (they are pinned by them);
            // completions that arrive from now on are dropped.
            _head = _tail = _lastVisible = _free = null;
            return true;
        }
    }

    // ------------------------------------------------------------------------------------------------------------

    /// <summary>Issues reads while fewer than the limits are in flight or held. Called under the lock; the reads are started after it.</summary>
    private void TopUp(ref List<Segment>? toIssue)
    {
        while (!_completed && _error is null && _inFlight < _readsInFlight && _nextOffset < _endOffset)
        {
            Segment? s = _free;
            if (s is not null)
            {
                _free = s.QueueNext;
            }
            else if (_segments < _maxSegments || (_inFlight == 0 && _examinedEnd >= _visibleEnd))
            {
                // Over the limit only when the consumer has examined everything it holds and nothing is being read:
                // it needs more data before it can consume any (a message larger than the limit), and without one
                // more segment ReadAsync would wait forever.
                s = new Segment(this, _segmentSize);
                _segments++;
            }
            else
            {
                break;
            }

            s.Reset(_nextOffset, (int)Math.Min(_segmentSize, _endOffset - _nextOffset), _nextOffset - _startOffset);
            _nextOffset += s.Requested;
            if (_tail is null)
            {
                _head = _tail = s;
                _headIndex = 0;
            }
            else
            {
                _tail.QueueNext = s;
                _tail = s;
            }

            _inFlight++;
            (toIssue ??= []).Add(s);
        }
    }

    private void Issue(List<Segment>? segments)
    {
        if (segments is null)
        {
            return;
        }

        foreach (Segment s in segments)
        {
            s.StartRead(_file);
        }
    }

    private void Recycle(Segment s)
    {
        s.QueueNext = _free;
        _free = s;
    }

    /// <summary>Called when a segment's read completes (on an engine completion thread).</summary>
    private void OnReadCompleted(Segment s, int n, Exception? error)
    {
        List<Segment>? toIssue = null;
        bool signal = false;
        ReadResult result = default;
        Exception? signalError = null;
        TaskCompletionSource? drained = null;
        lock (_lock)
        {
            _inFlight--;
            if (_completed)
            {
                // Dropped; the last one wakes CompleteAsync.
                drained = _inFlight == 0 ? _drained : null;
            }
            else if (error is not null)
            {
                _error ??= error;
            }
            else if (s.FileOffset >= _endOffset)
            {
                // Beyond the end found by an earlier read: whatever this read returned is not part of the stream.
                s.Done = true;
            }
            else if (n == 0)
            {
                // End of file here; reads further on return 0 too and are ignored.
                _endOffset = Math.Min(_endOffset, s.FileOffset + s.Filled);
                s.Done = true;
            }
            else
            {
                s.Filled += n;
                if (s.Filled < s.Requested)
                {
                    // A short read: continue it before exposing anything after it.
                    _inFlight++;
                    (toIssue ??= []).Add(s);
                }
                else
                {
                    s.Done = true;
                }
            }

            if (!_completed)
            {
                ExtendVisible();
                TopUp(ref toIssue);
            }

            if (_waiter.IsPending && !_completed)
            {
                if (_error is not null)
                {
                    _ = _waiter.TryTake();
                    signalError = _error;
                    signal = true;
                }
                else if (HasResult())
                {
                    _ = _waiter.TryTake();
                    result = new ReadResult(Buffer(), isCanceled: false, isCompleted: IsEnd());
                    signal = true;
                }
            }
        }

        drained?.TrySetResult();
        Issue(toIssue);
        if (signal)
        {
            if (signalError is not null)
            {
                _waiter.SetException(signalError);
            }
            else
            {
                _waiter.SetResult(result);
            }
        }
    }

    /// <summary>Links every newly complete segment that follows the visible ones into the consumer's view.</summary>
    private void ExtendVisible()
    {
        Segment? next = _lastVisible is null ? _head : _lastVisible.QueueNext;
        while (next is not null && next.Done && next.FileOffset < _endOffset)
        {
            if (next.Filled == 0)
            {
                break;
            }

            next.Expose();
            _lastVisible?.Link(next);
            _lastVisible = next;
            _visibleEnd = next.FileOffset + next.Filled;
            next = next.QueueNext;
        }
    }

    private bool HasResult() => _visibleEnd > _examinedEnd || IsEnd();

    private bool IsEnd() => _visibleEnd >= _endOffset;

    private long HeadOffset() => _head is null ? _visibleEnd : _head.FileOffset + _headIndex;

    private ReadOnlySequence<byte> Buffer()
    {
        if (_head is null || _lastVisible is null || !_head.Done)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        return new ReadOnlySequence<byte>(_head, _headIndex, _lastVisible, _lastVisible.Filled);
    }

    private long Absolute(SequencePosition position)
    {
        if (position.GetObject() is Segment s)
        {
            return s.FileOffset + position.GetInteger();
        }

        // The empty buffer's positions.
        return HeadOffset();
    }

    private void ThrowIfCompleted()
    {
        if (_completed)
        {
            throw new InvalidOperationException("The reader was completed.");
        }
    }

    // ------------------------------------------------------------------------------------------------------------

    /// <summary>One read's buffer: a segment of the consumer's sequence once complete.</summary>
    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        private readonly UringFilePipeReader _owner;
        private readonly byte[] _buffer;
        private readonly Action _onCompleted;
        private ConfiguredValueTaskAwaitable<int>.ConfiguredValueTaskAwaiter _awaiter;

        public Segment(UringFilePipeReader owner, int size)
        {
            _owner = owner;
            // On the pinned object heap: the GC never has to work around it while the kernel fills it.
            _buffer = GC.AllocateUninitializedArray<byte>(size, pinned: true);
            _onCompleted = OnCompleted;
        }

        public long FileOffset { get; private set; }

        public int Requested { get; private set; }

        public int Filled { get; set; }

        public bool Done { get; set; }

        public Segment? QueueNext { get; set; }

        public void Reset(long fileOffset, int requested, long runningIndex)
        {
            FileOffset = fileOffset;
            Requested = requested;
            Filled = 0;
            Done = false;
            QueueNext = null;
            Next = null;
            Memory = default;
            RunningIndex = runningIndex;
        }

        public void Expose() => Memory = _buffer.AsMemory(0, Filled);

        public void Link(Segment next) => Next = next;

        /// <summary>Reads the rest of the segment (all of it the first time).</summary>
        public void StartRead(UringFile file)
        {
            ValueTask<int> read;
            try
            {
                read = file.ReadAsync(_buffer.AsMemory(Filled, Requested - Filled), FileOffset + Filled);
            }
            catch (Exception e)
            {
                _owner.OnReadCompleted(this, 0, e);
                return;
            }

            _awaiter = read.ConfigureAwait(false).GetAwaiter();
            if (_awaiter.IsCompleted)
            {
                OnCompleted();
            }
            else
            {
                _awaiter.UnsafeOnCompleted(_onCompleted);
            }
        }

        private void OnCompleted()
        {
            int n = 0;
            Exception? error = null;
            try
            {
                n = _awaiter.GetResult();
            }
            catch (Exception e)
            {
                error = e;
            }

            _awaiter = default;
            _owner.OnReadCompleted(this, n, error);
        }
    }
}
