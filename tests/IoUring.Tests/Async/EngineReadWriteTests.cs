namespace IoUring.Tests.Async;

public sealed class EngineReadWriteTests
{
    [Theory]
    [MemberData(nameof(EngineModes.Both), MemberType = typeof(EngineModes))]
    public async Task Reads_return_the_file_bytes_and_stop_short_at_the_end(ContinuationMode mode)
    {
        using var file = new TempFile(10_000, seed: 3);
        using var handle = file.Open();
        using var engine = EngineModes.NewEngine(mode);

        var buffer = new byte[4096];
        Assert.Equal(4096, await engine.ReadAsync(handle, buffer, 1000));
        Assert.True(buffer.AsSpan().SequenceEqual(file.Content.AsSpan(1000, 4096)));

        Assert.Equal(10_000 - 8192, await engine.ReadAsync(handle, buffer, 8192));
        Assert.True(buffer.AsSpan(0, 10_000 - 8192).SequenceEqual(file.Content.AsSpan(8192)));

        Assert.Equal(0, await engine.ReadAsync(handle, buffer, 10_000));
        Assert.Equal(0, await engine.ReadAsync(handle, buffer, 1 << 30));
        Assert.Equal(0, await engine.ReadAsync(handle, Memory<byte>.Empty, 0));
        Assert.Equal(0, engine.OperationsInFlight);
    }

    [UringFact]
    public async Task Reads_into_native_memory_work_like_reads_into_arrays()
    {
        using var rig = new EngineTempFile(8192, seed: 4);
        var (file, handle, engine) = rig;
        using var native = new NativeBuffer(4096);

        Assert.Equal(4096, await engine.ReadAsync(handle, native.Memory, 4096));
        Assert.True(native.Span.SequenceEqual(file.Content.AsSpan(4096)));
    }

    [Theory]
    [MemberData(nameof(EngineModes.Both), MemberType = typeof(EngineModes))]
    public async Task Many_tasks_reading_and_writing_random_offsets_see_exactly_the_bytes_they_expect(ContinuationMode mode)
    {
        using var engine = EngineModes.NewEngine(mode);
        await RunRandomReadWrite((h, m, o) => engine.ReadAsync(h, m, o), (h, m, o) => engine.WriteAsync(h, m, o));
        Assert.Equal(0, engine.OperationsInFlight);
    }

    [UringFact]
    public async Task Many_tasks_on_an_engine_group_see_exactly_the_bytes_they_expect()
    {
        using var group = new IoUringEngineGroup(2);
        await RunRandomReadWrite((h, m, o) => group.Current.ReadAsync(h, m, o), (h, m, o) => group.Next().WriteAsync(h, m, o));
    }

    /// <summary>
    /// 32 tasks each own every 32nd block of a file and do random-length reads and writes at random offsets inside
    /// their blocks, checking every read against their model; at the end the file equals the model.
    /// </summary>
    private static async Task RunRandomReadWrite(
        Func<Microsoft.Win32.SafeHandles.SafeFileHandle, Memory<byte>, long, ValueTask<int>> read,
        Func<Microsoft.Win32.SafeHandles.SafeFileHandle, ReadOnlyMemory<byte>, long, ValueTask> write)
    {
        const int Tasks = 32, BlocksPerTask = 8, Block = 4096, OpsPerTask = 300;
        using var file = new TempFile(Tasks * BlocksPerTask * Block, seed: 7);
        using var handle = file.Open(FileAccess.ReadWrite);
        byte[] model = file.Content.ToArray();

        Task[] tasks = new Task[Tasks];
        for (int t = 0; t < Tasks; t++)
        {
            int id = t;
            tasks[t] = Task.Run(async () =>
            {
                var rnd = new Random((id * 7919) + 1);
                var buffer = new byte[Block];
                for (int i = 0; i < OpsPerTask; i++)
                {
                    int block = id + (Tasks * rnd.Next(BlocksPerTask));
                    int start = rnd.Next(Block);
                    int length = 1 + rnd.Next(Block - start);
                    int offset = (block * Block) + start;
                    if (rnd.Next(2) == 0)
                    {
                        rnd.NextBytes(buffer.AsSpan(0, length));
                        await write(handle, buffer.AsMemory(0, length), offset);
                        buffer.AsSpan(0, length).CopyTo(model.AsSpan(offset, length));
                    }
                    else
                    {
                        buffer.AsSpan().Fill(0xEE);
                        int n = await read(handle, buffer.AsMemory(0, length), offset);
                        Assert.Equal(length, n);
                        Assert.True(buffer.AsSpan(0, length).SequenceEqual(model.AsSpan(offset, length)), $"task {id} op {i}: read at {offset}+{length} differs from what was written");
                    }
                }
            });
        }

        await Task.WhenAll(tasks);
        var onDisk = new byte[model.Length];
        Assert.Equal(model.Length, RandomAccess.Read(handle, onDisk, 0));
        Assert.True(onDisk.AsSpan().SequenceEqual(model), "the file differs from the model after all tasks finished");
    }

    [UringFact]
    public async Task Scatter_read_and_gather_write_move_the_buffers_in_order()
    {
        using var file = new TempFile(64 * 1024, seed: 5);
        using var handle = file.Open(FileAccess.ReadWrite);
        using var engine = new IoUringEngine();

        Memory<byte>[] parts = [new byte[100], new byte[4096], new byte[1], new byte[5000]];
        long n = await engine.ReadAsync(handle, parts, 777);
        Assert.Equal(100 + 4096 + 1 + 5000, n);
        Assert.Equal(file.Content.AsSpan(777, (int)n).ToArray(), parts.SelectMany(p => p.ToArray()).ToArray());

        var rnd = new Random(9);
        ReadOnlyMemory<byte>[] outParts = Enumerable.Range(0, 5).Select(i => (ReadOnlyMemory<byte>)TestData.Bytes(rnd, 1000 + (i * 333))).ToArray();
        await engine.WriteAsync(handle, outParts, 10_000);
        byte[] expected = outParts.SelectMany(p => p.ToArray()).ToArray();
        var back = new byte[expected.Length];
        Assert.Equal(back.Length, RandomAccess.Read(handle, back, 10_000));
        Assert.Equal(expected, back);
    }

    /// <summary>
    /// Reads <paramref name="expected"/>'s length from the pipe through the engine (at most <paramref name="chunkSize"/>
    /// per read) while <paramref name="write"/> fills it, then asserts the write completed and the bytes are
    /// <paramref name="expected"/>.
    /// </summary>
    private static async Task AssertPipeCarriesAsync(IoUringEngine engine, TestPipe pipe, Task write, byte[] expected, int chunkSize)
    {
        byte[] received = await ReadPipeAsync(engine, pipe, expected.Length, chunkSize);
        await write;
        Assert.Equal(expected, received);
    }

    /// <summary>Reads <paramref name="count"/> bytes from the pipe through the engine, at most <paramref name="chunkSize"/> per read.</summary>
    private static async Task<byte[]> ReadPipeAsync(IoUringEngine engine, TestPipe pipe, int count, int chunkSize)
    {
        var received = new MemoryStream();
        var chunk = new byte[chunkSize];
        while (received.Length < count)
        {
            int n = await engine.ReadAsync(pipe.Read, chunk, -1);
            Assert.True(n > 0, $"end of stream after {received.Length} of {count} bytes");
            received.Write(chunk, 0, n);
        }

        return received.ToArray();
    }

    [UringFact]
    public async Task A_write_larger_than_the_pipe_buffer_is_completed_across_short_writes()
    {
        using var pipe = new TestPipe();
        using var engine = new IoUringEngine();
        byte[] data = TestData.Bytes(1 << 20, 11);

        // The kernel accepts at most the pipe's 64 KiB per write, so the engine must resubmit the rest.
        await AssertPipeCarriesAsync(engine, pipe, engine.WriteAsync(pipe.Write, data, -1).AsTask(), data, chunkSize: 100_000);
    }

    [UringFact]
    public async Task A_gather_write_to_a_pipe_survives_short_writes_that_split_a_buffer()
    {
        using var pipe = new TestPipe();
        using var engine = new IoUringEngine();
        var rnd = new Random(12);
        ReadOnlyMemory<byte>[] parts = Enumerable.Range(0, 7).Select(i => (ReadOnlyMemory<byte>)TestData.Bytes(rnd, 50_000 + (i * 7)).AsMemory()).ToArray();
        byte[] expected = parts.SelectMany(p => p.ToArray()).ToArray();

        await AssertPipeCarriesAsync(engine, pipe, engine.WriteAsync(pipe.Write, parts, -1).AsTask(), expected, chunkSize: 30_000);
    }

    [UringFact]
    public async Task Nops_complete_and_leave_nothing_in_flight()
    {
        using var engine = new IoUringEngine();
        for (int i = 0; i < 1000; i++)
        {
            await engine.NopAsync();
        }

        await Task.WhenAll(Enumerable.Range(0, 500).Select(_ => engine.NopAsync().AsTask()));
        Assert.Equal(0, engine.OperationsInFlight);
    }

    [UringFact]
    public async Task More_operations_than_the_queue_holds_are_all_completed()
    {
        using var file = new TempFile(1 << 20, seed: 13);
        using var handle = file.Open();
        using var engine = new IoUringEngine(new IoUringEngineOptions { QueueEntries = 8 });

        // 8 SQEs and 32 CQEs: the engine must hold back what does not fit and submit it as completions free space.
        var buffers = Enumerable.Range(0, 2000).Select(_ => new byte[512]).ToArray();
        int[] results = await Task.WhenAll(buffers.Select((b, i) => engine.ReadAsync(handle, b, i * 512L).AsTask()));
        for (int i = 0; i < buffers.Length; i++)
        {
            Assert.Equal(512, results[i]);
            Assert.True(buffers[i].AsSpan().SequenceEqual(file.Content.AsSpan(i * 512, 512)));
        }
    }

    [UringFact]
    public void A_ring_that_never_changes_threads_gets_SINGLE_ISSUER_and_DEFER_TASKRUN_one_that_hands_off_is_plain()
    {
        using var pooled = new IoUringEngine(new IoUringEngineOptions { Continuations = ContinuationMode.ThreadPool });
        Assert.NotEqual(0, pooled.LoopThreadId);
        Assert.False(pooled.IsOnLoopThread);
        string[] release = IoUringSupport.KernelRelease().Split('.', '-');
        if (int.TryParse(release[0], out int major) && int.TryParse(release[1], out int minor) && (major, minor).CompareTo((6, 1)) >= 0)
        {
            Assert.True(pooled.SetupFlags.HasFlag(SetupFlags.SingleIssuer | SetupFlags.DeferTaskRun), $"flags: {pooled.SetupFlags}");
            using var pinned = new IoUringEngine(new IoUringEngineOptions { HandOffAfter = Timeout.InfiniteTimeSpan });
            Assert.True(pinned.SetupFlags.HasFlag(SetupFlags.SingleIssuer | SetupFlags.DeferTaskRun), $"flags: {pinned.SetupFlags}");
        }

        // The default (inline continuations with hand-off): any thread may have to enter the ring, and a completion must
        // reach a blocked old owner, so neither SINGLE_ISSUER nor a deferred or cooperative task run.
        using var handsOff = new IoUringEngine();
        Assert.Equal(ContinuationMode.Inline, handsOff.Continuations);
        Assert.False(handsOff.SetupFlags.HasFlag(SetupFlags.SingleIssuer), $"flags: {handsOff.SetupFlags}");
        Assert.False(handsOff.SetupFlags.HasFlag(SetupFlags.DeferTaskRun));
        Assert.False(handsOff.SetupFlags.HasFlag(SetupFlags.CoopTaskRun));

        using var plain = new IoUringEngine(new IoUringEngineOptions { Continuations = ContinuationMode.ThreadPool, UseDeferTaskRun = false });
        Assert.False(plain.SetupFlags.HasFlag(SetupFlags.DeferTaskRun));
    }

    /// <summary>
    /// Awaits a pipe read whose data arrives only after the read is in the kernel, so that normally the continuation
    /// is dispatched by the engine. On a loaded machine the awaiting thread can still be preempted until the data is
    /// there, and the await then completes synchronously; <see cref="ResumeOnLoopAsync"/> retries for that.
    /// </summary>
    internal static async Task AwaitPendingRead(IoUringEngine engine)
    {
        using var pipe = new TestPipe();
        int before = engine.OperationsInFlight; // other requests of the test may be in the kernel already
        ValueTask<int> read = engine.ReadAsync(pipe.Read, new byte[1], -1);
        _ = Task.Run(async () =>
        {
            // The count normally rises once the read is in the kernel, but another request of the test that completes
            // at that moment hides the rise. The data must go in either way: this used to wait with Wait.UntilAsync,
            // whose timeout threw inside this fire-and-forget task, so the pipe was never written and the test awaited
            // the read for ever (a CI run hung in InlineReadTests with every engine idle in io_cqring_wait, found with
            // dotnet-dump's dumpasync; the "idle for 35 minutes" host run of 6 Dec looked the same).
            _ = await Wait.HoldsWithinAsync(() => engine.OperationsInFlight > before, 1000L * Wait.TimeScale);
            await Task.Delay(10 * Wait.TimeScale);
            pipe.Put([1]);
        });
        Assert.Equal(1, await read);
    }

    /// <summary>Ends up running on <paramref name="engine"/>'s loop thread (inline mode) via a real engine completion.</summary>
    internal static async Task ResumeOnLoopAsync(IoUringEngine engine)
    {
        for (int attempt = 0; attempt < 50 && !engine.IsOnLoopThread; attempt++)
        {
            await AwaitPendingRead(engine);
        }

        if (!engine.IsOnLoopThread)
        {
            throw new InvalidOperationException("50 awaited reads never resumed on the engine's thread");
        }
    }

    [UringFact]
    public async Task Inline_continuations_run_on_the_loop_thread_and_thread_pool_ones_do_not()
    {
        // No hand-off for the inline engine: on a loaded machine the continuation can be descheduled past HandOffAfter
        // between resuming and its checks, and the ring would have moved (the hand-off has its own tests).
        using var inline = new IoUringEngine(new IoUringEngineOptions { HandOffAfter = Timeout.InfiniteTimeSpan });
        using var pooled = new IoUringEngine(new IoUringEngineOptions { Continuations = ContinuationMode.ThreadPool });

        await Task.Run(async () =>
        {
            await ResumeOnLoopAsync(inline);
            Assert.True(inline.IsOnLoopThread);
            Assert.Equal(inline.LoopThreadId, Environment.CurrentManagedThreadId);
        });

        await Task.Run(async () =>
        {
            await AwaitPendingRead(pooled);
            Assert.False(pooled.IsOnLoopThread);
            Assert.True(Thread.CurrentThread.IsThreadPoolThread);
        });
    }

    [UringFact]
    public async Task The_group_hands_out_its_own_engine_on_a_loop_thread()
    {
        // No hand-off: on a loaded machine the continuation can be descheduled past HandOffAfter between resuming and
        // its checks, and the ring would have moved (as in the test above).
        using var group = new IoUringEngineGroup(2, new IoUringEngineOptions { Continuations = ContinuationMode.Inline, HandOffAfter = Timeout.InfiniteTimeSpan });
        Assert.Equal(2, group.Count);
        Assert.NotSame(group.Engines[0], group.Engines[1]);
        Assert.Contains(group.Current, group.Engines);
        Assert.NotSame(group.Next(), group.Next());

        foreach (IoUringEngine e in group.Engines)
        {
            await Task.Run(async () =>
            {
                await ResumeOnLoopAsync(e);
                Assert.True(e.IsOnLoopThread);
                Assert.Same(e, group.Current);
                Assert.Same(group, e.Group);
            });
        }
    }

    [UringFact]
    public async Task A_file_on_a_group_spreads_requests_started_off_the_loops_over_every_engine_and_keeps_a_loops_own()
    {
        using var group = new IoUringEngineGroup(2, new IoUringEngineOptions { Continuations = ContinuationMode.Inline, HandOffAfter = Timeout.InfiniteTimeSpan });

        // Off the loops: round robin, whatever core the caller runs on.
        var seen = new HashSet<IoUringEngine>();
        for (int i = 0; i < 4; i++)
        {
            _ = seen.Add(group.ForOperation());
        }

        Assert.Equal(2, seen.Count);

        // On a loop: that loop's engine, every time (its continuations' requests need no wake-up).
        foreach (IoUringEngine e in group.Engines)
        {
            await Task.Run(async () =>
            {
                await ResumeOnLoopAsync(e);
                for (int i = 0; i < 4; i++)
                {
                    Assert.Same(e, group.ForOperation());
                }
            });
        }

        // End to end: eight writes a thread-pool thread starts together are submitted by both engines, and land.
        using var temp = new TempFile(0);
        using UringFile file = UringFile.Open(group, temp.Path, FileMode.Open, FileAccess.ReadWrite);
        long[] before = [.. group.Engines.Select(e => Volatile.Read(ref e.Counters.Submitted))];
        byte[] data = [.. Enumerable.Range(0, 8 * 512).Select(i => (byte)(i * 7))];
        await Task.Run(async () =>
        {
            ValueTask[] writes = [.. Enumerable.Range(0, 8).Select(i => file.WriteAsync(data.AsMemory(i * 512, 512), i * 512))];
            foreach (ValueTask w in writes)
            {
                await w;
            }
        });

        for (int i = 0; i < 2; i++)
        {
            long submitted = Volatile.Read(ref group.Engines[i].Counters.Submitted) - before[i];
            Assert.True(submitted >= 4, $"engine {i} submitted {submitted} of the 8 writes");
        }

        Assert.Equal(data, File.ReadAllBytes(temp.Path));
    }

    [UringFact]
    public async Task UringRandomAccess_is_a_drop_in_for_RandomAccess()
    {
        using var file = new TempFile(50_000, seed: 14);
        using var handle = file.Open(FileAccess.ReadWrite);

        var a = new byte[7000];
        var b = new byte[7000];
        Assert.Equal(await RandomAccess.ReadAsync(handle, a, 45_000), await UringRandomAccess.ReadAsync(handle, b, 45_000));
        Assert.Equal(a, b);

        byte[] data = TestData.Bytes(3000, 15);
        await UringRandomAccess.WriteAsync(handle, data, 100);
        Assert.Equal(3000, RandomAccess.Read(handle, a.AsSpan(0, 3000), 100));
        Assert.Equal(data, a.AsSpan(0, 3000).ToArray());

        Memory<byte>[] parts = [new byte[10], new byte[20]];
        Assert.Equal(30, await UringRandomAccess.ReadAsync(handle, parts, 100));
        await UringRandomAccess.WriteAsync(handle, new ReadOnlyMemory<byte>[] { data.AsMemory(0, 5), data.AsMemory(5, 5) }, 0);
    }
}
