using System.IO.Pipelines;
using Microsoft.Win32.SafeHandles;

namespace IoUring.Tests.Files;

/// <summary>
/// Issue 14: the stream (page-cache fast path, ring reads, write-behind) keeps FileStream's semantics (every byte
/// checked against the file or against a FileStream doing the same steps), the file pipe reader drains its reads on
/// CompleteAsync, and the file copy.
/// </summary>
public sealed class SequentialTests
{
    public static TheoryData<int, int> Sizes => new()
    {
        // file length, caller's buffer
        { 0, 4096 },
        { 1, 4096 },
        { 65_536, 65_536 },
        { 1_000_003, 4096 },
        { 5 * 1024 * 1024 + 17, 65_536 },
        { 9 * 1024 * 1024 + 4095, 1024 * 1024 },
    };

    [UringTheory]
    [MemberData(nameof(Sizes))]
    public async Task The_default_stream_reads_every_byte_of_the_file_in_order(int length, int bufferSize)
    {
        using var temp = new TempFile(length, seed: length + 3);
        // What a newcomer writes: the default engines, the default stream.
        using UringFile file = UringFile.Open(temp.Path);
        await using Stream stream = file.AsStream();
        byte[] got = new byte[length];
        byte[] buffer = new byte[bufferSize];
        int total = 0, n;
        while ((n = await stream.ReadAsync(buffer, TestContext.Current.CancellationToken)) > 0)
        {
            Assert.True(total + n <= length, "read past the end of the file");
            buffer.AsSpan(0, n).CopyTo(got.AsSpan(total));
            total += n;
            Assert.Equal(total, stream.Position);
        }

        Assert.Equal(length, total);
        Assert.True(got.AsSpan().SequenceEqual(temp.Content), "the bytes read differ from the file");
        Assert.Equal(0, await stream.ReadAsync(buffer, TestContext.Current.CancellationToken));
        Assert.Equal(length, stream.Position);
    }

    [UringTheory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public async Task Random_reads_seeks_and_position_changes_match_a_FileStream(int seed)
    {
        const int Length = 3 * 1024 * 1024 + 111;
        using var temp = new TempFile(Length, seed: seed);
        using var group = new IoUringEngineGroup(2);
        using UringFile file = UringFile.Open(group, temp.Path, FileMode.Open);
        await using Stream stream = file.AsStream();
        await using var model = new FileStream(temp.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.Asynchronous);
        var rng = new Random(seed);
        byte[] a = new byte[300_000], b = new byte[300_000];
        for (int step = 0; step < 400; step++)
        {
            int op = rng.Next(10);
            if (op < 5)
            {
                // Mostly sequential runs of reads of varying sizes, sync and async.
                int size = rng.Next(4) switch { 0 => rng.Next(1, 100), 1 => 4096, 2 => 65_536, _ => rng.Next(1, a.Length) };
                bool sync = rng.Next(4) == 0;
                int na = sync ? stream.Read(a, 0, size) : await stream.ReadAsync(a.AsMemory(0, size), TestContext.Current.CancellationToken);
                int nb = await model.ReadAsync(b.AsMemory(0, size), TestContext.Current.CancellationToken);
                Assert.Equal(nb, na);
                Assert.True(a.AsSpan(0, na).SequenceEqual(b.AsSpan(0, nb)), $"step {step}: the bytes differ");
            }
            else if (op < 7)
            {
                long to = rng.Next(Length + 5000);
                stream.Position = to;
                model.Position = to;
            }
            else if (op < 9)
            {
                var origin = (SeekOrigin)rng.Next(3);
                long offset = origin switch
                {
                    SeekOrigin.Begin => rng.Next(Length),
                    SeekOrigin.Current => rng.Next(-(int)Math.Min(model.Position, 100_000), 100_000),
                    _ => -rng.Next(Length),
                };
                Assert.Equal(model.Seek(offset, origin), stream.Seek(offset, origin));
            }
            else
            {
                Assert.Equal(model.Length, stream.Length);
            }

            Assert.Equal(model.Position, stream.Position);
        }
    }

    [UringFact]
    public async Task Reads_at_and_after_the_end_return_0_and_keep_the_position()
    {
        using var temp = new TempFile(10_000, seed: 9);
        using UringFile file = UringFile.Open(temp.Path);
        await using Stream stream = file.AsStream();
        stream.Position = 10_000;
        Assert.Equal(0, await stream.ReadAsync(new byte[100], TestContext.Current.CancellationToken));
        Assert.Equal(10_000, stream.Position);
        stream.Position = 50_000;
        Assert.Equal(0, await stream.ReadAsync(new byte[100], TestContext.Current.CancellationToken));
        Assert.Equal(0, stream.Read(new byte[100]));
        Assert.Equal(50_000, stream.Position);
        stream.Position = 9_990;
        byte[] tail = new byte[100];
        Assert.Equal(10, await stream.ReadAsync(tail, TestContext.Current.CancellationToken));
        Assert.True(tail.AsSpan(0, 10).SequenceEqual(temp.Content.AsSpan(9_990)));
        Assert.Equal(10_000, stream.Position);
        Assert.Equal(0, await stream.ReadAsync(Memory<byte>.Empty, TestContext.Current.CancellationToken));
    }

    [UringFact]
    public async Task A_file_that_grows_while_read_yields_the_new_bytes_after_the_old_end()
    {
        using var temp = new TempFile(3 * 1024 * 1024, seed: 11);
        byte[] more = TestData.Bytes(2 * 1024 * 1024 + 5, seed: 12);
        using UringFile file = UringFile.Open(temp.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        await using Stream stream = file.AsStream();
        var got = new MemoryStream();
        byte[] buffer = new byte[65_536];
        int n;
        while ((n = await stream.ReadAsync(buffer, TestContext.Current.CancellationToken)) > 0)
        {
            got.Write(buffer, 0, n);
        }

        // At the end (with the kernel's read-ahead past it), another writer appends: the next reads see the new bytes.
        await using (var appender = new FileStream(temp.Path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite))
        {
            appender.Write(more);
        }

        while ((n = await stream.ReadAsync(buffer, TestContext.Current.CancellationToken)) > 0)
        {
            got.Write(buffer, 0, n);
        }

        Assert.Equal(temp.Content.Length + more.Length, got.Length);
        Assert.True(got.ToArray().AsSpan().SequenceEqual([.. temp.Content, .. more]), "the bytes differ");
        Assert.Equal(got.Length, stream.Position);
    }

    [UringFact]
    public async Task A_file_that_shrinks_while_read_ends_at_its_new_length()
    {
        const int Length = 4 * 1024 * 1024;
        using var temp = new TempFile(Length, seed: 13);
        using UringFile file = UringFile.Open(temp.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        await using Stream stream = file.AsStream();
        byte[] buffer = new byte[65_536];
        var got = new MemoryStream();
        for (int i = 0; i < 8; i++)
        {
            int n = await stream.ReadAsync(buffer, TestContext.Current.CancellationToken);
            got.Write(buffer, 0, n);
        }

        // Half a megabyte read; cut the file at 1 MiB + 3 (inside the range already read ahead and cached).
        const int Cut = (1024 * 1024) + 3;
        using (SafeFileHandle w = File.OpenHandle(temp.Path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            RandomAccess.SetLength(w, Cut);
        }

        int m;
        while ((m = await stream.ReadAsync(buffer, TestContext.Current.CancellationToken)) > 0)
        {
            got.Write(buffer, 0, m);
        }

        Assert.Equal(Cut, got.Length);
        Assert.True(got.ToArray().AsSpan().SequenceEqual(temp.Content.AsSpan(0, Cut)), "the bytes differ");
        Assert.Equal(Cut, stream.Position);
        Assert.Equal(Cut, stream.Length);
    }

    [UringFact]
    public async Task SetLength_through_the_stream_is_seen_by_the_next_reads()
    {
        using var temp = new TempFile(2 * 1024 * 1024, seed: 15);
        using UringFile file = UringFile.Open(temp.Path, FileMode.Open, FileAccess.ReadWrite);
        await using Stream stream = file.AsStream();
        byte[] buffer = new byte[65_536];
        Assert.Equal(65_536, await stream.ReadAsync(buffer, TestContext.Current.CancellationToken));
        stream.SetLength(100_000);
        Assert.Equal(100_000, stream.Length);
        Assert.Equal(100_000 - 65_536, await stream.ReadAsync(buffer, TestContext.Current.CancellationToken));
        Assert.True(buffer.AsSpan(0, 100_000 - 65_536).SequenceEqual(temp.Content.AsSpan(65_536, 100_000 - 65_536)));
        Assert.Equal(0, await stream.ReadAsync(buffer, TestContext.Current.CancellationToken));

        // Longer again: the new bytes read as zeros, as with FileStream.
        stream.SetLength(200_000);
        Assert.Equal(65_536, await stream.ReadAsync(buffer, TestContext.Current.CancellationToken));
        Assert.True(buffer.AsSpan(0, 65_536).IndexOfAnyExcept((byte)0) < 0, "the extended range is not zeros");
        Assert.Equal(165_536, stream.Position);
    }

    [UringFact]
    public async Task Cancelling_mid_stream_keeps_the_position_consistent_and_the_rest_reads_correctly()
    {
        const int Length = 6 * 1024 * 1024 + 7;
        using var temp = new TempFile(Length, seed: 17);
        using UringFile file = UringFile.Open(temp.Path);
        await using Stream stream = file.AsStream();
        byte[] got = new byte[Length];
        byte[] buffer = new byte[65_536];
        int total = 0, cancelled = 0;
        using (var cts = new CancellationTokenSource())
        {
            Assert.ThrowsAny<OperationCanceledException>(() =>
            {
                using var pre = new CancellationTokenSource();
                pre.Cancel();
                _ = stream.ReadAsync(buffer, pre.Token).AsTask().GetAwaiter().GetResult();
            });
            Assert.Equal(0, stream.Position);
            for (int i = 0; total < Length; i++)
            {
                if (i == 20)
                {
                    cts.Cancel();
                }

                try
                {
                    int n = await stream.ReadAsync(buffer, i >= 20 && i < 25 ? cts.Token : TestContext.Current.CancellationToken);
                    buffer.AsSpan(0, n).CopyTo(got.AsSpan(total));
                    total += n;
                }
                catch (OperationCanceledException)
                {
                    cancelled++;
                }

                // Either the read happened (and the position moved by its bytes) or it did not (and the position stayed).
                Assert.Equal(total, stream.Position);
            }
        }

        Assert.True(cancelled > 0, "no read was cancelled");
        Assert.True(got.AsSpan().SequenceEqual(temp.Content), "the bytes differ");
    }

    [UringTheory]
    [InlineData(false, 65_536, 20)]
    [InlineData(true, 1_000_000, 6)]
    public async Task Disposing_the_stream_during_reads_fails_them_cleanly_and_leaves_the_buffer_alone(bool cold, int bufferSize, int rounds)
    {
        using var temp = new TempFile(16 * 1024 * 1024, seed: 19);
        using var group = new IoUringEngineGroup(2);
        for (int round = 0; round < rounds; round++)
        {
            if (cold)
            {
                // Evicted: the reads go through the ring (the cached ones are copied on the reader's thread).
                _ = CachedReadTests.Evict(temp.Path);
            }

            UringFile file = UringFile.Open(group, temp.Path, FileMode.Open);
            Stream stream = file.AsStream(leaveOpen: false);
            byte[] buffer = new byte[bufferSize];
            using var started = new SemaphoreSlim(0);
            Task<long> reader = Task.Run(async () =>
            {
                long total = 0;
                int n;
                try
                {
                    while ((n = await stream.ReadAsync(buffer)) > 0)
                    {
                        Assert.True(buffer.AsSpan(0, n).SequenceEqual(temp.Content.AsSpan((int)total, n)), "the bytes differ");
                        total += n;
                        if (total == 2L * bufferSize)
                        {
                            started.Release();
                        }
                    }
                }
                catch (ObjectDisposedException)
                {
                    // The stream (or its file) was disposed between two reads or under a ring read: what FileStream does too.
                }

                return total;
            });
            await started.WaitAsync(TestContext.Current.CancellationToken);
            if (round % 2 == 0)
            {
                await stream.DisposeAsync();
            }
            else
            {
                stream.Dispose();
            }

            _ = await reader.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
            Assert.True(file.IsClosed);

            // The reader has seen its last read end: nothing may write into its buffer any more.
            buffer.AsSpan().Fill(0xA5);
            await Wait.UntilAsync(() => group.Engines.All(e => e.OperationsInFlight == 0), "every read drained");
            Assert.True(buffer.AsSpan().IndexOfAnyExcept((byte)0xA5) < 0, "the buffer was written after the stream was disposed");
        }
    }

    [UringTheory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Random_writes_reads_seeks_and_SetLength_match_a_FileStream(int seed)
    {
        const int Length = 1024 * 1024 + 5;
        using var mine = new TempFile(Length, seed: seed + 40);
        using var theirs = new TempFile(Length, seed: seed + 40);
        using UringFile file = UringFile.Open(mine.Path, FileMode.Open, FileAccess.ReadWrite);
        var rng = new Random(seed);
        byte[] a = new byte[200_000], b = new byte[200_000];
        await using (Stream stream = file.AsStream())
        await using (var model = new FileStream(theirs.Path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, 1, FileOptions.Asynchronous))
        {
            for (int step = 0; step < 500; step++)
            {
                int op = rng.Next(12);
                int size = rng.Next(4) switch { 0 => rng.Next(1, 100), 1 => 4096, 2 => 65_536, _ => rng.Next(1, a.Length) };
                if (op < 5)
                {
                    // Writes (mostly sequential runs: the write-behind's case), async and now and then sync.
                    byte[] data = TestData.Bytes(size, seed: step);
                    if (rng.Next(5) == 0)
                    {
                        stream.Write(data);
                    }
                    else
                    {
                        await stream.WriteAsync(data, TestContext.Current.CancellationToken);
                    }

                    await model.WriteAsync(data, TestContext.Current.CancellationToken);
                }
                else if (op < 8)
                {
                    int na = rng.Next(4) == 0 ? stream.Read(a, 0, size) : await stream.ReadAsync(a.AsMemory(0, size), TestContext.Current.CancellationToken);
                    int nb = await model.ReadAsync(b.AsMemory(0, size), TestContext.Current.CancellationToken);
                    Assert.Equal(nb, na);
                    Assert.True(a.AsSpan(0, na).SequenceEqual(b.AsSpan(0, nb)), $"step {step}: the bytes read differ");
                }
                else if (op < 10)
                {
                    long to = rng.Next((int)model.Length + 5000);
                    stream.Position = to;
                    model.Position = to;
                }
                else if (op < 11)
                {
                    Assert.Equal(model.Length, stream.Length);
                    long back = -rng.Next((int)Math.Max(1, model.Length));
                    Assert.Equal(model.Seek(back, SeekOrigin.End), stream.Seek(back, SeekOrigin.End));
                }
                else
                {
                    long length = rng.Next(Length * 2);
                    stream.SetLength(length);
                    model.SetLength(length);
                }

                Assert.Equal(model.Position, stream.Position);
            }
        }

        Assert.Equal(await File.ReadAllBytesAsync(theirs.Path, TestContext.Current.CancellationToken), await File.ReadAllBytesAsync(mine.Path, TestContext.Current.CancellationToken));
    }

    [UringTheory]
    [InlineData(100)]
    [InlineData(4096)]
    [InlineData(65_536)]
    [InlineData(1024 * 1024 + 3)]
    public async Task Sequential_writes_land_in_the_file_whole_after_dispose(int chunk)
    {
        const int Length = 5 * 1024 * 1024 + 1;
        byte[] content = TestData.Bytes(Length, seed: chunk);
        string path = TempFile.NewPath("write");
        try
        {
            using UringFile file = UringFile.Open(path, FileMode.Create, FileAccess.Write);
            await using (Stream stream = file.AsStream())
            {
                for (int at = 0; at < Length; at += chunk)
                {
                    await stream.WriteAsync(content.AsMemory(at, Math.Min(chunk, Length - at)), TestContext.Current.CancellationToken);
                }

                Assert.Equal(Length, stream.Position);
            }

            Assert.Equal(content, await File.ReadAllBytesAsync(path, TestContext.Current.CancellationToken));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData(0, 64 * 1024)]
    [InlineData(100, 64 * 1024)]
    [InlineData(4096, 64 * 1024)]
    [InlineData(5000, 80 * 1024)]
    [InlineData(8192, 128 * 1024)]
    [InlineData(65_536, 1024 * 1024)]
    [InlineData(100_000, 1024 * 1024)]
    [InlineData(int.MaxValue, 1024 * 1024)]
    public void The_write_behind_buffers_hold_sixteen_writes_within_64_KiB_and_1_MiB(int write, int expected) =>
        Assert.Equal(expected, WriteBehind.SlotSizeFor(write));

    [UringFact]
    public async Task Sixty_four_KiB_writes_reach_the_kernel_as_one_MiB_requests()
    {
        const int Chunk = 64 * 1024;
        const int Chunks = 64;
        byte[] content = TestData.Bytes(Chunk * Chunks, seed: 64);
        string path = TempFile.NewPath("write");
        try
        {
            using UringFile file = UringFile.Open(path, FileMode.Create, FileAccess.Write);
            var stream = (UringFileStream)file.AsStream();
            await using (stream)
            {
                for (int i = 0; i < Chunks; i++)
                {
                    await stream.WriteAsync(content.AsMemory(i * Chunk, Chunk), TestContext.Current.CancellationToken);
                }

                await stream.FlushAsync(TestContext.Current.CancellationToken);
                // 4 MiB in 1 MiB buffers: four requests, not sixty-four.
                Assert.Equal(Chunks * Chunk / (1024 * 1024), stream.WritesIssued);
            }

            Assert.Equal(content, await File.ReadAllBytesAsync(path, TestContext.Current.CancellationToken));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [UringFact]
    public async Task A_small_first_write_does_not_keep_later_64_KiB_writes_in_small_requests()
    {
        const int Header = 100, Chunk = 64 * 1024, Chunks = 64;
        byte[] content = TestData.Bytes(Header + (Chunk * Chunks), seed: 65);
        string path = TempFile.NewPath("write");
        try
        {
            using UringFile file = UringFile.Open(path, FileMode.Create, FileAccess.Write);
            var stream = (UringFileStream)file.AsStream();
            await using (stream)
            {
                // A header first (64 KiB buffers), then 64 KiB writes: the buffers grow to 1 MiB.
                await stream.WriteAsync(content.AsMemory(0, Header), TestContext.Current.CancellationToken);
                for (int i = 0; i < Chunks; i++)
                {
                    await stream.WriteAsync(content.AsMemory(Header + (i * Chunk), Chunk), TestContext.Current.CancellationToken);
                }

                await stream.FlushAsync(TestContext.Current.CancellationToken);
                // 4 MiB + 100 bytes: the header's 64 KiB buffer, then 1 MiB buffers (not 64 requests of 64 KiB).
                Assert.InRange(stream.WritesIssued, 5, 8);
            }

            Assert.Equal(content, await File.ReadAllBytesAsync(path, TestContext.Current.CancellationToken));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [UringTheory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Writes_of_mixed_sizes_gathered_and_direct_land_whole_and_in_order(int seed)
    {
        int[] sizes = [1, 100, 4096, 65_536, 300_000, 1024 * 1024, 1024 * 1024 + 1, 2_500_000];
        var random = new Random(seed);
        var lengths = new List<int> { seed == 1 ? 65_536 : sizes[random.Next(sizes.Length)] };
        int total = lengths[0];
        while (total < 24 * 1024 * 1024)
        {
            int n = sizes[random.Next(sizes.Length)];
            lengths.Add(n);
            total += n;
        }

        byte[] content = TestData.Bytes(total, seed: seed);
        string path = TempFile.NewPath("write");
        try
        {
            using UringFile file = UringFile.Open(path, FileMode.Create, FileAccess.ReadWrite);
            await using (Stream stream = file.AsStream())
            {
                int at = 0;
                byte[] scratch = new byte[2_500_000];
                foreach (int n in lengths)
                {
                    // From a reused buffer, overwritten after each write: the stream must have copied it or written it.
                    content.AsSpan(at, n).CopyTo(scratch);
                    await stream.WriteAsync(scratch.AsMemory(0, n), TestContext.Current.CancellationToken);
                    scratch.AsSpan(0, n).Fill(0xEE);
                    at += n;
                    Assert.Equal(at, stream.Position);
                }

                Assert.Equal(total, stream.Length);
            }

            Assert.Equal(content, await File.ReadAllBytesAsync(path, TestContext.Current.CancellationToken));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [UringFact]
    public async Task The_callers_buffer_can_be_reused_as_soon_as_WriteAsync_returns()
    {
        string path = TempFile.NewPath("write");
        try
        {
            using UringFile file = UringFile.Open(path, FileMode.Create, FileAccess.ReadWrite);
            byte[] buffer = new byte[4096];
            await using (Stream stream = file.AsStream())
            {
                for (int i = 0; i < 1000; i++)
                {
                    buffer.AsSpan().Fill((byte)i);
                    await stream.WriteAsync(buffer, TestContext.Current.CancellationToken);
                    buffer.AsSpan().Fill(0xEE);
                }
            }

            byte[] written = await File.ReadAllBytesAsync(path, TestContext.Current.CancellationToken);
            Assert.Equal(4096 * 1000, written.Length);
            for (int i = 0; i < 1000; i++)
            {
                Assert.True(written.AsSpan(i * 4096, 4096).IndexOfAnyExcept((byte)i) < 0, $"block {i} differs");
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [UringFact]
    public async Task A_failed_write_behind_is_reported_by_the_next_flush_once()
    {
        using var temp = new TempFile(100);
        // A read-only descriptor declared writable: the kernel fails every write with EBADF.
        using SafeFileHandle handle = temp.Open(FileAccess.Read);
        using UringFile file = UringFile.FromHandle(handle, FileAccess.ReadWrite);
        Stream stream = file.AsStream();
        // Smaller than a buffer: accepted at once, written behind, failed in the kernel.
        await stream.WriteAsync(new byte[10_000], TestContext.Current.CancellationToken);
        IOException e = await Assert.ThrowsAsync<IOException>(async () => await stream.FlushAsync(TestContext.Current.CancellationToken));
        Assert.NotNull(e.InnerException);
        await stream.FlushAsync(TestContext.Current.CancellationToken);
        await stream.WriteAsync(new byte[10], TestContext.Current.CancellationToken);
        Assert.Throws<IOException>(() => stream.Dispose());
        Assert.Throws<ObjectDisposedException>(() => stream.Position);
    }

    [UringFact]
    public async Task Disposing_with_writes_in_flight_writes_them_and_frees_the_buffers_after_the_kernel()
    {
        using var group = new IoUringEngineGroup(2);
        for (int round = 0; round < 10; round++)
        {
            string path = TempFile.NewPath("write");
            try
            {
                UringFile file = UringFile.Open(group, path, FileMode.Create, FileAccess.Write);
                Stream stream = file.AsStream(leaveOpen: false);
                byte[] data = TestData.Bytes(65_536 * 3 + 7, seed: round);
                await stream.WriteAsync(data, TestContext.Current.CancellationToken);
                await stream.WriteAsync(data.AsMemory(0, 100), TestContext.Current.CancellationToken);
                if (round % 2 == 0)
                {
                    stream.Dispose();
                }
                else
                {
                    await stream.DisposeAsync();
                }

                Assert.True(file.IsClosed);
                await Wait.UntilAsync(() => group.Engines.All(e => e.OperationsInFlight == 0), "every write drained");
                byte[] written = await File.ReadAllBytesAsync(path, TestContext.Current.CancellationToken);
                Assert.Equal([.. data, .. data[..100]], written);
            }
            finally
            {
                File.Delete(path);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // The pipe reader.

    [UringFact]
    public async Task The_pipe_readers_CompleteAsync_waits_for_the_reads_still_in_the_kernel()
    {
        using var engine = new IoUringEngine();
        using var temp = new TempFile(1_000_000, seed: 21);
        for (int round = 0; round < 20; round++)
        {
            using UringFile file = UringFile.Open(engine, temp.Path, FileMode.Open);
            PipeReader reader = UringFilePipe.CreateReader(file, new UringPipeReaderOptions { SegmentSize = 4096, ReadsInFlight = 32 });
            ReadResult r = await reader.ReadAsync(TestContext.Current.CancellationToken);
            Assert.True(r.Buffer.FirstSpan.SequenceEqual(temp.Content.AsSpan(0, r.Buffer.FirstSpan.Length)));
            reader.AdvanceTo(r.Buffer.Start);
            await reader.CompleteAsync();
            // Nothing the reader issued is left in the kernel: its buffers are no longer used.
            Assert.Equal(0, engine.OperationsInFlight);
        }
    }

    [UringFact]
    public async Task The_pipe_reader_streams_every_byte_on_the_default_engines()
    {
        const int Length = 7 * 1024 * 1024 + 3;
        using var temp = new TempFile(Length, seed: 23);
        using UringFile file = UringFile.Open(temp.Path);
        PipeReader reader = UringFilePipe.CreateReader(file);
        byte[] got = await PipeKit.ReadToEndAsync(reader, TestContext.Current.CancellationToken);
        await reader.CompleteAsync();
        Assert.True(got.AsSpan().SequenceEqual(temp.Content), "the bytes differ");
    }

    // ------------------------------------------------------------------------------------------------------------
    // Copy.

    public static TheoryData<int, int, int> Copies => new()
    {
        // length, chunk size, chunks in flight
        { 0, 4096, 4 },
        { 1, 4096, 4 },
        { 4096, 4096, 1 },
        { 1_000_003, 4096, 8 },
        { 9 * 1024 * 1024 + 5, 1024 * 1024, 4 },
        { 3 * 1024 * 1024 + 1, 65_536, 2 },
    };

    [UringTheory]
    [MemberData(nameof(Copies))]
    public async Task Copying_a_file_writes_every_byte_to_the_destination(int length, int chunk, int inFlight)
    {
        using var temp = new TempFile(length, seed: length + 29);
        string output = TempFile.NewPath("copy");
        try
        {
            using UringFile src = UringFile.Open(temp.Path);
            using UringFile dst = UringFile.Open(output, FileMode.Create, FileAccess.Write);
            long copied = await src.CopyToAsync(dst, new UringFileCopyOptions { ChunkSize = chunk, ChunksInFlight = inFlight }, TestContext.Current.CancellationToken);
            Assert.Equal(length, copied);
            Assert.Equal(temp.Content, await File.ReadAllBytesAsync(output, TestContext.Current.CancellationToken));
        }
        finally
        {
            File.Delete(output);
        }
    }

    [UringFact]
    public async Task Copying_a_range_puts_it_at_the_destination_offset_and_leaves_the_rest()
    {
        using var temp = new TempFile(2_000_000, seed: 31);
        using var target = new TempFile(3_000_000, seed: 32);
        using UringFile src = UringFile.Open(temp.Path);
        using UringFile dst = UringFile.Open(target.Path, FileMode.Open, FileAccess.ReadWrite);
        long copied = await src.CopyToAsync(dst, new UringFileCopyOptions { SourceOffset = 100_001, DestinationOffset = 777, Length = 1_500_000, ChunkSize = 65_536 }, TestContext.Current.CancellationToken);
        Assert.Equal(1_500_000, copied);
        byte[] expected = [.. target.Content];
        temp.Content.AsSpan(100_001, 1_500_000).CopyTo(expected.AsSpan(777));
        Assert.Equal(expected, await File.ReadAllBytesAsync(target.Path, TestContext.Current.CancellationToken));

        // A length past the source's end copies what there is.
        Assert.Equal(1000, await src.CopyToAsync(dst, new UringFileCopyOptions { SourceOffset = 1_999_000, Length = 50_000 }, TestContext.Current.CancellationToken));
    }

    [UringFact]
    public async Task Copy_refuses_bad_arguments_and_reports_failures()
    {
        using var temp = new TempFile(100_000, seed: 33);
        using UringFile src = UringFile.Open(temp.Path);
        using UringFile readOnly = UringFile.Open(temp.Path);
        await Assert.ThrowsAsync<NotSupportedException>(async () => await src.CopyToAsync(readOnly));
        await Assert.ThrowsAsync<ArgumentNullException>(async () => await src.CopyToAsync(null!));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await src.CopyToAsync(readOnly, new UringFileCopyOptions { ChunkSize = 0 }));
        using UringFile both = UringFile.Open(temp.Path, FileMode.Open, FileAccess.ReadWrite);
        await Assert.ThrowsAsync<ArgumentException>(async () => await both.CopyToAsync(both, new UringFileCopyOptions { DestinationOffset = 10 }));
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        string output = TempFile.NewPath("copy");
        try
        {
            using UringFile dst = UringFile.Open(output, FileMode.Create, FileAccess.Write);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await src.CopyToAsync(dst, cts.Token));
            dst.Dispose();
            await Assert.ThrowsAsync<ObjectDisposedException>(async () => await src.CopyToAsync(dst));
        }
        finally
        {
            File.Delete(output);
        }
    }

    [UringFact]
    public async Task Stream_CopyToAsync_between_uring_streams_copies_from_the_positions_and_moves_them()
    {
        using var temp = new TempFile(3_000_000, seed: 35);
        string output = TempFile.NewPath("copy");
        try
        {
            using UringFile src = UringFile.Open(temp.Path);
            using UringFile dst = UringFile.Open(output, FileMode.Create, FileAccess.ReadWrite);
            await using Stream from = src.AsStream(position: 1000);
            await using Stream to = dst.AsStream(position: 10);
            await from.CopyToAsync(to, TestContext.Current.CancellationToken);
            Assert.Equal(3_000_000, from.Position);
            Assert.Equal(10 + 3_000_000 - 1000, to.Position);
            byte[] written = await File.ReadAllBytesAsync(output, TestContext.Current.CancellationToken);
            Assert.Equal(10 + 3_000_000 - 1000, written.Length);
            Assert.True(written.AsSpan(10).SequenceEqual(temp.Content.AsSpan(1000)), "the bytes differ");
            Assert.True(written.AsSpan(0, 10).IndexOfAnyExcept((byte)0) < 0);
        }
        finally
        {
            File.Delete(output);
        }
    }
}
