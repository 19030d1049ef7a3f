namespace IoUring.Tests.Async;

/// <summary>
/// Thread-pool mode collects the requests a batch of continuations makes and hands them to the loop as one chain when
/// the batch ends. A continuation that blocks on such a request before its batch ends must still see it complete.
/// </summary>
public sealed class BatchedHandOffTests
{
    /// <summary>Slower than most waits (see <see cref="Wait.Patience"/>): a bound of 3 times the patience.</summary>
    private static readonly TimeSpan Generous = Wait.Patience * 3;

    [UringTheory]
    [InlineData(1, false)]
    [InlineData(8, false)]
    [InlineData(8, true)]
    public async Task A_continuation_blocking_on_a_request_it_just_made_sees_it_complete(int workers, bool busyLoop)
    {
        using var file = new TempFile(64 * 1024, seed: 11);
        using var handle = file.Open();
        using var engine = new IoUringEngine(new IoUringEngineOptions { Continuations = ContinuationMode.ThreadPool });
        using var stop = new CancellationTokenSource();

        // Optionally keep the loop busy with a stream of other requests, so it never parks and must find the blocked
        // batch by its periodic scan.
        Task noise = busyLoop ? Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await engine.NopAsync().ConfigureAwait(false);
            }
        }) : Task.CompletedTask;

        int inBatch = 0;
        Task[] tasks = [.. Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
        {
            var buffer = new byte[4096];
            for (int i = 0; i < 200; i++)
            {
                await engine.NopAsync().ConfigureAwait(false);

                // Now on a pool thread inside a completion batch: make a request and block on it (sync-over-async).
                if (CompletionDispatch.CollectingFor(engine) is not null)
                {
                    Interlocked.Increment(ref inBatch);
                }

                long offset = ((w * 200) + i) % 16 * 4096;
                int n = engine.ReadAsync(handle, buffer, offset).AsTask().GetAwaiter().GetResult();
                Assert.Equal(4096, n);
                Assert.True(buffer.AsSpan().SequenceEqual(file.Content.AsSpan((int)offset, 4096)));
            }
        }))];

        Task all = Task.WhenAll(tasks);
        Task finished = await Task.WhenAny(all, Task.Delay(Generous));
        stop.Cancel();
        await noise;
        Assert.True(finished == all, "A continuation blocked on its own request was never released.");
        await all;

        // The blocking calls above really ran inside batches (the case under test), not on some other thread.
        Assert.True(Volatile.Read(ref inBatch) > 0);
        Assert.Equal(0, engine.OperationsInFlight);
    }

    [UringFact]
    public async Task A_continuation_blocking_on_another_task_that_waits_for_its_request_is_released()
    {
        using var engine = new IoUringEngine(new IoUringEngineOptions { Continuations = ContinuationMode.ThreadPool });

        Task work = Task.Run(async () =>
        {
            for (int i = 0; i < 100; i++)
            {
                await engine.NopAsync().ConfigureAwait(false);

                // The request is only awaited elsewhere; this thread blocks until that other await has finished.
                using var done = new ManualResetEventSlim();
                ValueTask nop = engine.NopAsync();
                _ = Task.Run(async () =>
                {
                    await nop.ConfigureAwait(false);
                    done.Set();
                });
                Assert.True(done.Wait(Generous), "The request a blocked batch had made never reached the kernel.");
            }
        });

        Task finished = await Task.WhenAny(work, Task.Delay(Generous * 2));
        Assert.True(finished == work, "Timed out.");
        await work;
    }

    [UringFact]
    public async Task Disposing_from_inside_a_batch_fails_the_requests_it_had_collected()
    {
        var engine = new IoUringEngine(new IoUringEngineOptions { Continuations = ContinuationMode.ThreadPool });
        Task<Exception?> inner = Task.Run(async () =>
        {
            await engine.NopAsync().ConfigureAwait(false);
            Task pending = engine.NopAsync().AsTask();
            engine.Dispose();
            try
            {
                await pending.WaitAsync(Generous).ConfigureAwait(false);
                return null;
            }
            catch (Exception e)
            {
                return e;
            }
        });

        Task finished = await Task.WhenAny(inner, Task.Delay(Generous * 2));
        Assert.True(finished == inner, "Timed out.");

        // Either the NOP made it to the kernel before the shutdown (completes) or it was refused (ObjectDisposed).
        Exception? e = await inner;
        Assert.True(e is null or ObjectDisposedException, $"Unexpected {e}");
        Assert.Equal(0, engine.AbandonedOperations);
        Assert.Null(engine.Fault);
    }
}
