using System.Diagnostics;

namespace IoUring;

/// <summary>
/// One background thread per process that watches the engines whose continuations run on their own threads
/// (<see cref="ContinuationMode.Inline"/> with hand-off) and hands an engine's ring to another worker when its owner has
/// been inside one continuation for longer than the engine's <see cref="IoUringEngineOptions.HandOffAfter"/> (Go's
/// <c>sysmon</c> retaking a processor from a thread blocked in a system call does the same).
/// </summary>
/// <remarks>
/// It samples every millisecond while any watched engine is awake, backing off to <see cref="MaxPeriodMs"/> while all of
/// them are parked in the kernel (a parked owner runs no continuation), and sleeps for good while no engine is watched.
/// A sample costs two loads per engine; the owner pays one plain store per continuation for it.
/// </remarks>
internal static class EngineMonitor
{
    /// <summary>Longest sleep between samples while every watched engine is parked.</summary>
    private const int MaxPeriodMs = 10;

    private static readonly object s_gate = new();

    /// <summary>The engines watched (copy on write, under <see cref="s_gate"/>).</summary>
    private static IoUringEngine[] s_engines = [];

    /// <summary>Wakes the monitor when the first engine is registered.</summary>
    private static readonly SemaphoreSlim s_registered = new(0);

    private static Thread? s_thread;

    /// <summary>Starts watching <paramref name="engine"/> (its loop is running).</summary>
    public static void Register(IoUringEngine engine)
    {
        lock (s_gate)
        {
            bool wasEmpty = s_engines.Length == 0;
            s_engines = [.. s_engines, engine];
            if (s_thread is null)
            {
                s_thread = new Thread(ThreadMain) { IsBackground = true, Name = "io_uring monitor" };
                s_thread.UnsafeStart();

                // One idle worker from the start (the last idle one never expires): a hand-off then neither waits for a
                // thread to start nor allocates one.
                EngineWorker.PrestartIdle();
            }
            else if (wasEmpty)
            {
                s_registered.Release();
            }
        }
    }

    /// <summary>Stops watching <paramref name="engine"/> (it is shutting down).</summary>
    public static void Unregister(IoUringEngine engine)
    {
        lock (s_gate)
        {
            int i = Array.IndexOf(s_engines, engine);
            if (i >= 0)
            {
                s_engines = [.. s_engines.AsSpan(0, i), .. s_engines.AsSpan(i + 1)];
            }
        }
    }

    private static void ThreadMain()
    {
        int period = 1;
        while (true)
        {
            IoUringEngine[] engines = Volatile.Read(ref s_engines);
            if (engines.Length == 0)
            {
                // Consume stale releases first: only an empty-to-one transition releases, so at most one is pending.
                s_registered.Wait();
                continue;
            }

            long now = Stopwatch.GetTimestamp();
            bool awake = false;
            foreach (IoUringEngine engine in engines)
            {
                awake |= engine.Watch(now);
            }

            period = awake ? 1 : Math.Min(period * 2, MaxPeriodMs);
            Thread.Sleep(period);
        }
    }
}
