namespace IoUring;

// File-to-file copy: several chunks in flight, each read and then written at the same relative offset.
public sealed partial class UringFile
{
    /// <summary>
    /// Copies this file from its start to its end, as its length is when the copy starts, to <paramref name="destination"/>
    /// at offset 0, with several chunks in flight (<see cref="UringFileCopyOptions"/>' defaults).
    /// </summary>
    /// <param name="destination">The file to write; opened for writing. It is not truncated: bytes past the copied range stay.</param>
    /// <param name="cancellationToken">Cancels the copy; bytes already written stay written.</param>
    /// <returns>The number of bytes copied: fewer than the length at the start if the file shrank meanwhile.</returns>
    /// <exception cref="ObjectDisposedException">Either file is disposed.</exception>
    /// <exception cref="IoUringException">A read or a write failed (the first failure; the other chunks are awaited first).</exception>
    public ValueTask<long> CopyToAsync(UringFile destination, CancellationToken cancellationToken = default) =>
        CopyToAsync(destination, null, cancellationToken);

    /// <summary>
    /// Copies a range of this file to <paramref name="destination"/>: <see cref="UringFileCopyOptions.ChunksInFlight"/>
    /// chunks of <see cref="UringFileCopyOptions.ChunkSize"/> bytes are in flight at once, each read into a buffer of
    /// its own and then written at the matching destination offset, so the memory used is bounded by their product.
    /// Returns once every read and write has completed, also after a failure or a cancellation.
    /// </summary>
    /// <param name="destination">The file to write; opened for writing. It is not truncated: bytes past the copied range stay.</param>
    /// <param name="options">Offsets, length and chunking, or null for the defaults.</param>
    /// <param name="cancellationToken">Cancels the copy; bytes already written stay written.</param>
    /// <returns>The number of bytes copied: fewer than asked if the source ended (or shrank) first.</returns>
    /// <exception cref="ArgumentException">The destination is this file and the ranges overlap.</exception>
    /// <exception cref="ObjectDisposedException">Either file is disposed.</exception>
    /// <exception cref="NotSupportedException">This file is not readable or the destination is not writable.</exception>
    /// <exception cref="IoUringException">A read or a write failed (the first failure; the other chunks are awaited first).</exception>
    public async ValueTask<long> CopyToAsync(UringFile destination, UringFileCopyOptions? options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        options ??= UringFileCopyOptions.Default;
        options.Validate();
        ThrowIfClosed();
        destination.ThrowIfClosed();
        if ((Access & FileAccess.Read) == 0)
        {
            throw new NotSupportedException("The source file was not opened for reading.");
        }

        if ((destination.Access & FileAccess.Write) == 0)
        {
            throw new NotSupportedException("The destination file was not opened for writing.");
        }

        long end = options.Length is long l ? options.SourceOffset + l : Math.Max(options.SourceOffset, Length);
        if (ReferenceEquals(destination, this) || destination.Handle.DangerousGetHandle() == Handle.DangerousGetHandle())
        {
            long delta = options.DestinationOffset - options.SourceOffset;
            if (Math.Abs(delta) < end - options.SourceOffset)
            {
                throw new ArgumentException("The source and destination ranges of a copy within one file overlap.", nameof(destination));
            }
        }

        var copy = new FileCopy(this, destination, options, end, cancellationToken);
        return await copy.RunAsync().ConfigureAwait(false);
    }

    /// <summary>One copy in progress: workers claim chunks in order, read each fully, then write it.</summary>
    private sealed class FileCopy(UringFile source, UringFile destination, UringFileCopyOptions options, long end, CancellationToken cancellationToken)
    {
        /// <summary>The source offset of the next chunk to claim.</summary>
        private long _next = options.SourceOffset;

        /// <summary>The end of the range to copy.</summary>
        private readonly long _end = end;

        /// <summary>The lowest source offset where a read found the end of the file (the file shrank), or <see cref="_end"/>.</summary>
        private long _eof = end;

        /// <summary>The first failure; the other workers stop claiming once it is set.</summary>
        private Exception? _error;

        public async Task<long> RunAsync()
        {
            int workers = (int)Math.Clamp((_end - options.SourceOffset + options.ChunkSize - 1) / options.ChunkSize, 0, options.ChunksInFlight);
            if (workers == 0)
            {
                return 0;
            }

            var tasks = new Task[workers];
            for (int i = 0; i < workers; i++)
            {
                tasks[i] = WorkAsync();
            }

            // Every worker ends only once its own read or write has completed: no buffer is freed under the kernel.
            await Task.WhenAll(tasks).ConfigureAwait(false);
            if (_error is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(_error);
            }

            return Math.Max(0, Math.Min(_eof, _end) - options.SourceOffset);
        }

        private async Task WorkAsync()
        {
            // Native memory: pinning it for each request is a reference count, not a GC handle; Dispose frees it only
            // after the last request using it has completed.
            using var buffer = new NativeBuffer(options.ChunkSize);
            Memory<byte> memory = buffer.Memory;
            try
            {
                while (Volatile.Read(ref _error) is null)
                {
                    long offset = Interlocked.Add(ref _next, options.ChunkSize) - options.ChunkSize;
                    if (offset >= Volatile.Read(ref _eof))
                    {
                        return;
                    }

                    int want = (int)Math.Min(options.ChunkSize, _end - offset);
                    int filled = 0;
                    while (filled < want)
                    {
                        int n = await source.ReadAsync(memory[filled..want], offset + filled, cancellationToken).ConfigureAwait(false);
                        if (n == 0)
                        {
                            LowerEof(offset + filled);
                            break;
                        }

                        filled += n;
                    }

                    if (filled > 0)
                    {
                        await destination.WriteAsync(memory[..filled], offset - options.SourceOffset + options.DestinationOffset, cancellationToken).ConfigureAwait(false);
                    }
                }
            }
            catch (Exception e)
            {
                _ = Interlocked.CompareExchange(ref _error, e, null);
            }
        }

        private void LowerEof(long at)
        {
            long seen = Volatile.Read(ref _eof);
            while (at < seen)
            {
                long was = Interlocked.CompareExchange(ref _eof, at, seen);
                if (was == seen)
                {
                    return;
                }

                seen = was;
            }
        }
    }
}

/// <summary>Options of <see cref="UringFile.CopyToAsync(UringFile, UringFileCopyOptions?, CancellationToken)"/>.</summary>
public sealed class UringFileCopyOptions
{
    /// <summary>The defaults: 1 MiB chunks, 4 in flight, the whole source from offset 0 to offset 0.</summary>
    internal static readonly UringFileCopyOptions Default = new();

    /// <summary>Bytes per read and per write. Default 1 MiB.</summary>
    public int ChunkSize { get; init; } = 1024 * 1024;

    /// <summary>Chunks being read or written at once (each with a buffer of its own). Default 4.</summary>
    public int ChunksInFlight { get; init; } = 4;

    /// <summary>Where to start reading the source. Default 0.</summary>
    public long SourceOffset { get; init; }

    /// <summary>Where the first byte goes in the destination. Default 0.</summary>
    public long DestinationOffset { get; init; }

    /// <summary>Bytes to copy; null (default) for everything up to the source's length when the copy starts.</summary>
    public long? Length { get; init; }

    internal void Validate()
    {
        if (ChunkSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ChunkSize), ChunkSize, "ChunkSize must be positive.");
        }

        if (ChunksInFlight <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ChunksInFlight), ChunksInFlight, "ChunksInFlight must be positive.");
        }

        if (SourceOffset < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(SourceOffset), SourceOffset, "SourceOffset must be non-negative.");
        }

        if (DestinationOffset < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(DestinationOffset), DestinationOffset, "DestinationOffset must be non-negative.");
        }

        if (Length < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Length), Length, "Length must be non-negative.");
        }
    }
}
