using System.IO.Pipelines;

namespace IoUring;

/// <summary>System.IO.Pipelines over a <see cref="UringFile"/>: sequential streaming with several I/Os in flight.</summary>
public static class UringFilePipe
{
    /// <summary>
    /// A <see cref="PipeReader"/> that streams the file from <see cref="UringPipeReaderOptions.StartOffset"/> to its end
    /// (or <see cref="UringPipeReaderOptions.Length"/> bytes), keeping <see cref="UringPipeReaderOptions.ReadsInFlight"/>
    /// reads in flight ahead of the consumer. Data is returned in file order without copying: each read lands in its
    /// own segment of the returned <see cref="System.Buffers.ReadOnlySequence{T}"/>.
    /// </summary>
    /// <param name="file">The file to read.</param>
    /// <param name="options">Options, or null for defaults.</param>
    /// <returns>The reader. Call <see cref="PipeReader.Complete(Exception?)"/> when done.</returns>
    public static PipeReader CreateReader(UringFile file, UringPipeReaderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(file);
        options ??= new UringPipeReaderOptions();
        options.Validate();
        return new UringFilePipeReader(file, options);
    }

    /// <summary>
    /// A <see cref="PipeWriter"/> that writes sequentially from <see cref="UringPipeWriterOptions.StartOffset"/>. Each full
    /// segment is handed over for writing as soon as it is complete while the producer keeps going: at most two writes
    /// are in flight, and the segments handed over meanwhile go out together as the next one (a gather write in file
    /// order), so small flushes reach the kernel as few large requests. <see cref="PipeWriter.FlushAsync(CancellationToken)"/>
    /// hands over the partial segment and waits only while more than
    /// <see cref="UringPipeWriterOptions.PauseWriterThreshold"/> bytes are handed over and not written yet (back-pressure,
    /// as <see cref="System.IO.Pipelines.Pipe"/>'s pause threshold), and <see cref="PipeWriter.CompleteAsync(Exception?)"/>
    /// waits for all of them and reports a failed write.
    /// </summary>
    /// <param name="file">The file to write; opened for writing.</param>
    /// <param name="options">Options, or null for defaults.</param>
    /// <returns>The writer. Call <see cref="PipeWriter.CompleteAsync(Exception?)"/> when done.</returns>
    public static PipeWriter CreateWriter(UringFile file, UringPipeWriterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(file);
        options ??= new UringPipeWriterOptions();
        options.Validate();
        return new UringFilePipeWriter(file, options);
    }
}

/// <summary>Options of <see cref="UringFilePipe.CreateReader"/>.</summary>
public sealed class UringPipeReaderOptions
{
    /// <summary>Bytes per read and per segment of the returned buffers. Default 64 KiB.</summary>
    public int SegmentSize { get; init; } = 64 * 1024;

    /// <summary>
    /// Reads kept in flight ahead of the consumer. 0 (default) for about 1 MiB ahead: 1 MiB / <see cref="SegmentSize"/>
    /// reads, at least 1 and at most 4 (4 for 64 KiB segments, 1 for 1 MiB ones). Large segments need no more: the
    /// kernel's read-ahead grows with the request, and fewer segments in rotation keep the copies in the CPU's cache.
    /// </summary>
    public int ReadsInFlight { get; init; }

    /// <summary>The reads kept in flight: <see cref="ReadsInFlight"/>, or the default for the segment size.</summary>
    internal int EffectiveReadsInFlight => ReadsInFlight > 0 ? ReadsInFlight : (int)Math.Clamp(DefaultAhead / Math.Max(1, SegmentSize), 1, 4);

    /// <summary>Bytes the default <see cref="ReadsInFlight"/> keeps in flight.</summary>
    private const long DefaultAhead = 1024 * 1024;

    /// <summary>
    /// Segments the reader may hold in total (in flight plus read but not yet consumed). Default twice
    /// <see cref="ReadsInFlight"/>. A consumer that has examined everything it holds without consuming (it waits for a
    /// message larger than the limit) still gets more: the reader then reads one more segment at a time.
    /// </summary>
    public int MaxSegments { get; init; }

    /// <summary>The file offset to start at. Default 0.</summary>
    public long StartOffset { get; init; }

    /// <summary>Read at most this many bytes; null to read to the end of the file.</summary>
    public long? Length { get; init; }

    /// <summary>False to dispose the file when the reader is completed. Default true.</summary>
    public bool LeaveOpen { get; init; } = true;

    internal int EffectiveMaxSegments => MaxSegments > 0 ? MaxSegments : EffectiveReadsInFlight * 2;

    internal void Validate()
    {
        if (SegmentSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(SegmentSize), SegmentSize, "SegmentSize must be positive.");
        }

        if (ReadsInFlight < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ReadsInFlight), ReadsInFlight, "ReadsInFlight must be 0 (default) or positive.");
        }

        if (MaxSegments < 0 || (MaxSegments > 0 && MaxSegments < EffectiveReadsInFlight))
        {
            throw new ArgumentOutOfRangeException(nameof(MaxSegments), MaxSegments, "MaxSegments must be 0 (default) or at least ReadsInFlight.");
        }

        if (StartOffset < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(StartOffset), StartOffset, "StartOffset must be non-negative.");
        }

        if (Length < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Length), Length, "Length must be non-negative.");
        }
    }
}

/// <summary>Options of <see cref="UringFilePipe.CreateWriter"/>.</summary>
public sealed class UringPipeWriterOptions
{
    /// <summary>Bytes per segment (a flush hands over a partial one). Default 64 KiB.</summary>
    public int SegmentSize { get; init; } = 64 * 1024;

    /// <summary>
    /// Bytes handed over and not yet written beyond which <see cref="PipeWriter.FlushAsync(CancellationToken)"/> waits
    /// (until they are at most this many again): the bound on the memory the writer holds, besides the segment being
    /// filled. 0 (default) for four segments or 1 MiB, whichever is more.
    /// </summary>
    public long PauseWriterThreshold { get; init; }

    /// <summary>The file offset of the first byte written. Default 0.</summary>
    public long StartOffset { get; init; }

    /// <summary>False to dispose the file when the writer is completed. Default true.</summary>
    public bool LeaveOpen { get; init; } = true;

    internal long EffectivePauseWriterThreshold => PauseWriterThreshold > 0 ? PauseWriterThreshold : Math.Max(4L * SegmentSize, 1024 * 1024);

    internal void Validate()
    {
        if (SegmentSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(SegmentSize), SegmentSize, "SegmentSize must be positive.");
        }

        if (PauseWriterThreshold < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(PauseWriterThreshold), PauseWriterThreshold, "PauseWriterThreshold must be 0 (default) or positive.");
        }

        if (StartOffset < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(StartOffset), StartOffset, "StartOffset must be non-negative.");
        }
    }
}
