using System.Diagnostics;

namespace IoUring.Tests.Async;

/// <summary>
/// The default completion model: continuations run on the engine's thread, and one that blocks (sleeps, waits
/// synchronously for another request of the same engine, disposes the engine) makes the engine hand its ring to another
/// thread, so the other requests keep completing and nothing deadlocks. The bounds are generous: the machine is shared.
/// </summary>
public sealed class HandOffTests
{
    /// <summary>How long a blocking continuation blocks (scaled, like everything timed here, by <see cref="Wait.TimeScale"/>: under emulation the work between the clocks is slower, the ratios stay).</summary>
    private static readonly TimeSpan Block = Wait.Scaled(TimeSpan.FromSeconds(2));

    /// <summary>What "not delayed" means here: far below <see cref="Block"/>, far above a hand-off (a millisecond or two).</summary>
    private static readonly TimeSpan NotDelayed = Wait.Scaled(TimeSpan.FromMilliseconds(700));

    [UringFact]
    public async Task A_continuation_that_sleeps_does_not_delay_the_engines_other_reads()
    {
        using var rig = new EngineTempFile(256 * 1024, seed: 3);
        var (file, handle, engine) = rig;
        using var pipe = new TestPipe();

        // A read already in the kernel when the continuation starts sleeping, submitted by the thread that then sleeps:
        // its completion must still be posted (a plain ring wakes the sleeping submitter to post it) and reaped.
        ValueTask<int> inFlight = engine.ReadAsync(pipe.Read, new byte[1], -1);
        await Wait.UntilAsync(() => engine.OperationsInFlight > 0, "the pipe read is in the kernel");

        using var sleeping = new ManualResetEventSlim();
        Task sleeper = Task.Run(async () =>
        {
            try
            {
                await EngineReadWriteTests.ResumeOnLoopAsync(engine);
            }
            finally
            {
                sleeping.Set();
            }

            Thread.Sleep(Block);
        });
        Assert.True(sleeping.Wait(Wait.Scaled(TimeSpan.FromSeconds(30))), "the continuation never ran on the engine's thread");
        Assert.False(sleeper.IsFaulted, sleeper.Exception?.ToString());
        var clock = Stopwatch.StartNew();

        // New reads from another thread, one after the other (each awaited: its continuation runs on whichever thread
        // owns the ring now).
        byte[] buffer = new byte[4096];
        for (int i = 0; i < 64; i++)
        {
            long offset = (i * 4096L) % file.Content.Length;
            Assert.Equal(4096, await engine.ReadAsync(handle, buffer, offset));
            Assert.True(buffer.AsSpan().SequenceEqual(file.Content.AsSpan((int)offset, 4096)));
        }

        pipe.Put([7]);
        Assert.Equal(1, await inFlight);
        TimeSpan elapsed = clock.Elapsed;
        Assert.False(sleeper.IsCompleted, "the sleeping continuation should still sleep");
        Assert.True(elapsed < NotDelayed, $"the other reads took {elapsed.TotalMilliseconds:F0} ms while one continuation slept");
        Assert.True(engine.HandOffs >= 1, "the ring was never handed off");
        await sleeper;
    }

    [UringFact]
    public async Task A_continuation_that_waits_synchronously_for_another_read_of_its_engine_gets_it()
    {
        using var rig = new EngineTempFile(64 * 1024, seed: 5);
        var (file, handle, engine) = rig;

        int[] results = await Task.Run(async () =>
        {
            await EngineReadWriteTests.ResumeOnLoopAsync(engine);
            Assert.True(engine.IsOnLoopThread);
            var buffer = new byte[4096];
            var got = new int[16];
            for (int i = 0; i < got.Length; i++)
            {
                // Sync over async on the engine's own thread: the ring is handed off, and the new owner completes it.
                got[i] = engine.ReadAsync(handle, buffer, i * 4096L).AsTask().GetAwaiter().GetResult();
                Assert.True(buffer.AsSpan().SequenceEqual(file.Content.AsSpan(i * 4096, 4096)));
            }

            return got;
        }).WaitAsync(Wait.Scaled(TimeSpan.FromSeconds(60)));

        Assert.All(results, n => Assert.Equal(4096, n));
        Assert.True(engine.HandOffs >= 1);
    }

    [UringFact]
    public async Task Many_continuations_blocking_at_once_each_get_a_thread_and_the_reads_between_them_complete()
    {
        using var rig = new EngineTempFile(64 * 1024, seed: 7);
        var (file, handle, engine) = rig;
        const int Blockers = 12;
        TestPipe[] pipes = [.. Enumerable.Range(0, Blockers).Select(_ => new TestPipe())];
        try
        {
            // Each continuation blocks until all twelve are blocked at once: possible only if each got its own thread.
            // One after another (the ring kept by a blocked thread), the first would wait for the others forever. Each
            // awaits a pipe read whose byte is written only once all twelve are in the kernel, so the engine, not the
            // awaiting thread, runs the continuations (a file read of cached data can complete before its await, and
            // under emulation all twelve did: their continuations then ran on pool threads and nothing was handed off).
            using var allBlocked = new CountdownEvent(Blockers);
            int onLoop = 0;
            int before = engine.OperationsInFlight;
            Task[] blockers = [.. Enumerable.Range(0, Blockers).Select(i => Task.Run(async () =>
            {
                Assert.Equal(1, await engine.ReadAsync(pipes[i].Read, new byte[1], -1));
                if (engine.IsOnLoopThread)
                {
                    Interlocked.Increment(ref onLoop);
                }

                allBlocked.Signal();
                Assert.True(allBlocked.Wait(Wait.Patience), $"only {Blockers - allBlocked.CurrentCount} of {Blockers} continuations were blocked at once");
                var buffer = new byte[4096];
                Assert.Equal(4096, await engine.ReadAsync(handle, buffer, i * 4096L));
                Assert.True(buffer.AsSpan().SequenceEqual(file.Content.AsSpan(i * 4096, 4096)));
            }))];
            await Wait.UntilAsync(() => engine.OperationsInFlight >= before + Blockers, "the twelve pipe reads are in the kernel");
            await Task.Delay(10 * Wait.TimeScale); // each awaiting thread is past its await
            foreach (TestPipe pipe in pipes)
            {
                pipe.Put([1]);
            }

            await Task.WhenAll(blockers).WaitAsync(Wait.Patience * 2);
            Assert.True(onLoop >= 1, "no continuation ran on the engine's thread");
            Assert.True(engine.HandOffs >= 1, $"{onLoop} continuations blocked on the engine's thread, yet nothing was handed off");
        }
        finally
        {
            foreach (TestPipe pipe in pipes)
            {
                pipe.Dispose();
            }
        }
    }

    [UringFact]
    public async Task Disposing_the_engine_from_its_own_continuation_waits_for_it_to_stop()
    {
        var engine = new IoUringEngine();
        bool stoppedWhenDisposeReturned = await Task.Run(async () =>
        {
            await EngineReadWriteTests.ResumeOnLoopAsync(engine);
            Assert.True(engine.IsOnLoopThread);
            engine.Dispose();
            return engine.DisposeAsync().IsCompleted;
        }).WaitAsync(Wait.Scaled(TimeSpan.FromSeconds(60)));

        Assert.True(stoppedWhenDisposeReturned, "Dispose returned before the engine had stopped");
        Assert.Throws<ObjectDisposedException>(() => engine.NopAsync());
    }

    [UringFact]
    public async Task With_hand_off_off_the_ring_stays_on_one_thread()
    {
        using var engine = new IoUringEngine(new IoUringEngineOptions { HandOffAfter = Timeout.InfiniteTimeSpan });
        int loop = engine.LoopThreadId;
        await Task.Run(async () =>
        {
            await EngineReadWriteTests.ResumeOnLoopAsync(engine);
            Thread.Sleep(50);
        });
        await engine.NopAsync();
        Assert.Equal(0, engine.HandOffs);
        Assert.Equal(loop, engine.LoopThreadId);
    }

    [Fact]
    public void Hand_off_times_that_are_not_positive_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new IoUringEngine(new IoUringEngineOptions { HandOffAfter = TimeSpan.Zero }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new IoUringEngine(new IoUringEngineOptions { HandOffAfter = TimeSpan.FromSeconds(-2) }));
    }
}
