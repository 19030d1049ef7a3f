using System.IO.Pipelines;

namespace IoUring.Benchmarks.Compare;

/// <summary>
/// The <c>seq</c> scenario (issue 14): whole-file sequential reads (hot and cold), sequential writes of the same size
/// (with and without a final fsync) and a file-to-file copy, each with a 64 KiB and a 1 MiB buffer, written the way a
/// newcomer writes them: <see cref="FileStream"/> (async and sync), <c>PipeReader.Create</c>/<c>PipeWriter.Create</c>
/// over a <see cref="FileStream"/>, <see cref="Stream.CopyToAsync(Stream, int)"/> between two of them, and the library's
/// <see cref="UringFile"/> on the default engines (<see cref="UringFile.AsStream"/>, <see cref="UringFilePipe"/>,
/// <see cref="UringFile.CopyToAsync(UringFile, UringFileCopyOptions?, CancellationToken)"/>). One run is one pass
/// over the data file; its "ops" are bytes, so the report shows MB/s and CPU ms per GiB.
/// </summary>
internal static class SeqContenders
{
    public const string FileStreamAsync = "filestream-async";
    public const string FileStreamSync = "filestream-sync";

    /// <summary><c>PipeReader.Create(FileStream)</c> for reads, <c>PipeWriter.Create(FileStream)</c> for writes.</summary>
    public const string FileStreamPipe = "pipe-filestream";

    /// <summary><c>source.CopyToAsync(destination, buffer)</c> between two async FileStreams.</summary>
    public const string FileStreamCopy = "copyto-filestream";
    public const string UringStream = "uring-stream";
    public const string UringPipe = "uring-pipe";
    public const string UringCopy = "uring-copy";

    public const string ReadHot = "read hot";
    public const string ReadCold = "read cold";
    public const string Write = "write";
    public const string WriteFsync = "write+fsync";
    public const string Copy = "copy";

    /// <summary>The cases in the order they run and are reported.</summary>
    public static readonly string[] Cases = [ReadHot, ReadCold, Write, WriteFsync, Copy];

    public static readonly int[] Buffers = [64 * 1024, 1024 * 1024];

    public static readonly string[] All = [FileStreamAsync, FileStreamSync, FileStreamPipe, FileStreamCopy, UringStream, UringPipe, UringCopy];

    /// <summary>The contenders of a case (copy has its own two; reads and writes the other five).</summary>
    public static IEnumerable<string> ContendersOf(string @case) => @case == Copy
        ? [FileStreamCopy, UringCopy]
        : [FileStreamAsync, FileStreamSync, FileStreamPipe, UringStream, UringPipe];

    /// <summary>Runs one pass and measures it. Hot runs start with the data file cached, cold ones with it evicted.</summary>
    public static RunResult Run(Row row, DataFile file, long limit = -1)
    {
        long size = limit > 0 ? Math.Min(limit, file.Size) : file.Size;
        string output = Path.Combine(Path.GetDirectoryName(file.Path)!, $"iouring-seq-{Environment.ProcessId}.out");
        bool writes = row.Case is Write or WriteFsync or Copy;
        if (row.Case == ReadCold)
        {
            file.Evict();
        }
        else
        {
            // Hot as a file is after it was written or read start to end: cached in large folios, every page touched.
            _ = file.RecacheSequentially();
        }

        if (writes)
        {
            // A write pass fills a new file's worth of fresh page cache. On this VM, memory the guest freed is
            // reclaimed by the host unless touched again within seconds, and the first touch of a reclaimed page is
            // a host fault: without this, a pass ran at 1.1 or 2.5+ GB/s at random, whatever the contender. Writing
            // and deleting a file of the same size just before the pass hands it memory the host backs.
            PageReporting.Warm(Path.GetDirectoryName(file.Path)!, size);
        }

        byte[] source = new byte[row.Buffer];
        new Random(row.Buffer).NextBytes(source);
        try
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            Snapshot begin = Snapshot.Begin();
            long bytes = Task.Run(() => PassAsync(row, file.Path, output, size, source)).GetAwaiter().GetResult();
            Snapshot end = Snapshot.End();
            if (bytes != size)
            {
                throw new IOException($"{row.Contender} {row.Case}: moved {bytes:N0} bytes, expected {size:N0}");
            }

            if (writes && new FileInfo(output).Length != size)
            {
                throw new IOException($"{row.Contender} {row.Case}: the output file has {new FileInfo(output).Length:N0} bytes, expected {size:N0}");
            }

            int threads = ThreadPool.ThreadCount + (row.Contender.StartsWith("uring", StringComparison.Ordinal) ? IoUringEngineGroup.Default.Count : 0);
            return RunResult.FromSnapshots(begin, end, bytes, syscalls: null, misses: null, threads);
        }
        finally
        {
            if (writes)
            {
                // Deleting drops the dirty pages of an unsynced run: nothing is left to write back during the next run.
                File.Delete(output);
            }
        }
    }

    private static Task<long> PassAsync(Row row, string input, string output, long size, byte[] source) => row.Case switch
    {
        ReadHot or ReadCold => ReadAsync(row.Contender, input, row.Buffer, size),
        Write or WriteFsync => WriteAsync(row.Contender, output, row.Buffer, size, source, row.Case == WriteFsync),
        _ => CopyAsync(row.Contender, input, output, row.Buffer, size),
    };

    private static async Task<long> ReadAsync(string contender, string path, int bufferSize, long size)
    {
        byte[] buffer = new byte[bufferSize];
        long total = 0;
        switch (contender)
        {
            case FileStreamAsync:
            {
                await using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 4096, FileOptions.Asynchronous);
                int n;
                while (total < size && (n = await fs.ReadAsync(buffer.AsMemory(0, (int)Math.Min(bufferSize, size - total))).ConfigureAwait(false)) > 0)
                {
                    total += n;
                }

                return total;
            }

            case FileStreamSync:
            {
                using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 4096, FileOptions.None);
                int n;
                while (total < size && (n = fs.Read(buffer.AsSpan(0, (int)Math.Min(bufferSize, size - total)))) > 0)
                {
                    total += n;
                }

                return total;
            }

            case FileStreamPipe:
            {
                await using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 4096, FileOptions.Asynchronous);
                PipeReader reader = PipeReader.Create(fs, new StreamPipeReaderOptions(bufferSize: bufferSize, minimumReadSize: Math.Min(bufferSize, 4096), leaveOpen: true));
                total = await DrainAsync(reader, size).ConfigureAwait(false);
                await reader.CompleteAsync().ConfigureAwait(false);
                return total;
            }

            case UringStream:
            {
                using UringFile file = UringFile.Open(path);
                await using Stream s = file.AsStream();
                int n;
                while (total < size && (n = await s.ReadAsync(buffer.AsMemory(0, (int)Math.Min(bufferSize, size - total))).ConfigureAwait(false)) > 0)
                {
                    total += n;
                }

                return total;
            }

            case UringPipe:
            {
                using UringFile file = UringFile.Open(path);
                PipeReader reader = UringFilePipe.CreateReader(file, new UringPipeReaderOptions { SegmentSize = bufferSize, Length = size });
                total = await DrainAsync(reader, size).ConfigureAwait(false);
                await reader.CompleteAsync().ConfigureAwait(false);
                return total;
            }

            default:
                throw new ArgumentException($"unknown seq read contender {contender}");
        }
    }

    /// <summary>Consumes everything the reader returns, up to <paramref name="size"/> bytes.</summary>
    private static async Task<long> DrainAsync(PipeReader reader, long size)
    {
        long total = 0;
        while (true)
        {
            ReadResult r = await reader.ReadAsync().ConfigureAwait(false);
            long have = r.Buffer.Length;
            if (total + have >= size)
            {
                reader.AdvanceTo(r.Buffer.GetPosition(size - total));
                return size;
            }

            total += have;
            reader.AdvanceTo(r.Buffer.End);
            if (r.IsCompleted)
            {
                return total;
            }
        }
    }

    private static async Task<long> WriteAsync(string contender, string path, int bufferSize, long size, byte[] source, bool fsync)
    {
        long total = 0;
        switch (contender)
        {
            case FileStreamAsync:
            case FileStreamSync:
            {
                bool async = contender == FileStreamAsync;
                await using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 4096, async ? FileOptions.Asynchronous : FileOptions.None);
                while (total < size)
                {
                    int n = (int)Math.Min(bufferSize, size - total);
                    if (async)
                    {
                        await fs.WriteAsync(source.AsMemory(0, n)).ConfigureAwait(false);
                    }
                    else
                    {
                        fs.Write(source, 0, n);
                    }

                    total += n;
                }

                fs.Flush(flushToDisk: fsync);
                return total;
            }

            case FileStreamPipe:
            {
                await using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.Asynchronous);
                PipeWriter writer = PipeWriter.Create(fs, new StreamPipeWriterOptions(minimumBufferSize: bufferSize, leaveOpen: true));
                total = await ProduceAsync(writer, bufferSize, size, source).ConfigureAwait(false);
                await writer.CompleteAsync().ConfigureAwait(false);
                fs.Flush(flushToDisk: fsync);
                return total;
            }

            case UringStream:
            {
                using UringFile file = UringFile.Open(path, FileMode.Create, FileAccess.Write, FileShare.None);
                await using (Stream s = file.AsStream())
                {
                    while (total < size)
                    {
                        int n = (int)Math.Min(bufferSize, size - total);
                        await s.WriteAsync(source.AsMemory(0, n)).ConfigureAwait(false);
                        total += n;
                    }

                    await s.FlushAsync().ConfigureAwait(false);
                }

                if (fsync)
                {
                    await file.FlushAsync().ConfigureAwait(false);
                }

                return total;
            }

            case UringPipe:
            {
                using UringFile file = UringFile.Open(path, FileMode.Create, FileAccess.Write, FileShare.None);
                PipeWriter writer = UringFilePipe.CreateWriter(file, new UringPipeWriterOptions { SegmentSize = bufferSize });
                total = await ProduceAsync(writer, bufferSize, size, source).ConfigureAwait(false);
                await writer.CompleteAsync().ConfigureAwait(false);
                if (fsync)
                {
                    await file.FlushAsync().ConfigureAwait(false);
                }

                return total;
            }

            default:
                throw new ArgumentException($"unknown seq write contender {contender}");
        }
    }

    /// <summary>A producer that copies each buffer's worth into the writer's memory and flushes it.</summary>
    private static async Task<long> ProduceAsync(PipeWriter writer, int bufferSize, long size, byte[] source)
    {
        long total = 0;
        while (total < size)
        {
            int n = (int)Math.Min(bufferSize, size - total);
            source.AsSpan(0, n).CopyTo(writer.GetSpan(n));
            writer.Advance(n);
            total += n;
            _ = await writer.FlushAsync().ConfigureAwait(false);
        }

        return total;
    }

    private static async Task<long> CopyAsync(string contender, string input, string output, int bufferSize, long size)
    {
        switch (contender)
        {
            case FileStreamCopy:
            {
                await using var src = new FileStream(input, FileMode.Open, FileAccess.Read, FileShare.Read, 4096, FileOptions.Asynchronous);
                await using var dst = new FileStream(output, FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.Asynchronous);
                if (size < src.Length)
                {
                    await new PartialCopy(src, size).CopyToAsync(dst, bufferSize).ConfigureAwait(false);
                }
                else
                {
                    await src.CopyToAsync(dst, bufferSize).ConfigureAwait(false);
                }

                return dst.Length;
            }

            case UringCopy:
            {
                using UringFile src = UringFile.Open(input);
                using UringFile dst = UringFile.Open(output, FileMode.Create, FileAccess.Write, FileShare.None);
                return await src.CopyToAsync(dst, new UringFileCopyOptions { ChunkSize = bufferSize, Length = size }).ConfigureAwait(false);
            }

            default:
                throw new ArgumentException($"unknown seq copy contender {contender}");
        }
    }

    /// <summary>The first bytes of a stream (the prelude copies a short range).</summary>
    private sealed class PartialCopy(Stream inner, long length) : Stream
    {
        private long _left = length;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int n = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _left)], cancellationToken).ConfigureAwait(false);
            _left -= n;
            return n;
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
