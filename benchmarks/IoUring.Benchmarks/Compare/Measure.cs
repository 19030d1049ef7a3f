using System.Diagnostics;
using System.Runtime.CompilerServices;
using IoUring.Interop;

namespace IoUring.Benchmarks.Compare;

/// <summary>
/// splitmix64: the offset generator shared with the C twin (native/bench_liburing.c), so that for the same seed both
/// read the same pages. Offsets are uniform over the file's 4 KiB pages.
/// </summary>
internal struct SplitMix64
{
    private ulong _state;

    public SplitMix64(ulong seed) => _state = seed;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Next()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A random 4 KiB-aligned offset below <paramref name="pages"/> pages.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong NextOffset(ulong pages) => (Next() % pages) * DataFile.Block;
}

/// <summary>Process-wide counters at one instant: time, CPU and context switches of the process, bytes allocated.</summary>
/// <param name="Timestamp">The <see cref="Stopwatch"/> timestamp.</param>
/// <param name="Usage">The process's <c>getrusage(RUSAGE_SELF)</c>.</param>
/// <param name="Allocated">Managed bytes the whole process allocated so far.</param>
/// <param name="ThreadAllocated">Bytes allocated by the calling thread (the one that runs a single-thread contender's loop).</param>
internal readonly record struct Snapshot(long Timestamp, RUsage Usage, long Allocated, long ThreadAllocated)
{
    /// <summary>Reads allocations first and the clock last, so the window holds none of the snapshot's own work.</summary>
    public static Snapshot Begin()
    {
        AllocationTrace.Open();
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        long threadAllocated = GC.GetAllocatedBytesForCurrentThread();
        _ = Libc.GetRUsage(Libc.RUSAGE_SELF, out RUsage usage);
        return new Snapshot(Stopwatch.GetTimestamp(), usage, allocated, threadAllocated);
    }

    /// <summary>Reads the clock first and allocations last.</summary>
    public static Snapshot End()
    {
        long ts = Stopwatch.GetTimestamp();
        _ = Libc.GetRUsage(Libc.RUSAGE_SELF, out RUsage usage);
        long threadAllocated = GC.GetAllocatedBytesForCurrentThread();
        var snapshot = new Snapshot(ts, usage, GC.GetTotalAllocatedBytes(precise: true), threadAllocated);
        AllocationTrace.Close();
        return snapshot;
    }

    public static long TicksFor(double seconds) => (long)(seconds * Stopwatch.Frequency);
}

/// <summary>What one run measured over its window.</summary>
internal sealed record RunResult
{
    public long Ops { get; init; }

    public double ElapsedSeconds { get; init; }

    public long CpuMicroseconds { get; init; }

    /// <summary>The user-mode part of <see cref="CpuMicroseconds"/> (for the progress log), or -1.</summary>
    public long UserMicroseconds { get; init; } = -1;

    public long VoluntarySwitches { get; init; }

    public long InvoluntarySwitches { get; init; }

    /// <summary>System calls in the window; null when not known (fio's io_uring engine).</summary>
    public double? Syscalls { get; init; }

    /// <summary>Managed bytes allocated in the window; null when not applicable (another process).</summary>
    public double? AllocatedBytes { get; init; }

    /// <summary>Reads that missed the page cache (pages that became resident); null when not measured.</summary>
    public long? Misses { get; init; }

    public int Threads { get; init; }

    /// <summary>Bytes the measuring thread allocated in the window (meaningful for single-thread contenders).</summary>
    public long ThreadAllocatedBytes { get; init; }

    /// <summary>Cold: 4 KiB pages read from the device during the window (machine-wide), or null; a cross-check on <see cref="Misses"/>.</summary>
    public long? DevicePages { get; init; }

    /// <summary>
    /// http: requests the server answered inside its measurement window, the denominator of the per-request CPU,
    /// context-switch and allocation figures (<see cref="Ops"/> and <see cref="ElapsedSeconds"/> are wrk's); null
    /// elsewhere, where <see cref="Ops"/> is the denominator.
    /// </summary>
    public long? ServerOps { get; init; }

    /// <summary>http: the 99th percentile of request latency that wrk measured, in milliseconds; null elsewhere.</summary>
    public double? P99Milliseconds { get; init; }

    public double OpsPerSecond => Ops / ElapsedSeconds;

    /// <summary>The denominator of the per-op figures.</summary>
    public long OpsForCosts => Math.Max(1, ServerOps ?? Ops);

    public static RunResult FromSnapshots(Snapshot begin, Snapshot end, long ops, double? syscalls, long? misses, int threads) => new()
    {
        Ops = ops,
        ElapsedSeconds = (end.Timestamp - begin.Timestamp) / (double)Stopwatch.Frequency,
        CpuMicroseconds = end.Usage.CpuMicroseconds - begin.Usage.CpuMicroseconds,
        UserMicroseconds = ((end.Usage.UserSeconds - begin.Usage.UserSeconds) * 1_000_000) + end.Usage.UserMicroseconds - begin.Usage.UserMicroseconds,
        VoluntarySwitches = end.Usage.VoluntaryContextSwitches - begin.Usage.VoluntaryContextSwitches,
        InvoluntarySwitches = end.Usage.InvoluntaryContextSwitches - begin.Usage.InvoluntaryContextSwitches,
        Syscalls = syscalls,
        AllocatedBytes = end.Allocated - begin.Allocated,
        ThreadAllocatedBytes = end.ThreadAllocated - begin.ThreadAllocated,
        Misses = misses,
        Threads = threads,
    };
}

/// <summary>What a run is asked to do.</summary>
internal sealed record RunSpec(
    string Scenario,
    string Contender,
    int Qd,
    DataFile? File,
    double Seconds,
    double Warmup,
    long EvictEvery,
    ulong Seed)
{
    public bool IsNop => Scenario == Scenarios.Nop;

    public bool IsCold => Scenario == Scenarios.Cold;
}

internal static class Scenarios
{
    public const string Nop = "nop";
    public const string Hot = "hot";
    public const string Cold = "cold";
    public const string Http = "http";

    /// <summary>Whole-file sequential reads, writes and copies (<see cref="SeqContenders"/>).</summary>
    public const string Seq = "seq";
}
