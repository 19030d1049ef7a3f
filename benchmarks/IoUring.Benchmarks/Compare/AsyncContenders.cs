namespace IoUring.Benchmarks.Compare;

/// <summary>
/// The library's async layer: QD async loops, each awaiting <see cref="UringFile.ReadAsync(Memory{byte}, long, CancellationToken)"/>
/// into its own page-aligned buffer (a <see cref="RegisteredBuffer"/> of its engine, so the reads are <c>READ_FIXED</c>;
/// a plain <see cref="NativeBuffer"/> for the <c>-unregistered</c> variants) at random 4 KiB-aligned offsets — the same shape as
/// <see cref="RandomAccessContender"/>, so the two compare directly. With one engine (<c>async</c>,
/// <c>async-inline</c>) every loop uses it; with a group (<c>async-group</c>, <c>async-group-inline</c>) there is one
/// engine per processor and loop <i>i</i> uses engine <i>i</i> mod <i>n</i> (its own <see cref="UringFile"/> over the
/// shared handle). The engines are created before and disposed after the run, outside the window.
/// </summary>
internal sealed class AsyncContender : AsyncWorkers
{
    private readonly IoUringEngine[] _engines;
    private readonly IoUringEngineGroup? _group;
    private readonly UringFile[] _files;
    private readonly ContinuationMode _mode;

    private AsyncContender(RunSpec spec, bool group, ContinuationMode mode, bool fixedFiles, bool registeredBuffers)
        : base(spec, spec.Qd)
    {
        _mode = mode;
        int engines = group ? Environment.ProcessorCount : 1;
        var options = new IoUringEngineOptions
        {
            Continuations = mode,
            ThreadName = "bench engine",
            FixedFileSlots = fixedFiles ? 1024u : 0u,
            // One registered buffer per loop that uses the engine.
            RegisteredBufferCount = registeredBuffers ? (spec.Qd + engines - 1) / engines : 0,
            RegisteredBufferSize = DataFile.Block,
        };
        if (group)
        {
            _group = new IoUringEngineGroup(Environment.ProcessorCount, options);
            _engines = [.. _group.Engines];
        }
        else
        {
            _engines = [new IoUringEngine(options)];
        }

        // One file object per engine over the data file's shared handle: the loops never pick an engine themselves.
        _files = [.. _engines.Select(e => UringFile.FromHandle(e, spec.File!.Handle, FileAccess.Read))];
    }

    public static RunResult Run(RunSpec spec, bool group, ContinuationMode mode, bool fixedFiles = true, bool registeredBuffers = true)
    {
        var c = new AsyncContender(spec, group, mode, fixedFiles, registeredBuffers);
        try
        {
            return c.Measure();
        }
        finally
        {
            foreach (UringFile f in c._files)
            {
                f.Dispose();
            }

            if (c._group is not null)
            {
                c._group.Dispose();
            }
            else
            {
                c._engines[0].Dispose();
            }
        }
    }

    /// <summary>The loop threads, plus the thread pool's threads when continuations run there.</summary>
    protected override int ThreadsInUse => _engines.Length + (_mode == ContinuationMode.ThreadPool ? PoolThreadsSeen : 0);

    /// <summary>Every engine's <c>io_uring_enter</c> calls plus the eventfd writes that woke a parked loop.</summary>
    protected override long? SyscallsSoFar => _engines.Sum(e => e.EnterCalls + e.Wakeups + e.InlineReads);

    protected override async Task WorkLoopAsync(int worker)
    {
        UringFile file = _files[worker % _files.Length];
        IoUringEngine engine = _engines[worker % _engines.Length];

        // A registered buffer of the loop's engine when it has them (READ_FIXED), else an ordinary native buffer.
        using RegisteredBuffer? registered = engine.TryRentRegisteredBuffer(out RegisteredBuffer? b) ? b : null;
        using NativeBuffer? plain = registered is null ? new NativeBuffer(DataFile.Block) : null;
        Memory<byte> memory = registered?.Memory ?? plain!.Memory;
        var rng = new SplitMix64(Spec.Seed + (ulong)worker * 0x1000193UL);
        ulong pages = File.Pages;
        long ops = 0;
        while (!Stopping)
        {
            int n = await file.ReadAsync(memory, (long)rng.NextOffset(pages)).ConfigureAwait(false);
            if (n != DataFile.Block)
            {
                throw new IOException($"UringFile.ReadAsync returned {n}");
            }

            ops++;
            Publish(worker, ops);
            CountColdRead();
        }
    }
}

/// <summary>
/// <c>default</c>: exactly what a newcomer writes after reading the README — <c>UringFile.Open(path, …,
/// FileOptions.RandomAccess)</c> with no engine and no options (the process-wide default engines), a <c>byte[]</c>
/// buffer per loop, <c>await file.ReadAsync(buffer, offset)</c> — in QD async loops shaped like
/// <see cref="RandomAccessContender"/> (whose handle gets the same random-access advice). The default group is created
/// by the first run (the prelude) and lives for the process, as it would in an application.
/// </summary>
internal sealed class DefaultContender : AsyncWorkers
{
    private readonly UringFile _file;

    private DefaultContender(RunSpec spec)
        : base(spec, spec.Qd)
    {
        _file = UringFile.Open(spec.File!.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, FileOptions.RandomAccess);
    }

    public static RunResult Run(RunSpec spec)
    {
        var c = new DefaultContender(spec);
        try
        {
            return c.Measure();
        }
        finally
        {
            c._file.Dispose();
        }
    }

    /// <summary>The default engines' threads, plus any thread-pool threads the run used.</summary>
    protected override int ThreadsInUse => IoUringEngineGroup.Default.Count + PoolThreadsSeen;

    protected override long? SyscallsSoFar => IoUringEngineGroup.Default.Engines.Sum(e => e.EnterCalls + e.Wakeups + e.InlineReads);

    protected override async Task WorkLoopAsync(int worker)
    {
        byte[] buffer = new byte[DataFile.Block];
        var rng = new SplitMix64(Spec.Seed + (ulong)worker * 0x1000193UL);
        ulong pages = File.Pages;
        long ops = 0;
        while (!Stopping)
        {
            int n = await _file.ReadAsync(buffer, (long)rng.NextOffset(pages)).ConfigureAwait(false);
            if (n != DataFile.Block)
            {
                throw new IOException($"UringFile.ReadAsync returned {n}");
            }

            ops++;
            Publish(worker, ops);
            CountColdRead();
        }
    }
}

/// <summary>Workers that are async loops started on the thread pool (each keeps one read outstanding).</summary>
internal abstract class AsyncWorkers : WindowedWorkers
{
    private Task[] _tasks = [];
    private int _maxPoolThreads;

    protected AsyncWorkers(RunSpec spec, int workers)
        : base(spec, workers)
    {
    }

    /// <summary>The most thread-pool threads seen during the run.</summary>
    protected int PoolThreadsSeen => Math.Max(_maxPoolThreads, ThreadPool.ThreadCount);

    /// <summary>One worker's loop: reads until <see cref="WindowedWorkers.Stopping"/>, publishing its count.</summary>
    protected abstract Task WorkLoopAsync(int worker);

    protected override void Start() => _tasks = [.. Enumerable.Range(0, Workers).Select(i => Task.Run(() => WorkAsync(i)))];

    protected override void Join()
    {
        _maxPoolThreads = PoolThreadsSeen;
        Task.WaitAll(_tasks);
    }

    private async Task WorkAsync(int worker)
    {
        try
        {
            await WorkLoopAsync(worker).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            Fail(e);
        }
    }
}
