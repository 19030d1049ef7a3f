using System.Buffers;
using System.IO.Pipelines;

namespace IoUring.Tests.Files;

public sealed class PipeTests
{
    public static TheoryData<int, int, int, ContinuationMode> Streams => new()
    {
        // file length, segment size, reads in flight, continuations
        { 0, 4096, 4, ContinuationMode.ThreadPool },
        { 1, 4096, 4, ContinuationMode.ThreadPool },
        { 4096, 4096, 4, ContinuationMode.ThreadPool },
        { 4097, 4096, 1, ContinuationMode.ThreadPool },
        { 1_000_003, 4096, 8, ContinuationMode.ThreadPool },
        { 8 * 1024 * 1024 + 17, 64 * 1024, 4, ContinuationMode.ThreadPool },
        { 8 * 1024 * 1024 + 17, 64 * 1024, 16, ContinuationMode.Inline },
        { 3_000_001, 1000, 32, ContinuationMode.Inline },
    };

    [Theory]
    [MemberData(nameof(Streams))]
    public async Task Streaming_a_file_through_the_PipeReader_yields_exactly_the_file(int length, int segment, int inFlight, ContinuationMode mode)
    {
        using var engine = EngineModes.NewEngine(mode);
        using var temp = new TempFile(length, seed: length);
        using UringFile file = UringFile.Open(engine, temp.Path, FileMode.Open);
        PipeReader reader = UringFilePipe.CreateReader(file, new UringPipeReaderOptions { SegmentSize = segment, ReadsInFlight = inFlight });

        byte[] got = await PipeKit.ReadToEndAsync(reader);
        Assert.Equal(length, got.Length);
        Assert.True(got.AsSpan().SequenceEqual(temp.Content), "the streamed bytes differ from the file");
        await reader.CompleteAsync();
        // Reads issued past the end of the file (its length is not known ahead) may still be in the kernel when the
        // end is seen; they drain and are dropped.
        await Wait.UntilAsync(() => engine.OperationsInFlight == 0, "the reads past the end drained");
    }

    [Fact]
    public async Task A_consumer_that_waits_for_more_data_before_consuming_gets_it_in_order()
    {
        using var opened = new UringTempFile(2_000_000, seed: 8);
        (TempFile temp, UringFile file) = opened;
        PipeReader reader = UringFilePipe.CreateReader(file, new UringPipeReaderOptions { SegmentSize = 4096, ReadsInFlight = 4, MaxSegments = 64 });

        // Parse 100,000-byte records: examine everything, consume only whole records.
        var got = new MemoryStream();
        while (true)
        {
            ReadResult r = await reader.ReadAsync();
            ReadOnlySequence<byte> buffer = r.Buffer;
            while (buffer.Length >= 100_000)
            {
                ReadOnlySequence<byte> record = buffer.Slice(0, 100_000);
                foreach (ReadOnlyMemory<byte> m in record)
                {
                    got.Write(m.Span);
                }

                buffer = buffer.Slice(record.End);
            }

            if (r.IsCompleted)
            {
                Assert.Equal(0, buffer.Length);
                reader.AdvanceTo(buffer.End);
                break;
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }

        Assert.Equal(temp.Content, got.ToArray());
        await reader.CompleteAsync();
    }

    [Fact]
    public async Task A_range_of_the_file_can_be_streamed()
    {
        using var opened = new UringTempFile(100_000, seed: 9);
        (TempFile temp, UringFile file) = opened;

        PipeReader reader = UringFilePipe.CreateReader(file, new UringPipeReaderOptions { SegmentSize = 3000, StartOffset = 12_345, Length = 50_000 });
        Assert.Equal(temp.Content.AsSpan(12_345, 50_000).ToArray(), await PipeKit.ReadToEndAsync(reader));
        reader.Complete();

        PipeReader tail = UringFilePipe.CreateReader(file, new UringPipeReaderOptions { StartOffset = 99_000, Length = 5_000 });
        Assert.Equal(temp.Content.AsSpan(99_000).ToArray(), await PipeKit.ReadToEndAsync(tail));
        tail.Complete();

        PipeReader empty = UringFilePipe.CreateReader(file, new UringPipeReaderOptions { StartOffset = 200_000 });
        Assert.Empty(await PipeKit.ReadToEndAsync(empty));
        empty.Complete();
    }

    [UringFact]
    public async Task TryRead_CancelPendingRead_and_a_cancelled_token_behave_as_PipeReader_requires()
    {
        using var engine = new IoUringEngine();
        using var pipe = new TestPipe();
        using var file = UringFile.FromHandle(engine, pipe.Read, FileAccess.Read);
        // A pipe has no offsets: the reader's segments all read "at the current position" (-1) one after another.
        PipeReader reader = UringFilePipe.CreateReader(file, new UringPipeReaderOptions { SegmentSize = 16, ReadsInFlight = 1, StartOffset = 0 });

        Assert.False(reader.TryRead(out _));
        ValueTask<ReadResult> pending = reader.ReadAsync();
        Assert.False(pending.IsCompleted);
        reader.CancelPendingRead();
        ReadResult cancelled = await pending;
        Assert.True(cancelled.IsCanceled);
        reader.AdvanceTo(cancelled.Buffer.Start);

        reader.CancelPendingRead();
        Assert.True(reader.TryRead(out ReadResult again));
        Assert.True(again.IsCanceled);
        reader.AdvanceTo(again.Buffer.Start);

        using var cts = new CancellationTokenSource();
        ValueTask<ReadResult> withToken = reader.ReadAsync(cts.Token);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await withToken);
        reader.Complete();
        Assert.Throws<InvalidOperationException>(() => reader.TryRead(out _));
    }

    [UringFact]
    public async Task Completing_the_reader_with_reads_in_flight_is_safe_and_can_close_the_file()
    {
        using var engine = new IoUringEngine();
        using var temp = new TempFile(4 << 20, seed: 10);
        UringFile file = UringFile.Open(engine, temp.Path, FileMode.Open);
        PipeReader reader = UringFilePipe.CreateReader(file, new UringPipeReaderOptions { SegmentSize = 4096, ReadsInFlight = 32, LeaveOpen = false });

        ReadResult r = await reader.ReadAsync();
        Assert.True(r.Buffer.Length > 0);
        Assert.True(r.Buffer.FirstSpan.SequenceEqual(temp.Content.AsSpan(0, r.Buffer.FirstSpan.Length)));
        reader.AdvanceTo(r.Buffer.Start);
        reader.Complete();
        Assert.True(file.IsClosed);
        await Wait.UntilAsync(() => engine.OperationsInFlight == 0, "the abandoned reads completed");
        await Wait.UntilAsync(() => file.Handle.IsClosed, "the handle closed after its last read");
    }

    [UringFact]
    public async Task A_read_error_surfaces_from_ReadAsync()
    {
        using var engine = new IoUringEngine();
        using var temp = new TempFile(100);
        using SafeHandleOwner owner = new(temp.Open(FileAccess.Write));
        using var file = UringFile.FromHandle(engine, owner.Handle, FileAccess.Read);
        PipeReader reader = UringFilePipe.CreateReader(file);
        // As RandomAccess on a handle not opened for reading: UnauthorizedAccessException, the errno inside.
        UnauthorizedAccessException e = await Assert.ThrowsAsync<UnauthorizedAccessException>(async () => await reader.ReadAsync());
        Assert.Equal(9, Assert.IsType<IoUringException>(e.InnerException).Errno);
        reader.Complete();
    }

    private sealed class SafeHandleOwner(Microsoft.Win32.SafeHandles.SafeFileHandle handle) : IDisposable
    {
        public Microsoft.Win32.SafeHandles.SafeFileHandle Handle { get; } = handle;

        public void Dispose() => Handle.Dispose();
    }

    public static TheoryData<int, int, int, ContinuationMode> Writes => new()
    {
        // total bytes, producer chunk, segment size, continuations
        { 0, 100, 4096, ContinuationMode.ThreadPool },
        { 1, 100, 4096, ContinuationMode.ThreadPool },
        { 1_000_003, 777, 4096, ContinuationMode.ThreadPool },
        { 5_000_000, 65_536, 65_536, ContinuationMode.ThreadPool },
        { 5_000_000, 100_000, 65_536, ContinuationMode.Inline },
        { 300_000, 10, 1024, ContinuationMode.Inline },
    };

    [Theory]
    [MemberData(nameof(Writes))]
    public async Task Writing_through_the_PipeWriter_produces_exactly_the_data(int total, int chunk, int segment, ContinuationMode mode)
    {
        using var engine = EngineModes.NewEngine(mode);
        using var temp = new TempFile(0);
        byte[] data = TestData.Bytes(total, total);
        UringFile file = UringFile.Open(engine, temp.Path, FileMode.Open, FileAccess.Write);
        PipeWriter writer = UringFilePipe.CreateWriter(file, new UringPipeWriterOptions { SegmentSize = segment, PauseWriterThreshold = 4L * segment, LeaveOpen = false });

        var rnd = new Random(1);
        for (int sent = 0; sent < total;)
        {
            int n = Math.Min(chunk, total - sent);
            if (rnd.Next(2) == 0)
            {
                FlushResult f = await writer.WriteAsync(data.AsMemory(sent, n));
                Assert.False(f.IsCanceled);
            }
            else
            {
                Memory<byte> m = writer.GetMemory(n);
                int k = Math.Min(n, m.Length);
                data.AsSpan(sent, k).CopyTo(m.Span);
                writer.Advance(k);
                n = k;
                if (rnd.Next(3) == 0)
                {
                    await writer.FlushAsync();
                }
            }

            sent += n;
        }

        await writer.CompleteAsync();
        Assert.True(file.IsClosed);
        Assert.Equal(data, File.ReadAllBytes(temp.Path));
        Assert.Equal(0, engine.OperationsInFlight);
    }

    [Theory]
    [MemberData(nameof(EngineModes.Both), MemberType = typeof(EngineModes))]
    public async Task Segments_handed_over_during_a_write_go_out_together_in_file_order(ContinuationMode mode)
    {
        using var engine = EngineModes.NewEngine(mode);
        using var temp = new TempFile(0);
        const int Segment = 1000, Segments = 3000;
        byte[] data = TestData.Bytes(Segment * Segments, 31);
        using UringFile file = UringFile.Open(engine, temp.Path, FileMode.Open, FileAccess.Write);
        var writer = (UringFilePipeWriter)UringFilePipe.CreateWriter(file, new UringPipeWriterOptions { SegmentSize = Segment });

        // Full segments are handed over as they fill, without a flush: while one write is in flight the next ones queue
        // and leave together, as one gather write (up to IOV_MAX segments), each at its place in the file.
        int at = 0;
        for (int i = 0; at < data.Length; i++)
        {
            // Now and then a piece larger than a segment, which gets a one-off buffer of its own.
            int n = Math.Min(i % 700 == 699 ? (5 * Segment) / 2 : Segment, data.Length - at);
            data.AsSpan(at, n).CopyTo(writer.GetSpan(n));
            writer.Advance(n);
            at += n;
        }

        await writer.CompleteAsync();
        Assert.Equal(data, File.ReadAllBytes(temp.Path));
        Assert.True(writer.WritesIssued < Segments, $"{writer.WritesIssued} writes for {Segments} segments: nothing was gathered");
        Assert.True(writer.WritesIssued >= Segments / IoUringEngine.MaxIoVecs);
        Assert.Equal(0, engine.OperationsInFlight);
    }

    [Theory]
    [MemberData(nameof(EngineModes.Both), MemberType = typeof(EngineModes))]
    public async Task FlushAsync_waits_only_beyond_the_pause_threshold_and_flushes_are_gathered(ContinuationMode mode)
    {
        using var engine = EngineModes.NewEngine(mode);
        using var temp = new TempFile(0);
        const int Chunk = 64 * 1024, Flushes = 96;
        const long Threshold = 8L * 1024 * 1024;
        byte[] data = TestData.Bytes(Chunk * Flushes * 2, 41);
        using UringFile file = UringFile.Open(engine, temp.Path, FileMode.Open, FileAccess.Write);
        var writer = (UringFilePipeWriter)UringFilePipe.CreateWriter(file, new UringPipeWriterOptions { SegmentSize = Chunk, PauseWriterThreshold = Threshold });

        // 6 MiB flushed 64 KiB at a time, under the 8 MiB threshold: no flush waits for the file.
        int at = 0;
        for (int i = 0; i < Flushes; i++, at += Chunk)
        {
            data.AsSpan(at, Chunk).CopyTo(writer.GetSpan(Chunk));
            writer.Advance(Chunk);
            ValueTask<FlushResult> flush = writer.FlushAsync(TestContext.Current.CancellationToken);
            Assert.True(flush.IsCompleted, $"flush {i} waited with {writer.UnwrittenBytes:N0} bytes unwritten");
            Assert.False((await flush).IsCanceled);
        }

        // Flushes handed over while a write was in flight went out together.
        Assert.True(writer.WritesIssued < Flushes, $"{writer.WritesIssued} writes for {Flushes} flushes: nothing was gathered");

        // Past the threshold a flush returns only once at most the threshold is unwritten.
        for (int i = 0; i < Flushes; i++, at += Chunk)
        {
            data.AsSpan(at, Chunk).CopyTo(writer.GetSpan(Chunk));
            writer.Advance(Chunk);
            _ = await writer.FlushAsync(TestContext.Current.CancellationToken);
            Assert.True(writer.UnwrittenBytes <= Threshold, $"{writer.UnwrittenBytes:N0} bytes unwritten after a flush");
        }

        await writer.CompleteAsync();
        Assert.Equal(0, writer.UnwrittenBytes);
        Assert.Equal(data, File.ReadAllBytes(temp.Path));
        Assert.Equal(0, engine.OperationsInFlight);
    }

    [UringFact]
    public async Task A_small_flush_queued_behind_a_write_in_flight_is_written_without_another_flush()
    {
        using var engine = new IoUringEngine();
        using var temp = new TempFile(0);
        byte[] data = TestData.Bytes(1024 * 1024 + 10, 43);
        using UringFile file = UringFile.Open(engine, temp.Path, FileMode.Open, FileAccess.Write);
        var writer = (UringFilePipeWriter)UringFilePipe.CreateWriter(file, new UringPipeWriterOptions { SegmentSize = 1024 * 1024 });

        // The first flush starts a write; the 10 bytes after it are fewer than a write gathers, so they wait in the
        // queue for that write to end, and then go out by themselves: the producer need not flush again.
        await writer.WriteAsync(data.AsMemory(0, 1024 * 1024), TestContext.Current.CancellationToken);
        await writer.WriteAsync(data.AsMemory(1024 * 1024), TestContext.Current.CancellationToken);
        await Wait.UntilAsync(() => writer.UnwrittenBytes == 0, "every flushed byte written");
        Assert.Equal(data, File.ReadAllBytes(temp.Path));
        await writer.CompleteAsync();
        Assert.Equal(0, engine.OperationsInFlight);
    }

    [Fact]
    public void The_pause_threshold_defaults_to_four_segments_or_1_MiB_and_refuses_a_negative_value()
    {
        Assert.Equal(1024 * 1024, new UringPipeWriterOptions().EffectivePauseWriterThreshold);
        Assert.Equal(4L * 1024 * 1024, new UringPipeWriterOptions { SegmentSize = 1024 * 1024 }.EffectivePauseWriterThreshold);
        Assert.Equal(10, new UringPipeWriterOptions { PauseWriterThreshold = 10 }.EffectivePauseWriterThreshold);
        using var temp = new TempFile(0);
        using UringFile file = UringFile.Open(temp.Path, FileMode.Open, FileAccess.Write);
        Assert.Throws<ArgumentOutOfRangeException>(() => UringFilePipe.CreateWriter(file, new UringPipeWriterOptions { PauseWriterThreshold = -1 }));
    }

    [UringFact]
    public void Reads_in_flight_default_to_about_1_MiB_ahead_and_a_negative_value_is_refused()
    {
        Assert.Equal(4, new UringPipeReaderOptions().EffectiveReadsInFlight);
        Assert.Equal(8, new UringPipeReaderOptions().EffectiveMaxSegments);
        Assert.Equal(4, new UringPipeReaderOptions { SegmentSize = 4096 }.EffectiveReadsInFlight);
        Assert.Equal(2, new UringPipeReaderOptions { SegmentSize = 512 * 1024 }.EffectiveReadsInFlight);
        Assert.Equal(1, new UringPipeReaderOptions { SegmentSize = 1024 * 1024 }.EffectiveReadsInFlight);
        Assert.Equal(2, new UringPipeReaderOptions { SegmentSize = 1024 * 1024 }.EffectiveMaxSegments);
        Assert.Equal(1, new UringPipeReaderOptions { SegmentSize = 8 * 1024 * 1024 }.EffectiveReadsInFlight);
        Assert.Equal(7, new UringPipeReaderOptions { SegmentSize = 1024 * 1024, ReadsInFlight = 7 }.EffectiveReadsInFlight);
        using var temp = new TempFile(0);
        using UringFile file = UringFile.Open(temp.Path);
        Assert.Throws<ArgumentOutOfRangeException>(() => UringFilePipe.CreateReader(file, new UringPipeReaderOptions { ReadsInFlight = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => UringFilePipe.CreateReader(file, new UringPipeReaderOptions { SegmentSize = 1024 * 1024, MaxSegments = 1, ReadsInFlight = 2 }));
    }

    [Fact]
    public async Task The_writer_can_start_at_an_offset_and_a_large_GetMemory_gets_a_large_buffer()
    {
        using var opened = new UringTempFile(1000, seed: 12, FileAccess.ReadWrite);
        (TempFile temp, UringFile file) = opened;
        PipeWriter writer = UringFilePipe.CreateWriter(file, new UringPipeWriterOptions { SegmentSize = 100, StartOffset = 500 });
        Memory<byte> big = writer.GetMemory(10_000);
        Assert.True(big.Length >= 10_000);
        big.Span[..10_000].Fill(0x42);
        writer.Advance(6_000);
        Assert.Equal(6_000, writer.UnflushedBytes);
        writer.Advance(4_000);
        Assert.Equal(0, writer.UnflushedBytes); // a full buffer is written at once
        await writer.FlushAsync();
        await writer.CompleteAsync();

        byte[] all = File.ReadAllBytes(temp.Path);
        Assert.Equal(10_500, all.Length);
        Assert.Equal(temp.Content.AsSpan(0, 500).ToArray(), all.AsSpan(0, 500).ToArray());
        Assert.All(all.AsSpan(500).ToArray(), b => Assert.Equal(0x42, b));
        Assert.False(file.IsClosed);
    }

    [UringFact]
    public async Task A_failed_write_is_reported_by_FlushAsync_or_CompleteAsync()
    {
        using var engine = new IoUringEngine();
        using var temp = new TempFile(10);
        using var file = UringFile.Open(engine, temp.Path, FileMode.Open, FileAccess.Read);
        PipeWriter writer = UringFilePipe.CreateWriter(file, new UringPipeWriterOptions { SegmentSize = 10 });
        Exception? seen = null;
        try
        {
            for (int i = 0; i < 100; i++)
            {
                await writer.WriteAsync(new byte[10]);
            }
        }
        catch (UnauthorizedAccessException e)
        {
            seen = e;
        }

        try
        {
            await writer.CompleteAsync();
        }
        catch (IOException e)
        {
            seen ??= e.InnerException;
        }

        UnauthorizedAccessException denied = Assert.IsType<UnauthorizedAccessException>(seen);
        Assert.Equal(9, Assert.IsType<IoUringException>(denied.InnerException).Errno);
    }
}
