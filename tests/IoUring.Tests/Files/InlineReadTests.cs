using System.Diagnostics;
using IoUring.Tests.Async;

namespace IoUring.Tests.Files;

/// <summary>
/// <see cref="UringFile.ReadAsync(Memory{byte}, long, CancellationToken)"/> from a continuation running alone on its
/// engine's thread serves page-cache hits on the spot (<c>preadv2(RWF_NOWAIT)</c>, completing synchronously) instead of
/// a ring round trip; everything else goes through the ring. Every byte is checked, and the engine's count of such
/// reads (<see cref="IoUringEngine.InlineReads"/>) shows which path each read took.
/// </summary>
public sealed class InlineReadTests
{
    private const int Block = 4096;

    /// <summary>An inline engine that never hands its ring off: on a loaded machine a descheduled continuation would move it.</summary>
    private static IoUringEngine NewEngine() => new(new IoUringEngineOptions { HandOffAfter = Timeout.InfiniteTimeSpan });

    /// <summary>
    /// What every test here starts from: an engine from <see cref="NewEngine"/>, a temporary file of
    /// <c>length</c> bytes, and that file opened on the engine; <c>evicted</c> drops its pages from the page cache first
    /// and opens it with random-access advice, so no read-ahead brings them back.
    /// </summary>
    private sealed class Setup : IDisposable
    {
        public Setup(int length, int seed, bool evicted = false)
        {
            Kernel.RequireIoUring();
            Engine = NewEngine();
            Temp = new TempFile(length, seed);
            Assert.True(!evicted || CachedReadTests.Evict(Temp.Path), "the file's pages could not be evicted");
            File = UringFile.Open(Engine, Temp.Path, FileMode.Open, options: evicted ? FileOptions.RandomAccess : FileOptions.None);
        }

        public IoUringEngine Engine { get; }

        public TempFile Temp { get; }

        public UringFile File { get; }

        public void Dispose()
        {
            File.Dispose();
            Engine.Dispose();
            Temp.Dispose();
        }
    }

    /// <summary>
    /// Runs <paramref name="body"/> on <paramref name="engine"/>'s loop thread (reached through a real completion) and
    /// returns how many reads the engine served on the spot meanwhile.
    /// </summary>
    private static Task<long> InlineReadsOnLoopAsync(IoUringEngine engine, Func<Task> body) => Task.Run(async () =>
    {
        await EngineReadWriteTests.ResumeOnLoopAsync(engine);
        long before = engine.InlineReads;
        await body();
        return engine.InlineReads - before;
    });

    /// <summary>Reads <paramref name="buffer"/>'s length at <paramref name="offset"/> and checks the count and every byte against <paramref name="temp"/>.</summary>
    private static async Task ReadAndCheckAsync(UringFile file, TempFile temp, byte[] buffer, long offset, ValueTask<int>? started = null)
    {
        Assert.Equal(buffer.Length, await (started ?? file.ReadAsync(buffer, offset)));
        Assert.True(buffer.AsSpan().SequenceEqual(temp.Content.AsSpan((int)offset, buffer.Length)), $"the bytes read at {offset} differ");
    }

    [Fact]
    public async Task A_lone_continuation_reads_cached_data_on_the_spot_with_every_byte_right_and_yields_to_the_ring_every_32()
    {
        using var setup = new Setup(256 * Block, seed: 7);
        (IoUringEngine engine, TempFile temp, UringFile file) = (setup.Engine, setup.Temp, setup.File);
        const int Reads = 200;

        bool firstSynchronous = false;
        long inline = await InlineReadsOnLoopAsync(engine, async () =>
        {
            byte[] buffer = new byte[Block];
            var rng = new Random(3);
            for (int i = 0; i < Reads; i++)
            {
                long offset = rng.Next(256) * (long)Block;
                ValueTask<int> read = file.ReadAsync(buffer, offset);
                firstSynchronous |= i == 0 && read.IsCompletedSuccessfully;
                await ReadAndCheckAsync(file, temp, buffer, offset, read);
            }
        });

        // Just written, so cached: the first read is served on the spot, and so are most; every 33rd at the latest goes
        // through the ring (the phase's budget of 32), whose completion starts a new phase with a new budget.
        Assert.True(firstSynchronous, "the first read from the lone continuation went through the ring");
        Assert.InRange(inline, Reads / 2, Reads - (Reads / 33));
    }

    [Fact]
    public async Task Reads_from_another_thread_or_beside_another_request_go_through_the_ring()
    {
        using var setup = new Setup(16 * Block, seed: 8);
        (IoUringEngine engine, TempFile temp, UringFile file) = (setup.Engine, setup.Temp, setup.File);
        byte[] buffer = new byte[Block];

        // A thread-pool thread: not the engine's.
        long before = engine.InlineReads;
        await Task.Run(() => ReadAndCheckAsync(file, temp, buffer, 3 * Block));
        Assert.Equal(before, engine.InlineReads);

        // The engine's thread, but with a pipe read waiting in the kernel: the file read joins the ring's batch.
        using var pipe = new TestPipe();
        ValueTask<int> waiting = default;
        long during = await InlineReadsOnLoopAsync(engine, async () =>
        {
            waiting = engine.ReadAsync(pipe.Read, new byte[1], -1);
            await Wait.UntilAsync(() => engine.OperationsInFlight > 0, "the pipe read is in the kernel");
            await ReadAndCheckAsync(file, temp, buffer, 5 * Block);
        });

        Assert.Equal(0, during);
        pipe.Put([1]);
        Assert.Equal(1, await waiting);
    }

    [Fact]
    public async Task Data_that_is_not_cached_is_read_through_the_ring_with_every_byte_right()
    {
        using var setup = new Setup(1024 * Block, seed: 9, evicted: true);
        (IoUringEngine engine, TempFile temp, UringFile file) = (setup.Engine, setup.Temp, setup.File);

        long inline = await InlineReadsOnLoopAsync(engine, async () =>
        {
            byte[] buffer = new byte[Block];
            for (int i = 0; i < 64; i++)
            {
                // Far apart and never twice: each page is read from the device.
                await ReadAndCheckAsync(file, temp, buffer, ((i * 16L) + 1) * Block);
            }
        });

        Assert.Equal(0, inline);
    }

    [Fact]
    public async Task A_chain_of_cache_hits_does_not_hold_up_a_request_from_another_thread()
    {
        using var setup = new Setup(64 * Block, seed: 10);
        (IoUringEngine engine, TempFile temp, UringFile file) = (setup.Engine, setup.Temp, setup.File);
        using var pipe = new TestPipe();
        using var stop = new CancellationTokenSource();
        long chainReads = 0;
        long inlineBefore = engine.InlineReads;

        Task chain = Task.Run(async () =>
        {
            await EngineReadWriteTests.ResumeOnLoopAsync(engine);
            byte[] buffer = new byte[Block];
            long offset = 0;
            while (!stop.IsCancellationRequested)
            {
                Assert.Equal(Block, await file.ReadAsync(buffer, offset));
                offset = (offset + Block) % (64 * Block);
                Volatile.Write(ref chainReads, chainReads + 1);
            }
        });

        await Wait.UntilAsync(() => Volatile.Read(ref chainReads) > 1000, "the chain of reads is running");

        // Another thread's request on the same engine completes while the chain keeps going.
        var watch = Stopwatch.StartNew();
        ValueTask<int> other = engine.ReadAsync(pipe.Read, new byte[1], -1);
        pipe.Put([42]);
        Assert.Equal(1, await other.AsTask().WaitAsync(TimeSpan.FromSeconds(5 * Wait.TimeScale)));
        TimeSpan took = watch.Elapsed;
        long chainAtEnd = Volatile.Read(ref chainReads);

        await stop.CancelAsync();
        await chain;
        Assert.True(engine.InlineReads - inlineBefore > chainAtEnd / 2, $"the chain served only {engine.InlineReads - inlineBefore} of its {chainAtEnd} reads on the spot");
        Assert.True(took < TimeSpan.FromSeconds(1 * Wait.TimeScale), $"the other thread's read took {took.TotalMilliseconds:F0} ms");
        Assert.True(chainAtEnd > 1000);
    }

    [Fact]
    public async Task A_cancelled_token_is_honoured_on_the_spot_path_too()
    {
        using var setup = new Setup(4 * Block, seed: 11);
        (IoUringEngine engine, TempFile temp, UringFile file) = (setup.Engine, setup.Temp, setup.File);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        long inline = await InlineReadsOnLoopAsync(engine, () =>
            Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await file.ReadAsync(new byte[Block], 0, cancelled.Token)));
        Assert.Equal(0, inline);
    }

    [Fact]
    public async Task Reads_at_and_past_the_end_of_the_file_return_what_is_there()
    {
        using var setup = new Setup((2 * Block) + 100, seed: 12);
        (IoUringEngine engine, TempFile temp, UringFile file) = (setup.Engine, setup.Temp, setup.File);

        await InlineReadsOnLoopAsync(engine, async () =>
        {
            byte[] buffer = new byte[Block];
            Assert.Equal(100, await file.ReadAsync(buffer, 2 * Block));
            Assert.True(buffer.AsSpan(0, 100).SequenceEqual(temp.Content.AsSpan(2 * Block, 100)));
            Assert.Equal(0, await file.ReadAsync(buffer, 3 * Block));
            await ReadAndCheckAsync(file, temp, buffer, Block);
        });
    }

    [Fact]
    public async Task A_range_whose_first_page_alone_is_cached_is_read_in_full_the_rest_through_the_ring()
    {
        using var setup = new Setup(64 * Block, seed: 13, evicted: true);
        (IoUringEngine engine, TempFile temp, UringFile file) = (setup.Engine, setup.Temp, setup.File);

        // One page back in the cache (random-access advice: no read-ahead around it).
        Assert.Equal(Block, RandomAccess.Read(file.Handle, new byte[Block], 8 * Block));

        // Read in full: the cached page on the spot, the three others through the ring.
        long inline = await InlineReadsOnLoopAsync(engine, () => ReadAndCheckAsync(file, temp, new byte[4 * Block], 8 * Block));
        Assert.Equal(1, inline);
    }
}
