using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace IoUring.Benchmarks.Compare;

/// <summary>Medians of one row over its rounds; the per-op figures divide by <see cref="RunResult.OpsForCosts"/>.</summary>
/// <param name="Row">The row's runs.</param>
/// <param name="Threads">Threads the contender ran on.</param>
/// <param name="OpsPerSec">Median throughput.</param>
/// <param name="OpsMin">Slowest round's throughput.</param>
/// <param name="OpsMax">Fastest round's throughput.</param>
/// <param name="CpuUsPerOp">Process CPU microseconds per op.</param>
/// <param name="CtxPerOp">Context switches (voluntary and not) per op.</param>
/// <param name="SyscallsPerOp">System calls per op, where known.</param>
/// <param name="BytesPerOp">Managed bytes allocated per op, where measured.</param>
/// <param name="MaxBytesPerOp">The worst round's bytes per op, where measured.</param>
/// <param name="HitRatio">Page-cache hit ratio, where measured.</param>
/// <param name="MaxThreadAllocated">The most bytes the measuring thread allocated in a round.</param>
/// <param name="P99Ms">http: wrk's 99th percentile latency in milliseconds.</param>
internal sealed record Summary(
    Row Row,
    int Threads,
    double OpsPerSec,
    double OpsMin,
    double OpsMax,
    double CpuUsPerOp,
    double CtxPerOp,
    double? SyscallsPerOp,
    double? BytesPerOp,
    double? MaxBytesPerOp,
    double? HitRatio,
    long MaxThreadAllocated,
    double? P99Ms)
{
    public string Scenario => Row.Scenario;

    public string Contender => Row.Contender;

    public int Qd => Row.Qd;

    public double NsPerOp => 1e9 / OpsPerSec;

    public static Summary Of(Row row)
    {
        List<RunResult> runs = row.Runs;
        static double? MedianOrNull(IEnumerable<double?> xs)
        {
            double[] v = [.. xs.Where(x => x.HasValue).Select(x => x!.Value)];
            return v.Length == 0 ? null : Median(v);
        }

        return new Summary(
            row,
            Threads: (int)Median([.. runs.Select(r => (double)r.Threads)]),
            OpsPerSec: Median([.. runs.Select(r => r.OpsPerSecond)]),
            OpsMin: runs.Min(r => r.OpsPerSecond),
            OpsMax: runs.Max(r => r.OpsPerSecond),
            CpuUsPerOp: Median([.. runs.Select(r => r.CpuMicroseconds / (double)r.OpsForCosts)]),
            CtxPerOp: Median([.. runs.Select(r => (r.VoluntarySwitches + r.InvoluntarySwitches) / (double)r.OpsForCosts)]),
            SyscallsPerOp: MedianOrNull(runs.Select(r => r.Syscalls / r.OpsForCosts)),
            BytesPerOp: MedianOrNull(runs.Select(r => r.AllocatedBytes / r.OpsForCosts)),
            MaxBytesPerOp: runs.Any(r => r.AllocatedBytes.HasValue) ? runs.Max(r => r.AllocatedBytes / r.OpsForCosts) : null,
            P99Ms: MedianOrNull(runs.Select(r => r.P99Milliseconds)),
            MaxThreadAllocated: runs.Max(r => r.ThreadAllocatedBytes),
            HitRatio: MedianOrNull(runs.Select(r => r.Misses is long m ? Math.Max(0, 1 - ((double)m / Math.Max(1, r.Ops))) : (double?)null)));
    }

    public static double Median(double[] values)
    {
        Array.Sort(values);
        int n = values.Length;
        return n % 2 == 1 ? values[n / 2] : (values[(n / 2) - 1] + values[n / 2]) / 2;
    }
}

/// <summary>The Markdown table with notes and target checks, and the JSON array.</summary>
internal sealed partial class Report
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private readonly RunHeader _header;
    private readonly List<Summary> _summaries;
    private readonly List<string> _notes;
    private readonly bool _hitRatioMeasured;

    public Report(RunHeader header, List<Row> rows, List<string> notes, bool hitRatioMeasured)
    {
        _header = header;
        _summaries = [.. rows.Where(r => r.Runs.Count > 0).Select(Summary.Of)];
        _notes = notes;
        _hitRatioMeasured = hitRatioMeasured;
    }

    public IReadOnlyList<Summary> Summaries => _summaries;

    public string Json()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartArray();
            foreach (Summary s in _summaries)
            {
                w.WriteStartObject();
                w.WriteString("scenario", s.Scenario);
                w.WriteString("contender", s.Contender);
                w.WriteNumber("qd", s.Qd);
                if (s.Scenario == Scenarios.Http)
                {
                    w.WriteNumber("pipeline", s.Row.Pipeline);
                }

                if (s.Scenario == Scenarios.Seq)
                {
                    w.WriteString("case", s.Row.Case);
                    w.WriteNumber("buffer", s.Row.Buffer);
                    w.WriteNumber("mb_per_sec", Math.Round(MBps(s), 1));
                    w.WriteNumber("cpu_ms_per_gib", Math.Round(CpuMsPerGiB(s), 1));
                }

                w.WriteNumber("threads", s.Threads);
                w.WriteNumber("ops_per_sec", Math.Round(s.OpsPerSec, 1));
                w.WriteNumber("cpu_us_per_op", Math.Round(s.CpuUsPerOp, 4));
                w.WriteNumber("ctx_switches_per_op", Math.Round(s.CtxPerOp, 5));
                WriteNullable(w, "syscalls_per_op", s.SyscallsPerOp, 5);
                WriteNullable(w, "bytes_allocated_per_op", s.BytesPerOp, 2);
                WriteNullable(w, "p99_ms", s.P99Ms, 3);
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    private static void WriteNullable(Utf8JsonWriter w, string name, double? value, int digits)
    {
        if (value is double v)
        {
            w.WriteNumber(name, Math.Round(v, digits));
        }
        else
        {
            w.WriteNull(name);
        }
    }

    public string Markdown()
    {
        CompareOptions o = _header.Options;
        var sb = new StringBuilder();
        sb.AppendLine(Inv, $"Machine: {MachineInfo.Cpu()}, {MachineInfo.Memory()} RAM, Linux {MachineInfo.Kernel()}, {RuntimeInformation.FrameworkDescription}.");
        bool files = _summaries.Any(s => s.Scenario != Scenarios.Http);
        bool http = _summaries.Any(s => s.Scenario == Scenarios.Http);
        if (files)
        {
            sb.AppendLine(Inv, $"Data file: {o.FileSize >> 20} MiB on {_header.Storage}.");
            sb.AppendLine(Inv, $"Tools: liburing {_header.Liburing ?? "n/a"}, {_header.Fio ?? "fio n/a"}.");
        }

        sb.AppendLine(Inv, $"Settings: {(files ? $"{o.Seconds:0.###} s per run after {o.Warmup:0.###} s warm-up, " : string.Empty)}{o.Rounds} round(s){(o.Smoke ? " (--smoke)" : string.Empty)}{(files ? $", cold re-evicted every {_header.EvictEvery} reads" : string.Empty)}; load average {_header.LoadAverageStart} at start, {_header.LoadAverageEnd} at end; {_header.TotalSeconds:F0} s in all.");
        if (http && _header.Http is HttpOptions h)
        {
            bool shaped = _summaries.Any(x => x.Scenario == Scenarios.Http && (x.Qd != h.Connections || x.Row.Pipeline != h.Pipeline));
            sb.AppendLine(Inv, $"http: {_header.Wrk ?? "wrk"} -t{h.WrkThreads} -c{h.Connections} -d{h.Seconds}s --latency{(h.Pipeline > 1 ? $", {h.Pipeline} requests pipelined per write" : ", keep-alive, no pipelining")}{(shaped ? $"; rows marked pipelined send that many requests per write (a wrk Lua script, as TechEmpower plaintext), and QD is each row's connections" : string.Empty)}, after a {h.WarmupSeconds} s warm-up run; server in a child process on 127.0.0.1{(h.ServerPool == "pinned" ? "; sockets-* servers with --pool pinned" : string.Empty)}.");
        }

        if (_summaries.Any(x => x.Scenario != Scenarios.Seq))
        {
            MainTable(sb, http);
        }

        if (_summaries.Any(x => x.Scenario == Scenarios.Seq))
        {
            SeqTable(sb);
        }

        foreach (string n in _notes)
        {
            sb.AppendLine();
            sb.AppendLine(Inv, $"Note: {n}");
        }

        if (!_hitRatioMeasured)
        {
            sb.AppendLine();
            sb.AppendLine("Note: the cold hit ratio was not measured on this kernel.");
        }

        sb.AppendLine();
        sb.AppendLine("Targets (from this run's medians):");
        sb.AppendLine();
        sb.AppendLine("| target | measured | result |");
        sb.AppendLine("| --- | --- | --- |");
        foreach ((string target, string measured, bool? ok) in Targets())
        {
            sb.AppendLine(Inv, $"| {target} | {measured} | {(ok is null ? "not measured" : ok.Value ? "met" : "**missed**")} |");
        }

        return sb.ToString();
    }

    private void MainTable(StringBuilder sb, bool http)
    {
        sb.AppendLine();
        sb.AppendLine("| scenario | contender | QD | threads | ops/s | ns/op | CPU µs/op | ctx sw/op | syscalls/op | B alloc/op | cache hits | p99 ms | ops/s min–max |");
        sb.AppendLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (Summary s in _summaries.Where(x => x.Scenario != Scenarios.Seq))
        {
            string hits = s.Scenario is Scenarios.Nop or Scenarios.Http ? "—"
                : s.Scenario == Scenarios.Hot ? "100 %"
                : s.HitRatio is double hr ? (hr * 100).ToString("F1", Inv) + " %" : "n/a";
            sb.AppendLine(Inv,
                $"| {s.Scenario} | {s.Contender}{(s.Row.Pipeline > 1 ? $" (pipelined {s.Row.Pipeline})" : string.Empty)} | {s.Qd} | {s.Threads} | {s.OpsPerSec:N0} | {s.NsPerOp:N0} | {s.CpuUsPerOp:F3} | {s.CtxPerOp:F4} | {Fmt(s.SyscallsPerOp, "F3")} | {Fmt(s.BytesPerOp, "F1")} | {hits} | {Fmt(s.P99Ms, "F2")} | {s.OpsMin:N0}–{s.OpsMax:N0} |");
        }

        sb.AppendLine();
        sb.AppendLine("Columns: medians over the rounds. ns/op = 1e9 / ops/s (throughput, not latency). CPU µs/op = user + system time of the whole process (getrusage RUSAGE_SELF; fio: its own report) / ops. ctx sw/op = voluntary + involuntary context switches / ops. syscalls/op: `io_uring_enter` calls counted in the loop (managed ring: the Ring's internal counter; C twin: counted beside each `io_uring_submit_and_wait`; the library's async contenders: the engines' `io_uring_enter` calls, eventfd wake-ups and the `preadv2` calls that served a read from the page cache on the loop thread, a miss of which, at most one in 17 reads of uncached data, is not counted); one `pread` per op by construction for pread, pread-pool, randomaccess-async and fio-psync (their futex wake-ups show up as context switches); — for fio-io_uring, which does not report it. B alloc/op = `GC.GetTotalAllocatedBytes(true)` delta / ops (0 by construction for the C twin; — for fio). cache hits (cold) = 1 − misses / reads, misses being the pages that became resident (cachestat; single-thread contenders) or the pages the device read in the window (threaded contenders, whose concurrent reads can race an eviction between its cachestat calls); hot runs start with every page cached.");
        if (http)
        {
            sb.AppendLine();
            sb.AppendLine("http rows: QD = open connections; threads = the server's threads; ops/s = wrk's requests/s; p99 ms = wrk's 99th-percentile latency; CPU µs/op, ctx sw/op and B alloc/op are the server process's own (utime + stime from /proc/PID/stat; getrusage context switches and `GC.GetTotalAllocatedBytes(true)` reported by the server), taken over a window inside the measured wrk run once every connection is open, divided by the requests the server answered in that window: the steady state, without the runner, wrk, or connection setup.");
        }
    }

    private Summary? Find(string scenario, string contender, int qd) =>
        _summaries.FirstOrDefault(s => s.Scenario == scenario && s.Contender == contender && s.Qd == qd);

    private Summary? FindAnyQd(string scenario, string contender) =>
        _summaries.FirstOrDefault(s => s.Scenario == scenario && s.Contender == contender);

    public IEnumerable<(string Target, string Measured, bool? Ok)> Targets() =>
        (_summaries.Any(s => s.Scenario is Scenarios.Nop or Scenarios.Hot or Scenarios.Cold) ? FileTargets() : [])
            .Concat(_summaries.Any(s => s.Scenario == Scenarios.Seq) ? SeqTargets() : [])
            .Concat(HttpTargets());

    private IEnumerable<(string Target, string Measured, bool? Ok)> FileTargets()
    {
        const string R = CompareRunner.Ring, C = CompareRunner.LiburingC;
        Summary? nopRing = Find(Scenarios.Nop, R, 32), nopC = Find(Scenarios.Nop, C, 32);
        yield return Ratio("nop QD 32: ring ns/op ≤ 1.15 × liburing-c", nopRing, nopC, s => s.NsPerOp, "ns/op", r => r <= 1.15);

        Summary? hotRing = Find(Scenarios.Hot, R, 32), hotC = Find(Scenarios.Hot, C, 32), hotPread = FindAnyQd(Scenarios.Hot, CompareRunner.Pread);
        yield return Ratio("hot QD 32: ring ops/s ≥ 0.95 × liburing-c", hotRing, hotC, s => s.OpsPerSec, "ops/s", r => r >= 0.95);
        yield return Ratio("hot QD 32: ring ops/s ≥ 1.0 × pread", hotRing, hotPread, s => s.OpsPerSec, "ops/s", r => r >= 1.0);
        yield return Ratio("hot QD 32: ring CPU µs/op within 5 % of liburing-c", hotRing, hotC, s => s.CpuUsPerOp, "µs/op", r => r <= 1.05);

        Summary? coldRing = Find(Scenarios.Cold, R, 32), coldPread = FindAnyQd(Scenarios.Cold, CompareRunner.Pread), coldPool = FindAnyQd(Scenarios.Cold, CompareRunner.PreadPool);
        yield return Ratio("cold QD 32: ring ops/s ≥ 2.5 × pread", coldRing, coldPread, s => s.OpsPerSec, "ops/s", r => r >= 2.5);
        yield return Ratio("cold QD 32: ring ops/s ≥ 0.9 × pread-pool", coldRing, coldPool, s => s.OpsPerSec, "ops/s", r => r >= 0.9);
        yield return Ratio("cold QD 32: ring ctx sw/op ≤ 1/10 × pread-pool", coldRing, coldPool, s => s.CtxPerOp, "ctx/op", r => r <= 0.1);

        // The ring loop runs on the measuring thread, so that thread's own allocation counter is the Ring path's
        // exact figure; the process-wide delta (the B alloc/op column) also catches a runtime background thread's
        // rare stray allocation, and is shown beside it.
        Summary[] ringRows = [.. _summaries.Where(s => s.Contender is R or CompareRunner.RingRegistered)];
        long threadWorst = ringRows.Length == 0 ? 0 : ringRows.Max(s => s.MaxThreadAllocated);
        double worst = ringRows.Length == 0 ? double.NaN : ringRows.Max(s => s.MaxBytesPerOp ?? 0);
        yield return ("0 B allocated per op on the Ring path (every ring run)",
            ringRows.Length == 0 ? "no ring rows" : string.Create(Inv,
                $"{threadWorst:N0} B on the ring's thread in the worst of {ringRows.Sum(s => s.Row.Runs.Count)} runs; whole process: max {worst:F4} B/op"),
            ringRows.Length == 0 ? null : threadWorst == 0);

        foreach ((string Target, string Measured, bool? Ok) t in AsyncTargets())
        {
            yield return t;
        }
    }

    /// <summary>
    /// The targets of "fast by default" for <c>default</c> (the code a newcomer writes) against
    /// <c>randomaccess-async</c> at each queue depth: hot, at least as many reads per second for at most 3/4 of the CPU
    /// per read; cold, twice the reads per second for a tenth of the context switches (at QD 1 both wait for one device
    /// read at a time: the bare ring's QD 1 row beside it shows that bound); and no allocation per read.
    /// </summary>
    private IEnumerable<(string Target, string Measured, bool? Ok)> DefaultTargets()
    {
        const string RA = CompareRunner.RandomAccessAsync, D = CompareRunner.Default;
        foreach (int qd in _summaries.Where(s => s.Contender == D).Select(s => s.Qd).Distinct().Order())
        {
            Summary? hot = Find(Scenarios.Hot, D, qd), hotRa = Find(Scenarios.Hot, RA, qd);
            yield return Ratio($"hot QD {qd}: default ops/s ≥ 1.0 × randomaccess-async", hot, hotRa, s => s.OpsPerSec, "ops/s", r => r >= 1.0);
            yield return Ratio($"hot QD {qd}: default CPU µs/op ≤ 0.75 × randomaccess-async", hot, hotRa, s => s.CpuUsPerOp, "µs/op", r => r <= 0.75);
            Summary? cold = Find(Scenarios.Cold, D, qd), coldRa = Find(Scenarios.Cold, RA, qd);
            yield return Ratio($"cold QD {qd}: default ops/s ≥ 2 × randomaccess-async", cold, coldRa, s => s.OpsPerSec, "ops/s", r => r >= 2.0);
            yield return Ratio($"cold QD {qd}: default ctx sw/op ≤ 1/10 × randomaccess-async", cold, coldRa, s => s.CtxPerOp, "ctx/op", r => r <= 0.1);
            if (qd == 1 && Find(Scenarios.Cold, CompareRunner.Ring, 1) is Summary ring1 && coldRa is not null)
            {
                yield return ("cold QD 1: the device bound (bare ring QD 1 / randomaccess-async QD 1)",
                    string.Create(Inv, $"{ring1.OpsPerSec / coldRa.OpsPerSec:F3} ({FmtNum(ring1.OpsPerSec)} vs {FmtNum(coldRa.OpsPerSec)} ops/s)"), null);
            }
        }

        Summary[] rows = [.. _summaries.Where(s => s.Contender == D)];
        if (rows.Length > 0)
        {
            RunResult[] runs = [.. rows.SelectMany(s => s.Row.Runs)];
            double worst = runs.Max(r => ((r.AllocatedBytes ?? 0) - r.ThreadAllocatedBytes) / Math.Max(1, r.Ops));
            yield return ("default: < 0.01 B allocated per read (every run)",
                string.Create(Inv, $"worst run {worst:F4} B/op outside the measuring thread; {runs.Length} runs, {runs.Sum(r => r.Ops):N0} ops"),
                worst < 0.01);
        }

        Summary? groupInline = Find(Scenarios.Hot, CompareRunner.AsyncGroupInline, 32), pool = FindAnyQd(Scenarios.Hot, CompareRunner.PreadPool);
        yield return Ratio("hot QD 32: async-group-inline ops/s ≥ 1.1 × pread-pool", groupInline, pool, s => s.OpsPerSec, "ops/s", r => r >= 1.1);
    }

    /// <summary>Issue 4's targets for the async layer, judged for thread-pool continuations (<c>async</c>) and for <c>async-inline</c>.</summary>
    private IEnumerable<(string Target, string Measured, bool? Ok)> AsyncTargets()
    {
        foreach ((string Target, string Measured, bool? Ok) t in DefaultTargets())
        {
            yield return t;
        }

        const string RA = CompareRunner.RandomAccessAsync;
        Summary? hotRa = Find(Scenarios.Hot, RA, 32), coldRa = Find(Scenarios.Cold, RA, 32);
        Summary? hotPool = FindAnyQd(Scenarios.Hot, CompareRunner.PreadPool);
        foreach (string a in new[] { CompareRunner.Async, CompareRunner.AsyncInline })
        {
            Summary? hot = Find(Scenarios.Hot, a, 32), cold = Find(Scenarios.Cold, a, 32);
            yield return Ratio($"hot QD 32: {a} ops/s ≥ 1.5 × randomaccess-async", hot, hotRa, s => s.OpsPerSec, "ops/s", r => r >= 1.5);
            yield return Ratio($"hot QD 32: {a} CPU µs/op ≤ 0.7 × randomaccess-async", hot, hotRa, s => s.CpuUsPerOp, "µs/op", r => r <= 0.7);
            yield return Ratio($"cold QD 32: {a} ops/s ≥ 1.0 × randomaccess-async", cold, coldRa, s => s.OpsPerSec, "ops/s", r => r >= 1.0);
            yield return Ratio($"cold QD 32: {a} ctx sw/op ≤ 1/10 × randomaccess-async", cold, coldRa, s => s.CtxPerOp, "ctx/op", r => r <= 0.1);
        }

        foreach (string g in new[] { CompareRunner.AsyncGroup, CompareRunner.AsyncGroupInline })
        {
            Summary? hot = Find(Scenarios.Hot, g, 32);
            yield return Ratio($"hot QD 32: {g} ops/s > pread-pool", hot, hotPool, s => s.OpsPerSec, "ops/s", r => r > 1.0);
            // Cores busy = CPU seconds per second of the window.
            int cores = Environment.ProcessorCount;
            string label = string.Create(Inv, $"hot QD 32: {g} uses all {cores} cores (≥ {0.9 * cores:0.#} busy)");
            yield return hot is null
                ? (label, "a contender is missing", null)
                : (label, string.Create(Inv, $"{hot.CpuUsPerOp * hot.OpsPerSec / 1e6:F2} cores busy"), hot.CpuUsPerOp * hot.OpsPerSec / 1e6 >= 0.9 * cores);
        }

        // The windowed contenders' measuring thread only sleeps and reads counters (a sysfs read allocates a few KiB),
        // so the bytes of every other thread (the loops, the pool's continuations) are the async path's own.
        Summary[] asyncRows = [.. _summaries.Where(s => s.Contender.StartsWith("async", StringComparison.Ordinal) || s.Contender == CompareRunner.Default)];
        if (asyncRows.Length == 0)
        {
            yield return ("0 B allocated per awaited op (every async run)", "no async rows", null);
            yield break;
        }

        RunResult[] runs = [.. asyncRows.SelectMany(s => s.Row.Runs)];
        double worst = runs.Max(r => ((r.AllocatedBytes ?? 0) - r.ThreadAllocatedBytes) / Math.Max(1, r.Ops));
        long worstBytes = runs.Max(r => (long)(r.AllocatedBytes ?? 0) - r.ThreadAllocatedBytes);
        long totalOps = runs.Sum(r => r.Ops);
        // A per-operation allocation is at least one 24-byte object per op; the runtime's own stray allocations
        // (thread-pool threads starting, a few hundred bytes now and then) are not the async path's and are far below this bound.
        yield return ("0 B allocated per awaited op (every async run; bound: < 0.01 B/op)",
            string.Create(Inv, $"worst run {worstBytes:N0} B ({worst:F4} B/op) outside the measuring thread; {runs.Length} runs, {totalOps:N0} ops"),
            worst < 0.01);
    }

    /// <summary>An http contender's row at the base load shape (the connections and pipelining of the run's options).</summary>
    private Summary? FindHttp(string contender)
    {
        HttpOptions? h = _header.Http;
        return _summaries.FirstOrDefault(s => s.Scenario == Scenarios.Http && s.Contender == contender
            && (h is null || (s.Qd == h.Connections && s.Row.Pipeline == h.Pipeline)));
    }

    private IEnumerable<(string Target, string Measured, bool? Ok)> HttpTargets()
    {
        const string SI = HttpContenders.SocketsIoUring, SD = HttpContenders.SocketsDotnet;
        Summary? httpI = FindHttp(SI), httpD = FindHttp(SD);
        if (httpI is not null || httpD is not null)
        {
            yield return Ratio("http: sockets-iouring requests/s ≥ 1.2 × sockets-dotnet", httpI, httpD, s => s.OpsPerSec, "req/s", r => r >= 1.2);
            yield return Ratio("http: sockets-iouring p99 latency < sockets-dotnet", httpI, httpD, s => s.P99Ms ?? double.NaN, "ms", r => r < 1.0);

            // The server's whole-process allocation counter over the steady-state window. The runtime's own background
            // work (the thread pool adding a thread, tiering, timers) may allocate a few hundred bytes in a window on a
            // busy machine, so the check reads the median over the rounds, below 0.01 B/request (a per-request
            // allocation shows as tens of bytes), and shows the worst round beside it.
            Summary[] iouringHttp = [.. _summaries.Where(s => s.Scenario == Scenarios.Http && s.Contender == SI)];
            double medianHttp = iouringHttp.Length == 0 ? double.NaN : iouringHttp.Max(s => s.BytesPerOp ?? 0);
            double worstHttp = iouringHttp.Length == 0 ? double.NaN : iouringHttp.Max(s => s.MaxBytesPerOp ?? 0);
            yield return ("http: 0 B allocated per request by the sockets-iouring server in the steady state",
                iouringHttp.Length == 0 ? "no sockets-iouring rows" : string.Create(Inv, $"median {medianHttp:F4} B/request, worst round {worstHttp:F4} B/request, over {iouringHttp.Sum(s => s.Row.Runs.Count)} runs (whole server process)"),
                iouringHttp.Length == 0 ? null : medianHttp < 0.01);
        }

        // Issue 13: UseIoUring() against Kestrel's own socket transport, at the base shape, with default options.
        const string KI = HttpContenders.KestrelIoUring, KD = HttpContenders.KestrelDotnet, KDI = HttpContenders.KestrelDotnetInline;
        Summary? kI = FindHttp(KI), kD = FindHttp(KD), kDI = FindHttp(KDI);
        if (kI is null && kD is null && kDI is null)
        {
            yield break;
        }

        yield return Ratio("http: kestrel-iouring requests/s ≥ 1.15 × kestrel-dotnet", kI, kD, s => s.OpsPerSec, "req/s", r => r >= 1.15);
        yield return Ratio("http: kestrel-iouring server CPU µs/request ≤ 0.85 × kestrel-dotnet", kI, kD, s => s.CpuUsPerOp, "µs/req", r => r <= 0.85);
        yield return Ratio("http: kestrel-iouring p99 latency ≤ kestrel-dotnet", kI, kD, s => s.P99Ms ?? double.NaN, "ms", r => r <= 1.0);
        yield return Ratio("http: kestrel-iouring requests/s ≥ 1.0 × kestrel-dotnet-inline", kI, kDI, s => s.OpsPerSec, "req/s", r => r >= 1.0);
    }

    private static (string, string, bool?) Ratio(string target, Summary? a, Summary? b, Func<Summary, double> f, string unit, Func<double, bool> ok)
    {
        if (a is null || b is null)
        {
            return (target, "a contender is missing", null);
        }

        double ra = f(a), rb = f(b);
        double ratio = ra / rb;
        return (target, string.Create(Inv, $"{ratio:F3} ({FmtNum(ra)} vs {FmtNum(rb)} {unit})"), ok(ratio));
    }

    private static string FmtNum(double v) => v >= 100 ? v.ToString("N0", Inv) : v >= 1 ? v.ToString("F2", Inv) : v.ToString("F4", Inv);

    private static string Fmt(double? v, string format) => v is double d ? d.ToString(format, Inv) : "—";
}
