using System.Diagnostics;
using System.Runtime.CompilerServices;
using IoUring.Interop;

namespace IoUring.Benchmarks.Compare;

/// <summary>One thread, one blocking <c>pread(2)</c> per read: one syscall per operation by construction.</summary>
internal static class PreadContender
{
    private const int TimeCheckEvery = 256;

    public static RunResult Run(RunSpec spec)
    {
        DataFile file = spec.File!;
        using var buffer = new NativeBuffer(DataFile.Block);
        var state = new Loop(file, buffer, spec);
        state.RunUntil(Stopwatch.GetTimestamp() + Snapshot.TicksFor(spec.Warmup));
        state.Cold?.Reset();
        state.NextEvict = state.Ops + spec.EvictEvery;
        long ops0 = state.Ops;
        Snapshot begin = Snapshot.Begin();
        state.RunUntil(begin.Timestamp + Snapshot.TicksFor(spec.Seconds));
        Snapshot end = Snapshot.End();
        long ops = state.Ops - ops0;
        return RunResult.FromSnapshots(begin, end, ops, syscalls: ops, state.Cold?.MissesNow(), threads: 1);
    }

    private sealed class Loop(DataFile file, NativeBuffer buffer, RunSpec spec)
    {
        private SplitMix64 _rng = new(spec.Seed);

        public ColdTracker? Cold { get; } = spec.IsCold ? new ColdTracker(file) : null;

        public long Ops { get; private set; }

        public long NextEvict { get; set; }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void RunUntil(long deadline)
        {
            int fd = file.Fd;
            ulong pages = file.Pages;
            Span<byte> span = buffer.Span;
            long ops = Ops;
            long nextCheck = ops + TimeCheckEvery;
            while (true)
            {
                long n = Libc.PRead(fd, span, (long)_rng.NextOffset(pages));
                if (n != DataFile.Block)
                {
                    throw new IOException($"pread returned {n}");
                }

                ops++;
                if (Cold is not null && ops >= NextEvict)
                {
                    Cold.EvictCounting();
                    NextEvict = ops + spec.EvictEvery;
                }

                if (ops >= nextCheck)
                {
                    nextCheck = ops + TimeCheckEvery;
                    if (Stopwatch.GetTimestamp() >= deadline)
                    {
                        break;
                    }
                }
            }

            Ops = ops;
        }
    }
}

/// <summary>
/// Workers that each keep one read outstanding and publish their counts to padded slots; the measuring thread
/// sleeps through warm-up, snapshots, sleeps through the window and snapshots again (RUSAGE_SELF covers every thread).
/// </summary>
internal abstract class WindowedWorkers
{
    private const int Stride = 16; // 128 bytes between counters: no false sharing.
    private readonly long[] _counts;
    private volatile bool _stop;

    protected WindowedWorkers(RunSpec spec, int workers)
    {
        Spec = spec;
        File = spec.File!;
        Workers = workers;
        _counts = new long[(workers + 1) * Stride];
        Cold = spec.IsCold ? new ColdTracker(File) : null;
        // Each worker evicts after its share of EvictEvery reads, so the file is re-evicted every ~EvictEvery reads.
        WorkerEvictEvery = Math.Max(1, spec.EvictEvery / workers);
    }

    protected RunSpec Spec { get; }

    protected DataFile File { get; }

    protected int Workers { get; }

    protected ColdTracker? Cold { get; }

    protected long WorkerEvictEvery { get; }

    protected bool Stopping => _stop;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected void Publish(int worker, long ops) => Volatile.Write(ref _counts[(worker + 1) * Stride], ops);

    protected abstract void Start();

    protected abstract void Join();

    protected virtual int ThreadsInUse => Workers;

    private long Total()
    {
        long sum = 0;
        for (int i = 0; i < Workers; i++)
        {
            sum += Volatile.Read(ref _counts[(i + 1) * Stride]);
        }

        return sum;
    }

    public RunResult Measure()
    {
        Cold?.Reset();
        Start();
        Thread.Sleep(TimeSpan.FromSeconds(Spec.Warmup));
        Cold?.Reset();
        long ops0 = Total();
        Snapshot begin = Snapshot.Begin();
        Thread.Sleep(TimeSpan.FromSeconds(Spec.Seconds));
        long ops1 = Total();
        // The workers keep reading until they see the stop flag: read the misses at the same instant as the ops.
        long? misses = Cold?.MissesNow();
        Snapshot end = Snapshot.End();
        int threads = ThreadsInUse;
        _stop = true;
        Join();
        long ops = ops1 - ops0;
        return RunResult.FromSnapshots(begin, end, ops, syscalls: ops, misses, threads);
    }
}

/// <summary>The classic baseline: N dedicated threads, each blocking on <c>pread(2)</c>.</summary>
internal sealed class PreadPoolContender : WindowedWorkers
{
    private readonly Thread[] _threads;

    private PreadPoolContender(RunSpec spec)
        : base(spec, spec.Qd)
    {
        _threads = [.. Enumerable.Range(0, spec.Qd).Select(i => new Thread(() => Work(i)) { IsBackground = true, Name = $"pread-{i}" })];
    }

    public static RunResult Run(RunSpec spec) => new PreadPoolContender(spec).Measure();

    protected override void Start()
    {
        foreach (Thread t in _threads)
        {
            t.Start();
        }
    }

    protected override void Join()
    {
        foreach (Thread t in _threads)
        {
            t.Join();
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Work(int worker)
    {
        using var buffer = new NativeBuffer(DataFile.Block);
        Span<byte> span = buffer.Span;
        var rng = new SplitMix64(Spec.Seed + (ulong)worker * 0x1000193UL);
        int fd = File.Fd;
        ulong pages = File.Pages;
        long ops = 0;
        long nextEvict = WorkerEvictEvery;
        while (!Stopping)
        {
            long n = Libc.PRead(fd, span, (long)rng.NextOffset(pages));
            if (n != DataFile.Block)
            {
                throw new IOException($"pread returned {n}");
            }

            ops++;
            Publish(worker, ops);
            if (Cold is not null && ops >= nextEvict)
            {
                Cold.TryEvictCounting();
                nextEvict = ops + WorkerEvictEvery;
            }
        }
    }
}

/// <summary>
/// <see cref="RandomAccess.ReadAsync(Microsoft.Win32.SafeHandles.SafeFileHandle, Memory{byte}, long, CancellationToken)"/>
/// with QD reads outstanding: QD async loops, each awaiting one read at a time. On Linux .NET runs each read as a
/// blocking pread on a thread-pool thread.
/// </summary>
internal sealed class RandomAccessContender : WindowedWorkers
{
    private readonly Microsoft.Win32.SafeHandles.SafeFileHandle _handle;
    private Task[] _tasks = [];
    private int _maxThreads;

    private RandomAccessContender(RunSpec spec)
        : base(spec, spec.Qd)
    {
        _handle = System.IO.File.OpenHandle(spec.File!.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, FileOptions.Asynchronous);
        _ = Libc.PosixFadvise((int)_handle.DangerousGetHandle(), 0, 0, Libc.POSIX_FADV_RANDOM);
    }

    public static RunResult Run(RunSpec spec)
    {
        var c = new RandomAccessContender(spec);
        try
        {
            return c.Measure();
        }
        finally
        {
            c._handle.Dispose();
        }
    }

    protected override int ThreadsInUse => Math.Max(_maxThreads, ThreadPool.ThreadCount);

    protected override void Start() => _tasks = [.. Enumerable.Range(0, Workers).Select(i => Task.Run(() => WorkAsync(i)))];

    protected override void Join()
    {
        Task.WaitAll(_tasks);
        _maxThreads = Math.Max(_maxThreads, ThreadPool.ThreadCount);
    }

    private async Task WorkAsync(int worker)
    {
        using var buffer = new NativeBuffer(DataFile.Block);
        Memory<byte> memory = buffer.Memory;
        var rng = new SplitMix64(Spec.Seed + (ulong)worker * 0x1000193UL);
        ulong pages = File.Pages;
        long ops = 0;
        long nextEvict = WorkerEvictEvery;
        while (!Stopping)
        {
            int n = await RandomAccess.ReadAsync(_handle, memory, (long)rng.NextOffset(pages)).ConfigureAwait(false);
            if (n != DataFile.Block)
            {
                throw new IOException($"RandomAccess.ReadAsync returned {n}");
            }

            ops++;
            Publish(worker, ops);
            if (Cold is not null && ops >= nextEvict)
            {
                Cold.TryEvictCounting();
                nextEvict = ops + WorkerEvictEvery;
            }
        }
    }
}
