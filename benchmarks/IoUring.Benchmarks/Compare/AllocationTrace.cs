using System.Diagnostics.Tracing;

namespace IoUring.Benchmarks.Compare;

/// <summary>
/// Names what a run allocates, for attributing the B alloc/op column: with <c>IOURING_ALLOC_TRACE=1</c> the runtime's
/// GC AllocationTick events (one per ~100 KB allocated, with the type of the object that crossed the mark and the
/// allocating thread) are collected while a measurement window is open and printed after it.
/// </summary>
internal sealed class AllocationTrace : EventListener
{
    private static readonly AllocationTrace? s_instance = Environment.GetEnvironmentVariable("IOURING_ALLOC_TRACE") == "1" ? new AllocationTrace() : null;
    private readonly List<string> _ticks = [];
    private volatile bool _open;

    /// <summary>Starts collecting (no-op unless enabled).</summary>
    public static void Open()
    {
        if (s_instance is { } t)
        {
            lock (t._ticks)
            {
                t._ticks.Clear();
            }

            t._open = true;
        }
    }

    /// <summary>Stops collecting and prints what was seen to standard error (no-op unless enabled).</summary>
    public static void Close()
    {
        if (s_instance is not { } t)
        {
            return;
        }

        t._open = false;
        lock (t._ticks)
        {
            foreach (IGrouping<string, string> g in t._ticks.GroupBy(x => x).OrderByDescending(g => g.Count()))
            {
                Console.Error.WriteLine($"  alloc tick x{g.Count()}: {g.Key}");
            }
        }
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)0x1); // GC keyword: AllocationTick is verbose
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (!_open || e.EventName is null || !e.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || e.PayloadNames is null || e.Payload is null)
        {
            return;
        }

        int i = e.PayloadNames.IndexOf("TypeName");
        string type = i >= 0 ? e.Payload[i]?.ToString() ?? "?" : "?";
        string thread = Thread.CurrentThread.Name ?? (Thread.CurrentThread.IsThreadPoolThread ? "pool" : "other");
        lock (_ticks)
        {
            _ticks.Add($"{type} (thread: {thread})");
        }
    }
}
