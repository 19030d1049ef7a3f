using System.Runtime.CompilerServices;

namespace IoUring;

/// <summary>
/// A seekable <see cref="Stream"/> over a <see cref="UringFile"/> with its own position. Asynchronous reads and writes go
/// through the file's engines; the synchronous ones use <see cref="RandomAccess"/> (<c>pread</c>/<c>pwrite</c>) on the
/// calling thread. Like <see cref="FileStream"/>, one stream must not run two operations at once; open several streams
/// over one file for concurrent sequential access.
/// </summary>
/// <remarks>
/// <para>Reads land directly in the caller's buffer and see the file as it is at that moment. An asynchronous read first
/// copies what the page cache holds without waiting (<see cref="CachedRead"/>: one <c>preadv2(RWF_NOWAIT)</c> on the
/// calling thread, completing synchronously) and sends only the rest through the ring; sequential reads are read ahead
/// by the kernel's own read-ahead, which both paths trigger.</para>
/// <para>Asynchronous writes are written behind the caller (<see cref="WriteBehind"/>): copied into a few native
/// buffers and written from there while the caller goes on. Everything accepted is written and waited for before a
/// read, a length query, <c>SetLength</c>, a synchronous write, <c>Flush</c>/<c>FlushAsync</c> and dispose; a failed
/// write is reported by the next of those (or the next write).</para>
/// </remarks>
internal sealed class UringFileStream : Stream
{
    private readonly UringFile _file;
    private readonly bool _leaveOpen;
    private readonly CachedRead _cachedRead = new();

    /// <summary>Asynchronous reads served wholly from the page cache on the calling thread; for tests.</summary>
    internal long CachedReads { get; private set; }

    /// <summary>Asynchronous reads that found only their first part cached and read the rest through the ring; for tests.</summary>
    internal long PartlyCachedReads { get; private set; }

    /// <summary>Asynchronous reads that went (wholly or partly) through the ring; for tests.</summary>
    internal long RingReads { get; private set; }

    /// <summary>Write requests the write-behind issued (gathered buffers and direct writes); for tests.</summary>
    internal int WritesIssued => _writeBehind?.WritesIssued ?? 0;

    /// <summary>Made by the first asynchronous write.</summary>
    private WriteBehind? _writeBehind;
    private long _position;
    private bool _disposed;

    public UringFileStream(UringFile file, long position, bool leaveOpen)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        _file = file;
        _position = position;
        _leaveOpen = leaveOpen;
    }

    public override bool CanRead => !_disposed && (_file.Access & FileAccess.Read) != 0;

    public override bool CanWrite => !_disposed && (_file.Access & FileAccess.Write) != 0;

    public override bool CanSeek => !_disposed;

    public override long Length
    {
        get
        {
            ThrowIfDisposed();
            _writeBehind?.Drain();
            return _file.Length;
        }
    }

    public override long Position
    {
        get
        {
            ThrowIfDisposed();
            return _position;
        }

        set
        {
            ThrowIfDisposed();
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _position = value;
        }
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        ThrowIfDisposed();
        long target = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            SeekOrigin.End => Length + offset,
            _ => throw new ArgumentOutOfRangeException(nameof(origin), origin, "Unknown SeekOrigin."),
        };

        if (target < 0)
        {
            throw new IOException("An attempt was made to move the position before the beginning of the stream.");
        }

        _position = target;
        return target;
    }

    public override void SetLength(long value)
    {
        ThrowIfDisposed();
        ThrowIfNotWritable();
        _writeBehind?.Drain();
        RandomAccess.SetLength(_file.Handle, value);
        if (_position > value)
        {
            // As FileStream: a position past the new end moves to it.
            _position = value;
        }
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return Read(buffer.AsSpan(offset, count));
    }

    public override int Read(Span<byte> buffer)
    {
        ThrowIfDisposed();
        ThrowIfNotReadable();
        _writeBehind?.Drain();
        int n = RandomAccess.Read(_file.Handle, buffer, _position);
        _position += n;
        return n;
    }

    public override void Write(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        Write(buffer.AsSpan(offset, count));
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ThrowIfDisposed();
        ThrowIfNotWritable();
        _writeBehind?.Drain();
        RandomAccess.Write(_file.Handle, buffer, _position);
        _position += buffer.Length;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        ThrowIfNotReadable();
        if (_writeBehind is not null && !_writeBehind.IsIdle)
        {
            return DrainThenReadAsync(buffer, cancellationToken);
        }

        long position = _position;

        // What the page cache holds is copied at once on this thread; only the rest goes through the ring.
        int cached = cancellationToken.IsCancellationRequested ? -1 : _cachedRead.TryRead(_file, buffer.Span, position);
        if (cached == buffer.Length || cached == 0)
        {
            // All of it, or the end of the file.
            CachedReads++;
            _position = position + cached;
            return new ValueTask<int>(cached);
        }

        int done = Math.Max(cached, 0);
        PartlyCachedReads += done > 0 ? 1 : 0;
        RingReads++;
        ValueTask<int> read;
        try
        {
            read = _file.ReadAsync(buffer[done..], position + done, cancellationToken);
        }
        catch (Exception e) when (done > 0 && UringFile.IsReadFailure(e))
        {
            // The cached part is in the caller's buffer: return it (see AwaitReadAsync).
            _position = position + done;
            return new ValueTask<int>(done);
        }

        if (read.IsCompletedSuccessfully)
        {
            int n = done + read.Result;
            _position = position + n;
            return new ValueTask<int>(n);
        }

        return AwaitReadAsync(read, position, done);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> AwaitReadAsync(ValueTask<int> read, long position, int done)
    {
        // A read that found part of the range cached returns it with the rest (or only it, at the end of the file).
        int n;
        try
        {
            n = done + await read.ConfigureAwait(false);
        }
        catch (Exception e) when (done > 0 && UringFile.IsReadFailure(e))
        {
            // The ring's part was cancelled or failed after the cached part had been copied into the caller's buffer:
            // that part is returned as a short read, as read(2) returns what it read before an error, so a read that
            // throws has not changed it here (see docs/reliability.md for the kernel's one exception on the ring's part).
            // The next read meets the cancellation or the error again.
            n = done;
        }

        _position = position + n;
        return n;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> DrainThenReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        await _writeBehind!.DrainAsync(cancellationToken).ConfigureAwait(false);
        return await ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        ThrowIfNotWritable();
        long position = _position;
        ValueTask write = (_writeBehind ??= new WriteBehind(_file)).WriteAsync(buffer, position, cancellationToken);
        if (write.IsCompletedSuccessfully)
        {
            write.GetAwaiter().GetResult();
            _position = position + buffer.Length;
            return default;
        }

        return AwaitWriteAsync(write, position + buffer.Length);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask AwaitWriteAsync(ValueTask write, long end)
    {
        await write.ConfigureAwait(false);
        _position = end;
    }

    /// <summary>
    /// Copies the rest of this stream to <paramref name="destination"/>. Into another stream over a <see cref="UringFile"/>
    /// it is <see cref="UringFile.CopyToAsync(UringFile, UringFileCopyOptions?, CancellationToken)"/> (several chunks
    /// in flight, chunks of at least <paramref name="bufferSize"/> bytes) from this position to that one, and both
    /// positions move on by the bytes copied; into any other stream it is the usual read/write loop.
    /// </summary>
    public override Task CopyToAsync(Stream destination, int bufferSize, CancellationToken cancellationToken)
    {
        ValidateCopyToArguments(destination, bufferSize);
        if (destination is not UringFileStream target || ReferenceEquals(target._file, _file))
        {
            return base.CopyToAsync(destination, bufferSize, cancellationToken);
        }

        ThrowIfDisposed();
        ThrowIfNotReadable();
        target.ThrowIfDisposed();
        target.ThrowIfNotWritable();
        return CopyToUringAsync(target, bufferSize, cancellationToken);
    }

    private async Task CopyToUringAsync(UringFileStream target, int bufferSize, CancellationToken cancellationToken)
    {
        if (_writeBehind is not null)
        {
            await _writeBehind.DrainAsync(cancellationToken).ConfigureAwait(false);
        }

        if (target._writeBehind is not null)
        {
            await target._writeBehind.DrainAsync(cancellationToken).ConfigureAwait(false);
        }

        long length = _file.Length - _position;
        if (length <= 0)
        {
            return;
        }

        var options = new UringFileCopyOptions
        {
            SourceOffset = _position,
            DestinationOffset = target._position,
            Length = length,
            ChunkSize = Math.Max(bufferSize, 1024 * 1024),
        };
        long copied = await _file.CopyToAsync(target._file, options, cancellationToken).ConfigureAwait(false);
        _position += copied;
        target._position += copied;
    }

    /// <summary>Writes what the stream holds and waits for it (not a durability barrier: that is <see cref="UringFile.FlushAsync"/>).</summary>
    public override void Flush()
    {
        ThrowIfDisposed();
        _writeBehind?.Drain();
    }

    public override Task FlushAsync(CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled(cancellationToken);
        }

        return _writeBehind is null ? Task.CompletedTask : _writeBehind.DrainAsync(cancellationToken).AsTask();
    }

    protected override void Dispose(bool disposing)
    {
        if (!_disposed)
        {
            _disposed = true;
            if (disposing)
            {
                try
                {
                    // Like FileStream: what was accepted is written before the file goes (a failure is thrown here).
                    _writeBehind?.Drain();
                }
                finally
                {
                    _writeBehind?.Dispose();
                    if (!_leaveOpen)
                    {
                        _file.Dispose();
                    }
                }
            }
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            try
            {
                if (_writeBehind is not null)
                {
                    await _writeBehind.DrainAsync().ConfigureAwait(false);
                }
            }
            finally
            {
                _writeBehind?.Dispose();
                if (!_leaveOpen)
                {
                    await _file.DisposeAsync().ConfigureAwait(false);
                }
            }
        }

        GC.SuppressFinalize(this);
    }

    private void ThrowIfDisposed()
    {
        if (_disposed)
        {
            // What FileStream throws; this type is internal, so it is not named.
            FileChecks.ThrowClosed(null);
        }
    }

    private void ThrowIfNotReadable()
    {
        if ((_file.Access & FileAccess.Read) == 0)
        {
            throw new NotSupportedException("The file was not opened for reading.");
        }
    }

    private void ThrowIfNotWritable()
    {
        if ((_file.Access & FileAccess.Write) == 0)
        {
            throw new NotSupportedException("The file was not opened for writing.");
        }
    }
}
