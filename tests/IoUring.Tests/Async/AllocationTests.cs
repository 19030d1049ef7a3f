using Microsoft.Win32.SafeHandles;

namespace IoUring.Tests.Async;

/// <summary>Runs alone: the measurement counts the whole process's allocations (every thread, precisely).</summary>
[CollectionDefinition(nameof(AllocationMeasurement), DisableParallelization = true)]
public sealed class AllocationMeasurement;

/// <summary>
/// Steady state of awaited operations. After a warm-up (which fills the operation pool and boxes the async method
/// once), <see cref="GC.GetTotalAllocatedBytes(bool)"/> with <c>precise: true</c> — every thread of the process, the
/// engine's loop and the thread pool included — is read around windows of <see cref="Measured"/> awaited operations.
/// </summary>
/// <remarks>
/// The runtime allocates now and then on its own (the thread pool starting or retiring a worker, the test runner's
/// threads), a few hundred bytes at random moments. An allocation per operation, even one 24-byte object, would add
/// at least 24 x <see cref="Measured"/> bytes to every window. So each test measures up to <see cref="Windows"/>
/// windows and asserts that one of them allocated exactly 0 bytes (no per-operation allocation exists) and that
/// none averaged 8 bytes per operation (nothing allocates on some operations only). Each test keeps its loops inside one async method: an async helper called
/// per operation would box its own state machine on every call and measure the test, not the engine.
/// </remarks>
[Collection(nameof(AllocationMeasurement))]
public sealed class AllocationTests
{
    private const int Warmup = 3000;
    private const int Measured = 20_000;
    private const int Windows = 5;

    /// <summary>Measures awaited 4 KiB reads of <paramref name="file"/> (its first 64 pages, round robin), the loop in one async method.</summary>
    private static async Task AssertReadsAllocateNothingAsync(UringFile file)
    {
        var buffer = new byte[4096];
        List<long> windows = await Task.Run(async () =>
        {
            var meter = new AllocationWindows();
            for (int i = 0; meter.Next(i); i++)
            {
                _ = await file.ReadAsync(buffer, (i % 64) * 4096L);
            }

            return meter.Result();
        });

        AssertNoAllocationPerOperation(windows);
    }

    private static void AssertNoAllocationPerOperation(List<long> windows)
    {
        string all = string.Join(", ", windows);
        Assert.True(windows.TrueForAll(w => w < 8L * Measured), $"a window allocated 8 bytes or more per operation: [{all}] bytes per {Measured} operations");
        Assert.True(windows.Contains(0), $"no window of {Measured} operations allocated 0 bytes: [{all}]");
    }

    /// <summary>
    /// The window bookkeeping of the measuring loops (synchronous, allocation-free per call): <see cref="Next"/> before
    /// operation i reads the counter at each window boundary after the warm-up and ends the loop at the first window
    /// that allocated nothing, or after <see cref="Windows"/> windows.
    /// </summary>
    private sealed class AllocationWindows
    {
        private readonly List<long> _windows = new(Windows);
        private long _before;

        public bool Next(int i)
        {
            if (i >= Warmup + (Windows * Measured))
            {
                return false;
            }

            if (i >= Warmup && (i - Warmup) % Measured == 0)
            {
                long now = GC.GetTotalAllocatedBytes(precise: true);
                if (i > Warmup)
                {
                    _windows.Add(now - _before);
                    if (now == _before)
                    {
                        return false;
                    }
                }

                _before = GC.GetTotalAllocatedBytes(precise: true);
            }

            return true;
        }

        /// <summary>The windows measured, with the last partial one when no window allocated nothing.</summary>
        public List<long> Result()
        {
            if (_windows.Count < Windows && !_windows.Contains(0))
            {
                _windows.Add(GC.GetTotalAllocatedBytes(precise: true) - _before);
            }

            return _windows;
        }
    }

    [Theory]
    [MemberData(nameof(EngineModes.Both), MemberType = typeof(EngineModes))]
    public async Task An_awaited_read_allocates_nothing_in_steady_state(ContinuationMode mode)
    {
        using var file = new TempFile(64 * 4096, seed: 41);
        using SafeFileHandle handle = file.Open();
        using var engine = EngineModes.NewEngine(mode);
        var buffer = new byte[4096];

        List<long> windows = await Task.Run(async () =>
        {
            var meter = new AllocationWindows();
            for (int i = 0; meter.Next(i); i++)
            {
                int n = await engine.ReadAsync(handle, buffer, (i % 64) * 4096L);
                if (n != 4096)
                {
                    throw new InvalidOperationException($"short read {n}");
                }
            }

            return meter.Result();
        });

        AssertNoAllocationPerOperation(windows);
    }

    [UringTheory(Opcode.LinkTimeout)]
    [MemberData(nameof(EngineModes.Both), MemberType = typeof(EngineModes))]
    public async Task A_read_with_a_deadline_allocates_nothing_in_steady_state(ContinuationMode mode)
    {
        // The linked timeout rides in the ring's scratch memory and its CQE is only counted: no timer object, no allocation.
        using var file = new TempFile(64 * 4096, seed: 44);
        using SafeFileHandle handle = file.Open();
        using var engine = EngineModes.NewEngine(mode);
        var buffer = new byte[4096];
        TimeSpan timeout = TimeSpan.FromSeconds(30);

        List<long> windows = await Task.Run(async () =>
        {
            var meter = new AllocationWindows();
            for (int i = 0; meter.Next(i); i++)
            {
                int n = await engine.ReadAsync(handle, buffer, (i % 64) * 4096L, timeout);
                if (n != 4096)
                {
                    throw new InvalidOperationException($"short read {n}");
                }
            }

            return meter.Result();
        });

        AssertNoAllocationPerOperation(windows);
        Assert.Equal(0, engine.OperationsInFlight);
    }

    [Theory]
    [MemberData(nameof(EngineModes.Both), MemberType = typeof(EngineModes))]
    public async Task Awaited_writes_and_reads_through_UringFile_allocate_nothing_in_steady_state(ContinuationMode mode)
    {
        using var temp = new TempFile(64 * 4096, seed: 42);
        using var engine = EngineModes.NewEngine(mode);
        using UringFile file = UringFile.Open(engine, temp.Path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        var data = new byte[4096];
        var back = new byte[4096];

        List<long> windows = await Task.Run(async () =>
        {
            var meter = new AllocationWindows();
            for (int i = 0; meter.Next(i); i++)
            {
                data[0] = (byte)i;
                await file.WriteAsync(data, (i % 64) * 4096L);
                _ = await file.ReadAsync(back, (i % 64) * 4096L);
                if (back[0] != (byte)i)
                {
                    throw new InvalidOperationException("read back the wrong bytes");
                }
            }

            return meter.Result();
        });

        AssertNoAllocationPerOperation(windows);
    }

    [UringFact]
    public async Task Awaited_scatter_reads_and_nops_allocate_nothing_in_steady_state()
    {
        using var temp = new TempFile(64 * 4096, seed: 43);
        using SafeFileHandle handle = temp.Open();
        using var engine = new IoUringEngine();
        Memory<byte>[] parts = [new byte[1000], new byte[3096]];

        List<long> windows = await Task.Run(async () =>
        {
            var meter = new AllocationWindows();
            for (int i = 0; meter.Next(i); i++)
            {
                long n = await engine.ReadAsync(handle, parts, (i % 64) * 4096L);
                if (n != 4096)
                {
                    throw new InvalidOperationException($"short read {n}");
                }

                await engine.NopAsync();
            }

            return meter.Result();
        });

        AssertNoAllocationPerOperation(windows);
    }

    [UringFact]
    public async Task Awaited_reads_through_an_engine_group_allocate_nothing_in_steady_state()
    {
        using var temp = new TempFile(64 * 4096, seed: 44);
        using var group = new IoUringEngineGroup(2);
        using UringFile file = UringFile.Open(group, temp.Path, FileMode.Open);
        await AssertReadsAllocateNothingAsync(file);
    }

    [UringFact]
    public async Task A_newcomers_reads_on_the_default_engines_allocate_nothing_in_steady_state()
    {
        // Exactly what the README shows: no engine, no options, a byte[] buffer.
        using var temp = new TempFile(64 * 4096, seed: 45);
        using UringFile file = UringFile.Open(temp.Path);
        await AssertReadsAllocateNothingAsync(file);
    }

    [Theory]
    [InlineData(32, ContinuationMode.ThreadPool)]
    [InlineData(128, ContinuationMode.ThreadPool)]
    [InlineData(128, ContinuationMode.Inline)]
    public async Task Many_concurrent_awaited_reads_allocate_nothing_in_steady_state(int taskCount, ContinuationMode mode)
    {
        using var temp = new TempFile(64 * 4096, seed: 45);
        using SafeFileHandle handle = temp.Open();
        using var engine = EngineModes.NewEngine(mode);
        int perTask = Measured / taskCount;
        var windows = new List<long>();

        // Up to three times the windows of the single-task tests: with pool threads in play, the runtime's own
        // occasional allocations (worker injection on a loaded machine) land in more windows; a per-operation allocation
        // still shows in every one of them.
        for (int round = 0; round <= 3 * Windows && !windows.Contains(0); round++)
        {
            // Every task is parked on 'start' (its state machine already boxed) when the window opens, and the last
            // one to finish closes it. Round 0 is the warm-up.
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var finished = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            int waiting = 0, running = taskCount;
            Task[] workers = Enumerable.Range(0, taskCount).Select(t => Task.Run(async () =>
            {
                var buffer = new byte[4096];
                for (int i = 0; i < perTask; i++)
                {
                    _ = await engine.ReadAsync(handle, buffer, ((i + t) % 64) * 4096L);
                }

                Interlocked.Increment(ref waiting);
                await start.Task;
                for (int i = 0; i < perTask; i++)
                {
                    _ = await engine.ReadAsync(handle, buffer, ((i + t) % 64) * 4096L);
                }

                if (Interlocked.Decrement(ref running) == 0)
                {
                    finished.SetResult(GC.GetTotalAllocatedBytes(precise: true));
                }
            })).ToArray();

            await Wait.UntilAsync(() => Volatile.Read(ref waiting) == taskCount, "every task finished its warm-up");
            long before = GC.GetTotalAllocatedBytes(precise: true);
            start.SetResult();
            long after = await finished.Task;
            await Task.WhenAll(workers);
            if (round > 0)
            {
                windows.Add(after - before);
            }
        }

        // Tasks reading concurrently through the pool and the engine, Measured reads per window.
        AssertNoAllocationPerOperation(windows);
    }
}
