using IoUring.Interop;
using Microsoft.Win32.SafeHandles;

namespace IoUring;

// I/O and metadata: positional reads and writes (single, with a deadline, vectored), flush, preallocate, length, stat, stream.
public sealed partial class UringFile
{
    /// <summary>Reads into <paramref name="buffer"/> from <paramref name="fileOffset"/>, like <see cref="RandomAccess.ReadAsync(SafeFileHandle, Memory{byte}, long, CancellationToken)"/>.</summary>
    /// <param name="buffer">Where to read to; pinned until the read completes.</param>
    /// <param name="fileOffset">The file offset.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>
    /// The bytes read: fewer than asked near the end of the file, 0 at or past it, and (only when the page cache held the
    /// first part of the range) the cached part alone when reading the rest was cancelled or failed.
    /// </returns>
    /// <remarks>
    /// Called from a continuation running alone on its engine's thread (the engine has nothing else to do: a queue
    /// depth of one), a read of data the page cache holds is served on the spot with a non-blocking <c>preadv2</c>
    /// (<c>RWF_NOWAIT</c>) and completes synchronously, instead of a round trip through the ring; at most 32 in a row,
    /// then one goes through the ring so the engine's loop runs. Anything else (data not cached, other requests in
    /// flight, another thread, <c>O_DIRECT</c>) is a ring request.
    /// </remarks>
    public ValueTask<int> ReadAsync(Memory<byte> buffer, long fileOffset, CancellationToken cancellationToken = default)
    {
        FileChecks.ValidateOffset(fileOffset);
        ThrowIfClosed();
        IoUringEngine engine = Target(out int slot);
        if (!cancellationToken.IsCancellationRequested && engine.TryTakeInlineRead() && _cachedRead.TryRead(this, buffer.Span, fileOffset) is int n and >= 0)
        {
            engine.CountInlineRead(n);

            // All of it was cached, or the file ends there (0 only at the end); otherwise only the first pages were: the
            // ring reads the rest.
            return n == buffer.Length || n == 0
                ? new ValueTask<int>(n)
                : ReadRestAsync(engine, buffer, fileOffset, n, cancellationToken, slot);
        }

        return engine.ReadAsync(_handle, buffer, fileOffset, this, cancellationToken, slot);
    }

    /// <summary>
    /// Reads the part of a read after its first <paramref name="cached"/> bytes, which came from the page cache on the
    /// spot. If that part is cancelled or fails, the read returns the cached part (a short read, as
    /// <see cref="RandomAccess.ReadAsync(SafeFileHandle, Memory{byte}, long, CancellationToken)"/> may return): the bytes
    /// are in the caller's buffer, and an error comes back on the next read. Rare (a range only partly cached), so the
    /// state machine this allocates does not matter.
    /// </summary>
    private async ValueTask<int> ReadRestAsync(IoUringEngine engine, Memory<byte> buffer, long fileOffset, int cached, CancellationToken cancellationToken, int slot)
    {
        try
        {
            return cached + await engine.ReadAsync(_handle, buffer[cached..], fileOffset + cached, this, cancellationToken, slot).ConfigureAwait(false);
        }
        catch (Exception e) when (IsReadFailure(e))
        {
            return cached;
        }
    }

    /// <summary>What a read through the ring throws when it is cancelled, the file or engine closes, or the kernel fails it.</summary>
    internal static bool IsReadFailure(Exception e) => e is OperationCanceledException or ObjectDisposedException or IOException or UnauthorizedAccessException;

    /// <summary>Writes all of <paramref name="buffer"/> at <paramref name="fileOffset"/>, like <see cref="RandomAccess.WriteAsync(SafeFileHandle, ReadOnlyMemory{byte}, long, CancellationToken)"/>.</summary>
    /// <param name="buffer">What to write; pinned until the write completes.</param>
    /// <param name="fileOffset">The file offset.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when every byte is written.</returns>
    public ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, long fileOffset, CancellationToken cancellationToken = default)
    {
        FileChecks.ValidateOffset(fileOffset);
        ThrowIfClosed();
        return Target(out int slot).WriteAsync(_handle, buffer, fileOffset, this, cancellationToken, slot);
    }

    /// <summary>
    /// Like <see cref="ReadAsync(Memory{byte}, long, CancellationToken)"/>, with a deadline the kernel enforces: the read
    /// is linked to an <c>IORING_OP_LINK_TIMEOUT</c> and cancelled when <paramref name="timeout"/> passes first (useful on
    /// FIFOs, character devices and network file systems; a regular file read the kernel is already copying finishes).
    /// </summary>
    /// <param name="buffer">Where to read to; pinned until the read completes.</param>
    /// <param name="fileOffset">The file offset.</param>
    /// <param name="timeout">How long the read may take; <see cref="Timeout.InfiniteTimeSpan"/> for no limit.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The bytes read.</returns>
    /// <exception cref="TimeoutException">The timeout passed first; the read was cancelled.</exception>
    public ValueTask<int> ReadAsync(Memory<byte> buffer, long fileOffset, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        FileChecks.ValidateOffset(fileOffset);
        RequestDeadline deadline = RequestDeadline.After(timeout);
        ThrowIfClosed();
        return Target(out int slot).ReadAsync(_handle, buffer, fileOffset, this, cancellationToken, slot, deadline);
    }

    /// <summary>Like <see cref="WriteAsync(ReadOnlyMemory{byte}, long, CancellationToken)"/>, with a kernel-side deadline (<c>IORING_OP_LINK_TIMEOUT</c>) shared by the write and its resubmissions.</summary>
    /// <param name="buffer">What to write; pinned until the write completes.</param>
    /// <param name="fileOffset">The file offset.</param>
    /// <param name="timeout">How long the write may take; <see cref="Timeout.InfiniteTimeSpan"/> for no limit.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when every byte is written.</returns>
    /// <exception cref="TimeoutException">The timeout passed first; bytes already written stay written.</exception>
    public ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, long fileOffset, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        FileChecks.ValidateOffset(fileOffset);
        RequestDeadline deadline = RequestDeadline.After(timeout);
        ThrowIfClosed();
        return Target(out int slot).WriteAsync(_handle, buffer, fileOffset, this, cancellationToken, slot, deadline);
    }

    /// <summary>Reads into several buffers in order from <paramref name="fileOffset"/> (<c>preadv</c>).</summary>
    /// <param name="buffers">The buffers, at most <see cref="IoUringEngine.MaxIoVecs"/>.</param>
    /// <param name="fileOffset">The file offset.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The total bytes read.</returns>
    public ValueTask<long> ReadAsync(IReadOnlyList<Memory<byte>> buffers, long fileOffset, CancellationToken cancellationToken = default)
    {
        FileChecks.ValidateOffset(fileOffset);
        ThrowIfClosed();
        return Target(out int slot).ReadAsync(_handle, buffers, fileOffset, this, cancellationToken, slot);
    }

    /// <summary>Writes several buffers in order at <paramref name="fileOffset"/> (<c>pwritev</c>, repeated after short writes).</summary>
    /// <param name="buffers">The buffers, at most <see cref="IoUringEngine.MaxIoVecs"/>.</param>
    /// <param name="fileOffset">The file offset.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when every byte is written.</returns>
    public ValueTask WriteAsync(IReadOnlyList<ReadOnlyMemory<byte>> buffers, long fileOffset, CancellationToken cancellationToken = default)
    {
        FileChecks.ValidateOffset(fileOffset);
        ThrowIfClosed();
        return Target(out int slot).WriteAsync(_handle, buffers, fileOffset, this, cancellationToken, slot);
    }

    /// <summary>Makes written data durable: <c>fsync</c>, or <c>fdatasync</c> with <paramref name="dataOnly"/>.</summary>
    /// <param name="dataOnly">Skip metadata not needed to read the data back.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the data is on the device.</returns>
    public ValueTask FlushAsync(bool dataOnly = false, CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        return Target(out int slot).FlushAsync(_handle, dataOnly, this, cancellationToken, slot);
    }

    /// <summary>Allocates disk space for a range (<c>fallocate</c>), so later writes there cannot fail with <c>ENOSPC</c>.</summary>
    /// <param name="offset">Start of the range.</param>
    /// <param name="length">Length of the range.</param>
    /// <param name="keepSize">True to leave the file's length unchanged; false to extend it to the end of the range.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the space is allocated.</returns>
    public ValueTask PreallocateAsync(long offset, long length, bool keepSize = false, CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        return Target(out int slot).AllocateAsync(_handle, offset, length, keepSize, this, cancellationToken, slot);
    }

    /// <summary>Sets the file's length (<c>ftruncate</c>).</summary>
    /// <param name="length">The new length.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the length is set.</returns>
    public ValueTask SetLengthAsync(long length, CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        return Target(out int slot).SetLengthAsync(_handle, length, this, cancellationToken, slot);
    }

    /// <summary>Reads the file's metadata (<c>statx</c>).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The metadata.</returns>
    public ValueTask<Statx> StatAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        return (_engine ?? _group!.Current).StatAsync(_handle, cancellationToken);
    }

    /// <summary>The file's length, read with <c>statx</c> through the engine.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The length in bytes.</returns>
    public async ValueTask<long> GetLengthAsync(CancellationToken cancellationToken = default) =>
        (long)(await StatAsync(cancellationToken).ConfigureAwait(false)).FileSize;

    /// <summary>A <see cref="Stream"/> over the file with its own position, whose async methods use the engine.</summary>
    /// <param name="position">The stream's starting position.</param>
    /// <param name="leaveOpen">False to dispose the file when the stream is disposed.</param>
    /// <returns>The stream.</returns>
    public Stream AsStream(long position = 0, bool leaveOpen = true)
    {
        ThrowIfClosed();
        return new UringFileStream(this, position, leaveOpen);
    }
}
