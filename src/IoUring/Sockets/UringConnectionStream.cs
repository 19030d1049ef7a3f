using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace IoUring;

/// <summary>A <see cref="Stream"/> over a <see cref="UringConnection"/>'s pipes (see <see cref="UringConnection.AsStream"/>).</summary>
internal sealed class UringConnectionStream(UringConnection connection) : Stream
{
    private int _disposed;

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Flush() => FlushAsync().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Reads what the input pipe has (up to the buffer's size); 0 at end of stream (or, for an empty buffer, once data is available).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, typeof(UringConnection));
        PipeReader reader = connection.Input;
        if (buffer.IsEmpty)
        {
            // A zero-byte read waits until data is available (or the stream ends) and consumes nothing, as
            // NetworkStream's does: SocketsHttpHandler uses it to wait without holding a buffer, and an immediate 0
            // would read as end of stream.
            ReadResult ready = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            reader.AdvanceTo(ready.Buffer.Start);
            if (ready.IsCanceled)
            {
                throw new OperationCanceledException("The pending read was cancelled.");
            }

            return 0;
        }

        while (true)
        {
            ReadResult result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            ReadOnlySequence<byte> data = result.Buffer;
            if (result.IsCanceled)
            {
                reader.AdvanceTo(data.Start);
                throw new OperationCanceledException("The pending read was cancelled.");
            }

            if (!data.IsEmpty)
            {
                int n = (int)Math.Min(data.Length, buffer.Length);
                data.Slice(0, n).CopyTo(buffer.Span);
                reader.AdvanceTo(data.GetPosition(n));
                return n;
            }

            reader.AdvanceTo(data.End);
            if (result.IsCompleted)
            {
                return 0;
            }
        }
    }

    /// <summary>Writes and flushes (a stream write is expected to reach the peer without a separate flush).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, typeof(UringConnection));
        FlushResult result = await connection.Output.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        if (result.IsCanceled)
        {
            throw new OperationCanceledException("The flush was cancelled.");
        }

        if (result.IsCompleted)
        {
            throw new IOException("Unable to write data to the transport connection: the connection is closed.");
        }
    }

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, typeof(UringConnection));
        _ = await connection.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            connection.Output.Complete();
            connection.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await connection.Output.CompleteAsync().ConfigureAwait(false);
            await connection.DisposeAsync().ConfigureAwait(false);
        }

        GC.SuppressFinalize(this);
    }
}
