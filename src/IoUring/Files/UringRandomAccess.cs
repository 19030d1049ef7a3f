using Microsoft.Win32.SafeHandles;

namespace IoUring;

/// <summary>
/// Drop-in replacements for <see cref="RandomAccess"/>'s asynchronous methods that use io_uring through
/// <see cref="IoUringEngineGroup.Default"/> (one engine per core) instead of a thread-pool thread blocked in
/// <c>pread</c>/<c>pwrite</c>. Same arguments, same results, same exceptions for bad arguments and I/O errors
/// (<see cref="ArgumentOutOfRangeException"/> for a negative offset, <see cref="ObjectDisposedException"/> for a closed
/// handle, <see cref="UnauthorizedAccessException"/> for a handle not opened for the access); buffers stay pinned until
/// the kernel is done with them. Unlike <see cref="RandomAccess"/>, an unseekable handle (a pipe) is not refused: the
/// offset is ignored there.
/// </summary>
public static class UringRandomAccess
{
    /// <summary>Reads from <paramref name="fileOffset"/>, like <see cref="RandomAccess.ReadAsync(SafeFileHandle, Memory{byte}, long, CancellationToken)"/>.</summary>
    /// <param name="handle">The file.</param>
    /// <param name="buffer">Where to read to.</param>
    /// <param name="fileOffset">The offset.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The bytes read; 0 at the end of the file.</returns>
    public static ValueTask<int> ReadAsync(SafeFileHandle handle, Memory<byte> buffer, long fileOffset, CancellationToken cancellationToken = default)
    {
        ValidateInput(handle, fileOffset);
        return IoUringEngineGroup.Default.Current.ReadAsync(handle, buffer, fileOffset, cancellationToken);
    }

    /// <summary>Writes everything at <paramref name="fileOffset"/>, like <see cref="RandomAccess.WriteAsync(SafeFileHandle, ReadOnlyMemory{byte}, long, CancellationToken)"/>.</summary>
    /// <param name="handle">The file.</param>
    /// <param name="buffer">What to write.</param>
    /// <param name="fileOffset">The offset.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when every byte is written.</returns>
    public static ValueTask WriteAsync(SafeFileHandle handle, ReadOnlyMemory<byte> buffer, long fileOffset, CancellationToken cancellationToken = default)
    {
        ValidateInput(handle, fileOffset);
        return IoUringEngineGroup.Default.Current.WriteAsync(handle, buffer, fileOffset, cancellationToken);
    }

    /// <summary>Scatter read, like <see cref="RandomAccess.ReadAsync(SafeFileHandle, IReadOnlyList{Memory{byte}}, long, CancellationToken)"/>.</summary>
    /// <param name="handle">The file.</param>
    /// <param name="buffers">The buffers, filled in order.</param>
    /// <param name="fileOffset">The offset.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The total bytes read.</returns>
    public static ValueTask<long> ReadAsync(SafeFileHandle handle, IReadOnlyList<Memory<byte>> buffers, long fileOffset, CancellationToken cancellationToken = default)
    {
        ValidateInput(handle, fileOffset);
        ArgumentNullException.ThrowIfNull(buffers);
        return IoUringEngineGroup.Default.Current.ReadAsync(handle, buffers, fileOffset, cancellationToken);
    }

    /// <summary>Gather write, like <see cref="RandomAccess.WriteAsync(SafeFileHandle, IReadOnlyList{ReadOnlyMemory{byte}}, long, CancellationToken)"/>.</summary>
    /// <param name="handle">The file.</param>
    /// <param name="buffers">The buffers, written in order.</param>
    /// <param name="fileOffset">The offset.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when every byte is written.</returns>
    public static ValueTask WriteAsync(SafeFileHandle handle, IReadOnlyList<ReadOnlyMemory<byte>> buffers, long fileOffset, CancellationToken cancellationToken = default)
    {
        ValidateInput(handle, fileOffset);
        ArgumentNullException.ThrowIfNull(buffers);
        return IoUringEngineGroup.Default.Current.WriteAsync(handle, buffers, fileOffset, cancellationToken);
    }

    private static void ValidateInput(SafeFileHandle handle, long fileOffset)
    {
        FileChecks.ValidateHandle(handle);
        FileChecks.ValidateOffset(fileOffset);
    }
}
