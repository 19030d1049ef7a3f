using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace IoUring;

/// <summary>
/// The <see cref="System.Diagnostics.Metrics"/> meter of the library, named <c>IoUring</c>: what every live
/// <see cref="IoUringEngine"/> did (operations by kind and outcome, errors by errno, bytes, submissions and
/// <c>io_uring_enter</c> calls, wake-ups, busy time, hand-offs, CQ overflows, buffer-ring shortages, connections).
/// <c>dotnet-counters monitor --counters IoUring</c>, OpenTelemetry's <c>AddMeter("IoUring")</c> or a
/// <see cref="MeterListener"/> read it; docs/observability.md lists every instrument.
/// </summary>
/// <remarks>
/// Nearly every instrument is observable: the engines keep plain counters (written by the thread that owns each ring,
/// no atomics) and the meter reads them only when a listener collects, so a process nobody watches pays nothing but
/// the counter increments. The one histogram (<c>iouring.submission.batch_size</c>) records only while a listener has
/// enabled it. Every measurement of an engine carries the tags <c>iouring.engine.id</c> (<see cref="IoUringEngine.Id"/>)
/// and <c>iouring.engine.index</c> (its index in its <see cref="IoUringEngineGroup"/>, 0 for an engine of its own). An
/// engine's series end when it is disposed.
/// </remarks>
public static class IoUringMetrics
{
    /// <summary>The meter's name, <c>IoUring</c>.</summary>
    public const string MeterName = "IoUring";

    /// <summary>Guards <see cref="s_engines"/>.</summary>
    private static readonly object s_gate = new();

    /// <summary>The engines running now (copy on write, under <see cref="s_gate"/>).</summary>
    private static IoUringEngine[] s_engines = [];

    /// <summary>Operations that engines disposed so far had to abandon to the kernel (pinned forever).</summary>
    private static long s_abandoned;

    /// <summary>The meter, created with the first engine.</summary>
    private static readonly Meter s_meter = new(MeterName);

    /// <summary>SQEs per <c>io_uring_enter</c> that submitted any, recorded while a listener enables it.</summary>
    internal static readonly Histogram<int> BatchSize = s_meter.CreateHistogram<int>(
        "iouring.submission.batch_size", "{sqe}", "Submission queue entries the kernel took in one io_uring_enter call (calls that submitted at least one).",
        advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024] });

    static IoUringMetrics()
    {
        Meter m = s_meter;
        m.CreateObservableCounter("iouring.operations.completed", static () => Collect(s_completed), "{operation}",
            "Single-shot operations whose completion the engine reaped, by kind (iouring.operation.kind) and outcome (iouring.operation.outcome: success, error, canceled).");
        m.CreateObservableCounter("iouring.operation.errors", static () => Collect(s_errors), "{operation}",
            "Operations that failed, by errno name (error.type), cancellations (ECANCELED) included.");
        m.CreateObservableCounter("iouring.io.bytes", static () => Collect(s_bytes), "By",
            "Bytes moved by successful single-shot reads, writes, sends and receives, by kind (iouring.operation.kind).");
        m.CreateObservableUpDownCounter("iouring.operations.in_flight", static () => Collect(s_inFlight), "{operation}",
            "Operations submitted to the kernel whose completion has not been reaped yet.");
        m.CreateObservableCounter("iouring.submissions", static () => Collect(s_submitted), "{sqe}",
            "Submission queue entries the kernel took, over every io_uring_enter call.");
        m.CreateObservableCounter("iouring.enter.calls", static () => Collect(s_enterCalls), "{call}",
            "io_uring_enter system calls made by the engine (submissions and waits).");
        m.CreateObservableCounter("iouring.engine.wakeups", static () => Collect(s_wakeups), "{wakeup}",
            "Times a submitting thread had to wake the engine parked in the kernel (an eventfd write).");
        m.CreateObservableCounter("iouring.engine.busy_time", static () => CollectBusy(), "s",
            "Time the engine's loop was not parked in the kernel waiting for work (ring work, continuations, spinning).");
        m.CreateObservableCounter("iouring.engine.hand_offs", static () => Collect(s_handOffs), "{hand_off}",
            "Times the ring moved to another thread because a continuation running on the engine's thread blocked.");
        m.CreateObservableCounter("iouring.fixed_buffer.requests", static () => Collect(s_fixedBuffers), "{operation}",
            "Reads and writes submitted with a registered buffer (READ_FIXED / WRITE_FIXED).");
        m.CreateObservableCounter("iouring.cq.overflows", static () => Collect(s_overflows), "{completion}",
            "Completions the kernel dropped because the completion queue was full (cq.overflow), as last sampled by the engine.");
        m.CreateObservableCounter("iouring.buffer_ring.shortages", static () => Collect(s_shortages), "{shortage}",
            "Multishot receives the kernel ended because the provided-buffer ring had no free buffer (ENOBUFS); each is re-armed.");
        m.CreateObservableCounter("iouring.socket.connections.accepted", static () => Collect(s_accepted), "{connection}",
            "Connections accepted by listeners on the engine.");
        m.CreateObservableUpDownCounter("iouring.socket.connections.active", static () => Collect(s_active), "{connection}",
            "Connections (UringConnection) on the engine that are not disposed yet.");
        m.CreateObservableCounter("iouring.socket.io", static () => CollectSocketBytes(), "By",
            "Bytes sent and received on sockets, by direction (network.io.direction: transmit, receive).");
        m.CreateObservableUpDownCounter("iouring.engines", static () => Volatile.Read(ref s_engines).Length, "{engine}",
            "Engines running in the process.");
        m.CreateObservableCounter("iouring.operations.abandoned", static () => Interlocked.Read(ref s_abandoned), "{operation}",
            "Operations the kernel still held when their engine's Dispose gave up waiting: their memory stays pinned for the life of the process.");
    }

    // One reader per single-valued instrument, so each callback is a static lambda over a static delegate.
    private static readonly Func<IoUringEngine, long> s_inFlight = static e => e.OperationsInFlight;
    private static readonly Func<IoUringEngine, long> s_submitted = static e => Volatile.Read(ref e.Counters.Submitted);
    private static readonly Func<IoUringEngine, long> s_enterCalls = static e => e.EnterCalls;
    private static readonly Func<IoUringEngine, long> s_wakeups = static e => e.Wakeups;
    private static readonly Func<IoUringEngine, long> s_handOffs = static e => e.HandOffs;
    private static readonly Func<IoUringEngine, long> s_fixedBuffers = static e => e.FixedBufferRequests;
    private static readonly Func<IoUringEngine, long> s_overflows = static e => Volatile.Read(ref e.Counters.CqOverflow);
    private static readonly Func<IoUringEngine, long> s_shortages = static e => Volatile.Read(ref e.Counters.BufferShortages);
    private static readonly Func<IoUringEngine, long> s_accepted = static e => Volatile.Read(ref e.Counters.ConnectionsAccepted);
    private static readonly Func<IoUringEngine, long> s_active = static e => Interlocked.Read(ref e.Counters.ConnectionsActive);

    // Readers of the instruments with a tag of their own.
    private static readonly Action<IoUringEngine, List<Measurement<long>>> s_completed = CollectCompleted;
    private static readonly Action<IoUringEngine, List<Measurement<long>>> s_errors = CollectErrors;
    private static readonly Action<IoUringEngine, List<Measurement<long>>> s_bytes = CollectBytes;

    /// <summary>Operations abandoned by engines disposed so far, process-wide.</summary>
    internal static long AbandonedOperations => Interlocked.Read(ref s_abandoned);

    /// <summary>Adds <paramref name="engine"/> to the engines the meter reads (its ring is set up).</summary>
    internal static void Register(IoUringEngine engine)
    {
        lock (s_gate)
        {
            s_engines = [.. s_engines, engine];
        }
    }

    /// <summary>Removes <paramref name="engine"/> (it has stopped), adding what it abandoned to the process total.</summary>
    internal static void Unregister(IoUringEngine engine, int abandoned)
    {
        if (abandoned > 0)
        {
            Interlocked.Add(ref s_abandoned, abandoned);
        }

        lock (s_gate)
        {
            int i = Array.IndexOf(s_engines, engine);
            if (i >= 0)
            {
                s_engines = [.. s_engines.AsSpan(0, i), .. s_engines.AsSpan(i + 1)];
            }
        }
    }

    /// <summary>Records one submission batch when a listener enables the histogram (the owner, after an <c>io_uring_enter</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void RecordBatch(IoUringEngine engine, int submitted)
    {
        if (submitted > 0 && BatchSize.Enabled)
        {
            BatchSize.Record(submitted, engine.MetricTags);
        }
    }

    private static IEnumerable<Measurement<long>> Collect(Func<IoUringEngine, long> read)
    {
        IoUringEngine[] engines = Volatile.Read(ref s_engines);
        var list = new List<Measurement<long>>(engines.Length);
        foreach (IoUringEngine e in engines)
        {
            list.Add(new Measurement<long>(read(e), e.MetricTags));
        }

        return list;
    }

    private static IEnumerable<Measurement<long>> Collect(Action<IoUringEngine, List<Measurement<long>>> read)
    {
        var list = new List<Measurement<long>>();
        foreach (IoUringEngine e in Volatile.Read(ref s_engines))
        {
            read(e, list);
        }

        return list;
    }

    private static IEnumerable<Measurement<double>> CollectBusy()
    {
        IoUringEngine[] engines = Volatile.Read(ref s_engines);
        var list = new List<Measurement<double>>(engines.Length);
        foreach (IoUringEngine e in engines)
        {
            list.Add(new Measurement<double>(e.Counters.BusySeconds(), e.MetricTags));
        }

        return list;
    }

    private static void CollectCompleted(IoUringEngine e, List<Measurement<long>> list)
    {
        long[] completed = e.Counters.Completed;
        for (int kind = 0; kind < EngineCounters.KindCount; kind++)
        {
            for (int outcome = 0; outcome < EngineCounters.OutcomeCount; outcome++)
            {
                long n = Volatile.Read(ref completed[EngineCounters.CompletedIndex(kind, (EngineCounters.Outcome)outcome)]);
                if (n != 0)
                {
                    list.Add(new Measurement<long>(n, With(e.MetricTags, Tag("iouring.operation.kind", KindNames[kind]), Tag("iouring.operation.outcome", OutcomeNames[outcome]))));
                }
            }
        }
    }

    private static void CollectErrors(IoUringEngine e, List<Measurement<long>> list)
    {
        long[] errors = e.Counters.Errors;
        for (int errno = 1; errno < errors.Length; errno++)
        {
            long n = Volatile.Read(ref errors[errno]);
            if (n != 0)
            {
                string name = errno == errors.Length - 1 ? "other" : IoUringException.ErrnoName(errno);
                list.Add(new Measurement<long>(n, With(e.MetricTags, Tag("error.type", name))));
            }
        }
    }

    private static void CollectBytes(IoUringEngine e, List<Measurement<long>> list)
    {
        long[] bytes = e.Counters.Bytes;
        for (int kind = 0; kind < bytes.Length; kind++)
        {
            long n = Volatile.Read(ref bytes[kind]);
            if (n != 0)
            {
                list.Add(new Measurement<long>(n, With(e.MetricTags, Tag("iouring.operation.kind", KindNames[kind]))));
            }
        }
    }

    private static IEnumerable<Measurement<long>> CollectSocketBytes()
    {
        var list = new List<Measurement<long>>();
        foreach (IoUringEngine e in Volatile.Read(ref s_engines))
        {
            EngineCounters c = e.Counters;
            long sent = Volatile.Read(ref c.Bytes[(int)OpKind.Send]) + Volatile.Read(ref c.Bytes[(int)OpKind.SendV]) + Volatile.Read(ref c.ZeroCopyBytesSent);
            long received = Volatile.Read(ref c.Bytes[(int)OpKind.Recv]) + Volatile.Read(ref c.MultishotBytesReceived);
            list.Add(new Measurement<long>(sent, With(e.MetricTags, Tag("network.io.direction", "transmit"))));
            list.Add(new Measurement<long>(received, With(e.MetricTags, Tag("network.io.direction", "receive"))));
        }

        return list;
    }

    /// <summary>An engine's tags followed by <paramref name="more"/> (a measurement's own tags; collection only).</summary>
    private static KeyValuePair<string, object?>[] With(KeyValuePair<string, object?>[] engine, params ReadOnlySpan<KeyValuePair<string, object?>> more)
    {
        var tags = new KeyValuePair<string, object?>[engine.Length + more.Length];
        engine.CopyTo(tags, 0);
        more.CopyTo(tags.AsSpan(engine.Length));
        return tags;
    }

    private static KeyValuePair<string, object?> Tag(string key, object? value) => new(key, value);

    /// <summary>The <c>iouring.operation.kind</c> tag of each <see cref="OpKind"/>.</summary>
    internal static readonly string[] KindNames = BuildKindNames();

    private static readonly string[] OutcomeNames = ["success", "error", "canceled"];

    private static string[] BuildKindNames()
    {
        var names = new string[EngineCounters.KindCount];
        for (int i = 0; i < names.Length; i++)
        {
            // The error messages' syscall names (IoErrors.Name), except where a tag must tell kinds apart that
            // share a syscall; kinds the meter has no tag for count as "other".
            var kind = (OpKind)i;
            names[i] = kind switch
            {
                OpKind.InstallFixedFile => "files_update_install",
                OpKind.RemoveFixedFile => "files_update_remove",
                OpKind.SendV => "sendv",
                <= OpKind.Statx or (>= OpKind.Connect and <= OpKind.Accept) => IoErrors.Name(kind),
                _ => "other",
            };
        }

        return names;
    }
}
