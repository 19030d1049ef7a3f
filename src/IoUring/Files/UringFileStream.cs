using System.Runtime.CompilerServices;

namespace IoUring;

/// <summary>
/// A seekable, unbuffered <see cref="Stream"/> over a <see cref="UringFile"/>. Asynchronous reads and writes go through
/// the file's engine; the synchronous ones use <see cref="RandomAccess"/> (<c>pread</c>/<c>pwrite</c>) on the calling
/// thread. Like <see cref="FileStream"/>, one stream must not run two operations at once; open several streams over
/// one file for concurrent sequential access.
/// </summary>
internal sealed class UringFileStream : Stream
{
    private readonly UringFile _file;
    private readonly bool _leaveOpen;
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
            SeekOrigin.End => _file.Length + offset,
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
        RandomAccess.SetLength(_file.Handle, value);
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
        RandomAccess.Write(_file.Handle, buffer, _position);
        _position += buffer.Length;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        ThrowIfNotReadable();
        int n = await _file.ReadAsync(buffer, _position, cancellationToken).ConfigureAwait(false);
        _position += n;
        return n;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        ThrowIfNotWritable();
        await _file.WriteAsync(buffer, _position, cancellationToken).ConfigureAwait(false);
        _position += buffer.Length;
    }

    /// <summary>Nothing to do: the stream does not buffer. Durability is <see cref="UringFile.FlushAsync"/>.</summary>
    public override void Flush() => ThrowIfDisposed();

    public override Task FlushAsync(CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        return cancellationToken.IsCancellationRequested ? Task.FromCanceled(cancellationToken) : Task.CompletedTask;
    }

    protected override void Dispose(bool disposing)
    {
        if (!_disposed)
        {
            _disposed = true;
            if (disposing && !_leaveOpen)
            {
                _file.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            if (!_leaveOpen)
            {
                await _file.DisposeAsync().ConfigureAwait(false);
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
