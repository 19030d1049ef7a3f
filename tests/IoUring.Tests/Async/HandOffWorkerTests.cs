namespace IoUring.Tests.Async;

/// <summary>Tests that change how every new engine worker thread starts: they run alone.</summary>
[CollectionDefinition(nameof(WorkerThreadStarts), DisableParallelization = true)]
public sealed class WorkerThreadStarts;

/// <summary>
/// The threads a ring is handed to: workers made for a hand-off, idle between hand-offs and reused. A ring must only
/// ever be handed to a thread that is alive and waiting for it.
/// </summary>
[Collection(nameof(WorkerThreadStarts))]
public sealed class HandOffWorkerTests
{
    [UringFact]
    public async Task Hand_offs_in_a_row_give_the_ring_only_to_live_threads_and_it_keeps_serving()
    {
        // Each round hands the ring off (a continuation sleeps on the engine's thread), then needs a read served; idle
        // workers are reused by the next hand-offs. Before the fix, a new worker whose hand-off reached it before its
        // thread had run skipped its first wait, so the release stayed counted: at its next idle wait it returned at
        // once without work and the thread ended while still on the idle stack. The hand-off that picked it next gave
        // the ring to no thread, and every request of that engine waited forever (seen as Kestrel serving nothing
        // after a cold start, when JIT makes continuations slow, and its shutdown hanging).
        using var rig = new EngineTempFile(64 * 1024, seed: 11);
        var (_, handle, engine) = rig;
        byte[] buffer = new byte[4096];

        // New worker threads start late, so the hand-off reaches each new worker before its thread has run: an order a
        // busy machine produces now and then, made certain here.
        EngineWorker.ThreadStartingForTests = static () => Thread.Sleep(20);
        try
        {
            for (int round = 0; round < 40; round++)
            {
                int before = engine.HandOffs;
                Task sleeper = Task.Run(async () =>
                {
                    await EngineReadWriteTests.ResumeOnLoopAsync(engine);
                    Thread.Sleep(30);
                });
                await Wait.UntilAsync(() => engine.HandOffs > before || sleeper.IsCompleted, "the sleeping continuation is handed off");
                Task<int> read = engine.ReadAsync(handle, buffer, 0).AsTask();
                Assert.True(await Task.WhenAny(read, Task.Delay(TimeSpan.FromSeconds(10))) == read,
                    $"round {round}: a read was not served within 10 s after hand-off {engine.HandOffs} (the ring has no live owner)");
                Assert.Equal(4096, await read);
                await sleeper;

                // The old owner goes idle once its continuation has returned; a worker that ended meanwhile would show.
                await Task.Delay(50);
                Assert.True(EngineWorker.IdleWorkersAlive(), $"round {round}: an idle worker's thread has ended (it would swallow the next hand-off)");
            }
        }
        finally
        {
            EngineWorker.ThreadStartingForTests = null;
        }

        Assert.True(engine.HandOffs >= 20, $"only {engine.HandOffs} hand-offs in 40 rounds");
    }
}
