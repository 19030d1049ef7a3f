namespace IoUring.Tests.Async;

public sealed class CancellationTests
{
    [UringFact]
    public async Task A_token_cancelled_before_the_call_fails_at_once_and_consumes_nothing()
    {
        using var engine = new IoUringEngine();
        using var pipe = new TestPipe();
        using var cts = new CancellationTokenSource();
        cts.Cancel();

        var buffer = new byte[16];
        ValueTask<int> read = engine.ReadAsync(pipe.Read, buffer, -1, cts.Token);
        Assert.True(read.IsCanceled);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await read);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await engine.WriteAsync(pipe.Write, new byte[1], -1, cts.Token));

        pipe.Put([1, 2, 3]);
        Assert.Equal(3, await engine.ReadAsync(pipe.Read, buffer, -1));
        Assert.Equal(0, engine.OperationsInFlight);
    }

    [Theory]
    [MemberData(nameof(EngineModes.Both), MemberType = typeof(EngineModes))]
    public async Task Cancelling_a_pending_read_fails_it_and_the_kernel_never_writes_its_buffer_afterwards(ContinuationMode mode)
    {
        using var engine = EngineModes.NewEngine(mode);
        using var pipe = new TestPipe();
        using var cts = new CancellationTokenSource();
        var buffer = new byte[64];
        buffer.AsSpan().Fill(0xAA);

        Task<int> read = engine.ReadAsync(pipe.Read, buffer, -1, cts.Token).AsTask();
        await Wait.UntilAsync(() => engine.OperationsInFlight == 1, "the read is in the kernel");
        Assert.False(read.IsCompleted);

        cts.Cancel();
        OperationCanceledException e = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read);
        Assert.Equal(cts.Token, e.CancellationToken);
        Assert.Equal(0, engine.OperationsInFlight);

        // The cancelled request is gone: the next read gets the data, the old buffer stays untouched.
        pipe.Put([1, 2, 3, 4]);
        var other = new byte[64];
        Assert.Equal(4, await engine.ReadAsync(pipe.Read, other, -1));
        Assert.All(buffer, b => Assert.Equal(0xAA, b));
    }

    [UringFact]
    public async Task Cancelling_after_completion_keeps_the_result_and_does_not_cancel_whatever_reuses_the_operation()
    {
        using var engine = new IoUringEngine();
        using var pipe = new TestPipe();
        var buffer = new byte[64];

        for (int i = 0; i < 50; i++)
        {
            using var cts = new CancellationTokenSource();
            pipe.Put([(byte)i, 1, 2]);
            Assert.Equal(3, await engine.ReadAsync(pipe.Read, buffer, -1, cts.Token));
            Assert.Equal(i, buffer[0]);
            cts.Cancel();

            // The pooled operation object is reused at once; the stale token must not reach it.
            Task<int> next = engine.ReadAsync(pipe.Read, buffer, -1).AsTask();
            await Wait.UntilAsync(() => engine.OperationsInFlight == 1, "the next read is in the kernel");
            Assert.False(next.IsCompleted);
            pipe.Put([42]);
            Assert.Equal(1, await next);
            Assert.Equal(42, buffer[0]);
        }
    }

    [UringFact]
    public async Task Cancellation_racing_completion_never_loses_or_duplicates_pipe_data()
    {
        using var engine = new IoUringEngine();
        using var pipe = new TestPipe();
        const int Total = 200_000;
        byte[] stream = TestData.Bytes(Total, 21);

        Task writer = Task.Run(async () =>
        {
            var rnd = new Random(22);
            int sent = 0;
            while (sent < Total)
            {
                int n = Math.Min(Total - sent, 1 + rnd.Next(3000));
                await engine.WriteAsync(pipe.Write, stream.AsMemory(sent, n), -1);
                sent += n;
                if (rnd.Next(4) == 0)
                {
                    await Task.Yield();
                }
            }
        });

        var received = new MemoryStream();
        var rnd = new Random(23);
        var buffer = new byte[4096];
        int cancelled = 0;
        while (received.Length < Total)
        {
            // Not disposed here: a cancellation queued to the pool may run after this iteration, and Cancel on a
            // disposed source throws. The sources hold no timers, so the GC reclaims them.
            var cts = new CancellationTokenSource();
            ValueTask<int> read = engine.ReadAsync(pipe.Read, buffer, -1, cts.Token);
            switch (rnd.Next(3))
            {
                case 0:
                    cts.Cancel();
                    break;
                case 1:
                    ThreadPool.UnsafeQueueUserWorkItem(static c => c.Cancel(), cts, preferLocal: false);
                    break;
            }

            try
            {
                int n = await read;
                received.Write(buffer, 0, n);
            }
            catch (OperationCanceledException)
            {
                cancelled++;
            }
        }

        await writer;
        Assert.Equal(stream, received.ToArray());
        Assert.True(cancelled > 0, "no read was cancelled, so the test proved nothing");
    }

    [UringFact]
    public async Task Cancelled_file_reads_either_return_correct_bytes_or_throw_OperationCanceledException()
    {
        using var rig = new EngineTempFile(1 << 20, seed: 24);
        var (file, handle, engine) = rig;

        int completed = 0;
        await Task.WhenAll(Enumerable.Range(0, 16).Select(t => Task.Run(async () =>
        {
            var rnd = new Random(t);
            var buffer = new byte[8192];
            for (int i = 0; i < 300; i++)
            {
                using var cts = new CancellationTokenSource();
                long offset = rnd.Next((1 << 20) - 8192);
                buffer.AsSpan().Clear();
                ValueTask<int> read = engine.ReadAsync(handle, buffer, offset, cts.Token);
                if (rnd.Next(2) == 0)
                {
                    cts.Cancel();
                }

                try
                {
                    int n = await read;
                    Assert.Equal(8192, n);
                    Assert.True(buffer.AsSpan().SequenceEqual(file.Content.AsSpan((int)offset, 8192)));
                    Interlocked.Increment(ref completed);
                }
                catch (OperationCanceledException e)
                {
                    Assert.Equal(cts.Token, e.CancellationToken);
                }
            }
        })));

        Assert.True(completed > 0);
        Assert.Equal(0, engine.OperationsInFlight);
    }
}
