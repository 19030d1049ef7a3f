using System.Diagnostics;

namespace IoUring.Stress.Soak;

/// <summary>
/// What the engine-level drivers (<see cref="AsyncSoakDriver"/>, <see cref="SocketSoakDriver"/>) share: their state,
/// the stats written under one lock, and the run itself: cycles of random length under a watchdog until the time is
/// up or something failed, between two counts of GC-pinned objects that must not grow.
/// </summary>
public abstract class EngineSoakDriver : ISoakDriver
{
    /// <summary>Guards <see cref="_stats"/> (and whatever else a driver shares between its tasks).</summary>
    protected readonly Lock _gate = new();

    /// <summary>What the driver does now, for the watchdog's report.</summary>
    protected readonly SoakPhase _phase = new();

    /// <summary>The run's counters and failures; written under <see cref="_gate"/>.</summary>
    protected SoakStats _stats = null!;

    /// <summary>The run's parameters.</summary>
    protected SoakConfig _config = null!;

    /// <summary>Bumped by every finished step: the watchdog's sign of life.</summary>
    protected long _progress;

    /// <inheritdoc/>
    public abstract string Name { get; }

    /// <inheritdoc/>
    public abstract SoakDriverResult Run(SoakFiles files, SoakStats stats, SoakConfig config);

    /// <summary>Objects the driver leaves pinned for good by design, on top of the usual slack of 8.</summary>
    protected virtual long PinnedByDesign => 0;

    /// <summary>
    /// Runs cycles of 1 to 1 + <paramref name="extraSeconds"/> seconds (never past the configured time) under a watchdog,
    /// until the time is up or a failure was recorded; then fails if GC-pinned objects grew (by more than 8 and
    /// <see cref="PinnedByDesign"/>): buffers would stay pinned after their operations ended.
    /// </summary>
    /// <param name="rng">The run's random source (cycle lengths, and passed to each cycle).</param>
    /// <param name="extraSeconds">How much longer than a second a cycle may last.</param>
    /// <returns>The sum of what the cycles returned (operations left in flight).</returns>
    protected long RunCycles(Random rng, double extraSeconds)
    {
        long leftInFlight = 0;
        using var watchdog = new Watchdog(() => Interlocked.Read(ref _progress), SoakPhase.HangLimit, () => $"{Name} soak: no progress for {SoakPhase.HangLimit.TotalSeconds} s in {_phase}");
        long pinnedBefore = PinnedObjects();
        var clock = Stopwatch.StartNew();
        int cycle = 0;
        while (clock.Elapsed.TotalSeconds < _config.Seconds && _stats.FailureCount == 0)
        {
            double left = _config.Seconds - clock.Elapsed.TotalSeconds;
            leftInFlight += RunCycle(cycle++, Math.Min(left, 1 + (rng.NextDouble() * extraSeconds)), rng);
        }

        long pinnedAfter = PinnedObjects();
        Event("cycles", cycle);
        Event($"GC pinned objects before the first cycle: {pinnedBefore}");
        Event($"GC pinned objects after the last cycle: {pinnedAfter}");
        if (pinnedAfter > pinnedBefore + 8 + PinnedByDesign)
        {
            Fail($"pinned objects grew from {pinnedBefore} to {pinnedAfter}: buffers stay pinned after their operations ended");
        }

        return leftInFlight;
    }

    /// <summary>One cycle of about <paramref name="seconds"/>; returns the operations it left in flight.</summary>
    protected abstract long RunCycle(int cycle, double seconds, Random rng);

    protected void Event(string name, long by = 1)
    {
        lock (_gate)
        {
            _stats.Event(name, by);
        }
    }

    protected void Fail(string message)
    {
        lock (_gate)
        {
            _stats.Fail(message);
        }
    }

    /// <summary>GC-pinned objects after a full collection.</summary>
    private static long PinnedObjects()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetGCMemoryInfo(GCKind.Any).PinnedObjectsCount;
    }
}
