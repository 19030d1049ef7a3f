// The tests' own requests are bounded by Wait.Patience; the test runner's token adds nothing here.
#pragma warning disable xUnit1051
using System.IO.Pipelines;

namespace IoUring.Tests.Reliability;

/// <summary>
/// Short counts at chosen points, injected into the completions of file reads and writes (<see cref="CompletionInjection"/>
/// over the library's internal hook): the kernel did the whole transfer, the library is told it did part of it, and
/// what it does next must still give the caller exactly the promised bytes. Positional file I/O makes that faithful: a
/// read or write of the rest at its offset reads or writes the same bytes again.
/// </summary>
[Collection(nameof(PinnedForeverCollection))]
public sealed class CompletionFaultFileTests
{
    [UringFact]
    public async Task A_short_read_is_returned_to_the_caller_as_the_kernel_reported_it_and_the_rest_reads_on()
    {
        using var temp = new TempFile(64 * 1024, seed: 3);
        await using var engine = new IoUringEngine();
        UringFile file = UringFile.Open(engine, temp.Path, FileMode.Open);
        var buffer = new byte[64 * 1024];
        Memory<byte>[] gathered = [new byte[3000], new byte[3000]];
        int shorts = 0;
        using (var inject = CompletionInjection.On(engine, c => c.Kind is OpKind.Read or OpKind.ReadV && c.Res > 1000 && shorts++ < 2 && Short(c, 1000)))
        {
            // ReadAsync returns what one read(2) returned, like RandomAccess.ReadAsync: the caller sees the short count.
            Assert.Equal(1000, await file.ReadAsync(buffer, 0));
            Assert.Equal(temp.Content.AsSpan(0, 1000).ToArray(), buffer.AsSpan(0, 1000).ToArray());
            Assert.Equal(1000L, await file.ReadAsync(gathered, 0));
            Assert.Equal(temp.Content.AsSpan(0, 1000).ToArray(), gathered[0].Span[..1000].ToArray());
            Assert.Equal(2, inject.Injected);

            // The rest reads on from where the short read stopped.
            Assert.Equal(buffer.Length - 1000, await file.ReadAsync(buffer.AsMemory(1000), 1000));
            Assert.Equal(temp.Content, buffer);
        }

        await file.DisposeAsync();
        await AssertDrainsAsync(engine);
    }

    [UringTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_write_reported_short_is_resubmitted_for_the_rest_until_every_byte_is_written(bool gather)
    {
        string path = TempFile.NewPath("short-write");
        byte[] data = TestData.Bytes(100_000, 4);
        int[] shortCounts = [1, 4095, 33_333];
        int next = 0;
        await using (var engine = new IoUringEngine())
        {
            UringFile file = UringFile.Open(engine, path, FileMode.CreateNew, FileAccess.ReadWrite);
            {
                using var inject = CompletionInjection.On(engine, c =>
                    c.Kind is OpKind.Write or OpKind.WriteV && c.Res > 1 && next < shortCounts.Length && Short(c, shortCounts[next++]));
                if (gather)
                {
                    await file.WriteAsync([data.AsMemory(0, 30_000), data.AsMemory(30_000, 50_000), data.AsMemory(80_000)], 0);
                }
                else
                {
                    await file.WriteAsync(data, 0);
                }

                // Three short completions, each followed by a write of the rest: four write CQEs, one caller result.
                Assert.Equal(3, inject.Injected);
                Assert.Equal(4, inject.Seen(static c => c.Kind is OpKind.Write or OpKind.WriteV));
            }

            await file.DisposeAsync();

            await AssertDrainsAsync(engine);
        }

        try
        {
            Assert.Equal(data, File.ReadAllBytes(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [UringFact]
    public async Task The_pipe_reader_continues_short_reads_in_place_and_hands_out_every_byte_once_in_file_order()
    {
        using var temp = new TempFile(1024 * 1024 + 123, seed: 5);
        await using var engine = new IoUringEngine();
        UringFile file = UringFile.Open(engine, temp.Path, FileMode.Open);

        // Every file read is a request the hook can shorten, none served from the page cache on the spot.
        BusyEngine busy = new(engine);
        int reads = 0;
        using var inject = CompletionInjection.On(engine, c => c.Kind == OpKind.Read && c.Res > 2 && reads++ % 2 == 0 && Short(c, c.Res / 3));
        PipeReader reader = UringFilePipe.CreateReader(file, new UringPipeReaderOptions { SegmentSize = 16 * 1024, ReadsInFlight = 4 });
        byte[] got = await PipeKit.ReadToEndAsync(reader, Wait.Timeout()).Within();
        await reader.CompleteAsync();
        Assert.Equal(temp.Content, got);
        Assert.True(inject.Injected > 30, $"only {inject.Injected} short reads were injected");
        await busy.DisposeAsync();
        await file.DisposeAsync();
        await AssertDrainsAsync(engine);
    }

    [UringFact]
    public async Task The_stream_and_the_pipe_writer_deliver_every_byte_through_short_reads_and_short_writes()
    {
        using var temp = new TempFile(700_000, seed: 6);
        string copyPath = TempFile.NewPath("short-copy");
        int n = 0;
        await using (var engine = new IoUringEngine())
        {
            using var inject = CompletionInjection.On(engine, c =>
                c.Kind is OpKind.Read or OpKind.Write or OpKind.WriteV && c.Res > 2 && n++ % 3 == 0 && Short(c, c.Res / 2));
            UringFile source = UringFile.Open(engine, temp.Path, FileMode.Open);
            UringFile destination = UringFile.Open(engine, copyPath, FileMode.CreateNew, FileAccess.ReadWrite);

            // The stream reads the source through short reads; the pipe writer writes it through short writes (a
            // one-segment pause threshold: each flush waits for its write, so the writer makes many small writes).
            Stream stream = source.AsStream();
            PipeWriter writer = UringFilePipe.CreateWriter(destination, new UringPipeWriterOptions { SegmentSize = 8 * 1024, PauseWriterThreshold = 8 * 1024 });
            var chunk = new byte[10_000];
            int read;
            long total = 0;
            while ((read = await stream.ReadAsync(chunk, TestContext.Current.CancellationToken)) > 0)
            {
                await writer.WriteAsync(chunk.AsMemory(0, read), TestContext.Current.CancellationToken);
                total += read;
            }

            await writer.CompleteAsync();
            Assert.Equal(temp.Content.Length, total);
            Assert.True(inject.Injected > 20, $"only {inject.Injected} short completions were injected");

            // UringFile.CopyToAsync too: its reads continue after a short count, its writes are resubmitted.
            await source.CopyToAsync(destination, new UringFileCopyOptions { ChunkSize = 64 * 1024, DestinationOffset = temp.Content.Length }, TestContext.Current.CancellationToken);
            await stream.DisposeAsync();
            await source.DisposeAsync();
            await destination.DisposeAsync();
            await AssertDrainsAsync(engine);
        }

        try
        {
            Assert.Equal([.. temp.Content, .. temp.Content], File.ReadAllBytes(copyPath));
        }
        finally
        {
            File.Delete(copyPath);
        }
    }

    /// <summary>Rewrites the CQE's result to <paramref name="count"/> bytes (fewer than the kernel did).</summary>
    private static bool Short(ReapedCqe cqe, int count)
    {
        // (No assert here: this runs on the engine's loop, where a throw would fault the engine instead of the test.)
        cqe.Res = Math.Clamp(count, 1, cqe.Res - 1);
        return true;
    }

    /// <summary>Nothing of the engine's is in the kernel any more, and disposing it abandons nothing.</summary>
    private static async Task AssertDrainsAsync(IoUringEngine engine)
    {
        await Wait.UntilAsync(() => engine.OperationsInFlight == 0, "every request completed");
        int pinned = PinnedForever.Count;
        engine.Dispose();
        Assert.Equal(0, engine.AbandonedOperations);
        Assert.Equal(pinned, PinnedForever.Count);
    }
}
