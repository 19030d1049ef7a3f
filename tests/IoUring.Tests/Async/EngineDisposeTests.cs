namespace IoUring.Tests.Async;

public sealed class EngineDisposeTests
{
    [UringTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Disposing_with_reads_pending_fails_them_and_the_kernel_never_writes_their_buffers_afterwards(bool async)
    {
        var engine = new IoUringEngine();
        using var pipe = new TestPipe();
        byte[][] buffers = Enumerable.Range(0, 8).Select(_ => Enumerable.Repeat((byte)0x55, 64).ToArray()).ToArray();
        Task<int>[] reads = buffers.Select(b => engine.ReadAsync(pipe.Read, b, -1).AsTask()).ToArray();
        await Wait.UntilAsync(() => engine.OperationsInFlight == 8, "all reads are in the kernel");

        if (async)
        {
            await engine.DisposeAsync();
        }
        else
        {
            engine.Dispose();
        }

        foreach (Task<int> r in reads)
        {
            await Assert.ThrowsAsync<ObjectDisposedException>(() => r);
        }

        Assert.Equal(0, engine.AbandonedOperations);
        Assert.Equal(0, engine.OperationsInFlight);
        Assert.Null(engine.Fault);

        // Data arriving now has no reader left: the old buffers must stay as they were.
        pipe.Put(new byte[64]);
        await Task.Delay(20);
        foreach (byte[] b in buffers)
        {
            Assert.All(b, x => Assert.Equal(0x55, x));
        }

        Assert.Throws<ObjectDisposedException>(() => engine.ReadAsync(pipe.Read, new byte[1], -1));
        Assert.Throws<ObjectDisposedException>(() => engine.NopAsync());
        engine.Dispose();
        await engine.DisposeAsync();
    }

    [UringFact]
    public async Task Disposing_under_load_completes_every_read_with_its_bytes_or_ObjectDisposedException()
    {
        using var file = new TempFile(1 << 20, seed: 31);
        using var handle = file.Open();
        var engine = new IoUringEngine();
        int ok = 0, refused = 0;

        Task[] workers = Enumerable.Range(0, 32).Select(t => Task.Run(async () =>
        {
            var rnd = new Random(t);
            var buffer = new byte[4096];
            while (true)
            {
                long offset = rnd.Next(256) * 4096L;
                try
                {
                    int n = await engine.ReadAsync(handle, buffer, offset);
                    Assert.Equal(4096, n);
                    Assert.True(buffer.AsSpan().SequenceEqual(file.Content.AsSpan((int)offset, 4096)));
                    Interlocked.Increment(ref ok);
                }
                catch (ObjectDisposedException)
                {
                    Interlocked.Increment(ref refused);
                    return;
                }
            }
        })).ToArray();

        await Wait.UntilAsync(() => Volatile.Read(ref ok) > 2000, "the workers got going");
        engine.Dispose();
        await Task.WhenAll(workers);
        Assert.Equal(32, refused);
        Assert.Equal(0, engine.AbandonedOperations);
    }

    [UringFact]
    public async Task Disposing_from_an_inline_continuation_does_not_deadlock()
    {
        // No hand-off: on a loaded machine a continuation can run past HandOffAfter before it reaches the check, and
        // the ring would move to another thread (the hand-off has its own tests).
        var engine = new IoUringEngine(new IoUringEngineOptions { Continuations = ContinuationMode.Inline, HandOffAfter = Timeout.InfiniteTimeSpan });
        await Task.Run(async () =>
        {
            await EngineReadWriteTests.ResumeOnLoopAsync(engine);
            Assert.True(engine.IsOnLoopThread);
            engine.Dispose();
        });

        await engine.DisposeAsync();
        Assert.True(engine.IsDisposing);
        Assert.Throws<ObjectDisposedException>(() => engine.NopAsync());
    }

    [UringFact]
    public async Task A_file_handle_disposed_while_its_read_is_pending_stays_open_until_the_read_completes()
    {
        using var engine = new IoUringEngine();
        var pipe = new TestPipe();
        var buffer = new byte[8];
        Task<int> read = engine.ReadAsync(pipe.Read, buffer, -1).AsTask();
        await Wait.UntilAsync(() => engine.OperationsInFlight == 1, "the read is in the kernel");

        // The engine holds a reference on the SafeHandle, so disposing it does not close the fd under the request:
        // the close happens when the request releases its reference.
        pipe.Read.Dispose();
        Assert.False(pipe.Read.IsClosed);
        pipe.Put([7, 7]);
        Assert.Equal(2, await read);
        Assert.Equal([7, 7], buffer.AsSpan(0, 2).ToArray());
        Assert.True(pipe.Read.IsClosed);
        Assert.Throws<ObjectDisposedException>(() => engine.ReadAsync(pipe.Read, buffer, -1));
        pipe.Dispose();
    }
}
