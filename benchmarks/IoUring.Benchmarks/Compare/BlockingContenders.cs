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
        long device0 = file.DevicePagesRead();
        Snapshot begin = Snapshot.Begin();
        state.RunUntil(begin.Timestamp + Snapshot.TicksFor(spec.Seconds));
        Snapshot end = Snapshot.End();
        long device1 = file.DevicePagesRead();
        long ops = state.Ops - ops0;
        return RunResult.FromSnapshots(begin, end, ops, syscalls: ops, state.Cold?.MissesNow(), threads: 1) with
        {
            DevicePages = spec.IsCold && device0 >= 0 && device1 >= 0 ? device1 - device0 : null,
        };
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
    private Exception? _failure;
    private long _coldReads;

    protected WindowedWorkers(RunSpec spec, int workers)
    {
        Spec = spec;
        File = spec.File!;
        Workers = workers;
        _counts = new long[(workers + 1) * Stride];
        Cold = spec.IsCold ? new ColdTracker(File) : null;
    }

    protected RunSpec Spec { get; }

    protected DataFile File { get; }

    protected int Workers { get; }

    protected ColdTracker? Cold { get; }

    /// <summary>
    /// Cold only: counts one completed read across all workers; the worker whose read is a multiple of
    /// <c>EvictEvery</c> re-evicts, so the file is evicted every EvictEvery reads exactly as in the single-thread
    /// contenders (a shared counter costs tens of ns against a cold read's tens of µs).
    /// </summary>
    protected void CountColdRead()
    {
        if (Cold is not null && Interlocked.Increment(ref _coldReads) % Spec.EvictEvery == 0)
        {
            Cold.EvictCounting();
        }
    }

    protected bool Stopping => _stop;

    /// <summary>Records a worker's failure and stops the others; <see cref="Measure"/> reports it.</summary>
    protected void Fail(Exception e)
    {
        _ = Interlocked.CompareExchange(ref _failure, e, null);
        _stop = true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected void Publish(int worker, long ops) => Volatile.Write(ref _counts[(worker + 1) * Stride], ops);

    protected abstract void Start();

    protected abstract void Join();

    protected virtual int ThreadsInUse => Workers;

    /// <summary>System calls made so far, for contenders that count them; null means one per read (a blocking read each).</summary>
    protected virtual long? SyscallsSoFar => null;

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
        long device0 = File.DevicePagesRead();
        long? sys0 = SyscallsSoFar;
        Snapshot begin = Snapshot.Begin();
        Thread.Sleep(TimeSpan.FromSeconds(Spec.Seconds));
        long ops1 = Total();
        long? sys1 = SyscallsSoFar;
        // The workers keep reading until they see the stop flag: read the misses at the same instant as the ops.
        long device1 = File.DevicePagesRead();
        long? cachestatMisses = Cold?.MissesNow();
        Snapshot end = Snapshot.End();
        // With many threads, reads issued while another thread evicts can bring pages in and lose them to that
        // eviction between its two cachestat calls, so cachestat undercounts misses here; the device's own read
        // counter does not (its only error is other processes' reads), so the threaded contenders use it.
        long? devicePages = Cold is not null && device0 >= 0 && device1 >= 0 ? device1 - device0 : null;
        long? misses = devicePages ?? cachestatMisses;
        int threads = ThreadsInUse;
        _stop = true;
        Join();
        if (_failure is not null)
        {
            throw new InvalidOperationException($"a worker failed: {_failure.Message}", _failure);
        }

        long ops = ops1 - ops0;
        return RunResult.FromSnapshots(begin, end, ops, syscalls: sys1 - sys0 ?? ops, misses, threads) with { DevicePages = devicePages };
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

    private void Work(int worker)
    {
        try
        {
            WorkLoop(worker);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            Fail(e);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void WorkLoop(int worker)
    {
        using var buffer = new NativeBuffer(DataFile.Block);
        Span<byte> span = buffer.Span;
        var rng = new SplitMix64(Spec.Seed + (ulong)worker * 0x1000193UL);
        int fd = File.Fd;
        ulong pages = File.Pages;
        long ops = 0;
        while (!Stopping)
        {
            long n = Libc.PRead(fd, span, (long)rng.NextOffset(pages));
            if (n != DataFile.Block)
            {
                throw new IOException($"pread returned {n}");
            }

            ops++;
            Publish(worker, ops);
            CountColdRead();
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
        try
        {
            await WorkLoopAsync(worker).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or UnauthorizedAccessException)
        {
            Fail(e);
        }
    }

    private async Task WorkLoopAsync(int worker)
    {
        using var buffer = new NativeBuffer(DataFile.Block);
        Memory<byte> memory = buffer.Memory;
        var rng = new SplitMix64(Spec.Seed + (ulong)worker * 0x1000193UL);
        ulong pages = File.Pages;
        long ops = 0;
        while (!Stopping)
        {
            int n = await RandomAccess.ReadAsync(_handle, memory, (long)rng.NextOffset(pages)).ConfigureAwait(false);
            if (n != DataFile.Block)
            {
                throw new IOException($"RandomAccess.ReadAsync returned {n}");
            }

            ops++;
            Publish(worker, ops);
            CountColdRead();
        }
    }
}
