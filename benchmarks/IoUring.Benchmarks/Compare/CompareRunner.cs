using System.Diagnostics;
using System.Globalization;

namespace IoUring.Benchmarks.Compare;

/// <summary>
/// One line of the table: a contender at a queue depth (or thread count) in a scenario; for http, Qd is the number of
/// connections and <see cref="Pipeline"/> the requests pipelined per write.
/// </summary>
internal sealed record Row(string Scenario, string Contender, int Qd, int Pipeline = 1)
{
    public List<RunResult> Runs { get; } = [];

    public string? Failure { get; set; }

    /// <summary>seq: what the run does (<see cref="SeqContenders.Cases"/>); null elsewhere.</summary>
    public string? Case { get; init; }

    /// <summary>seq: the caller's buffer (and the adapters' chunk) in bytes; 0 elsewhere.</summary>
    public int Buffer { get; init; }
}

/// <summary>
/// The comparison runner: creates the data file, runs every contender on it round by round (rotating the order each
/// round), and prints a Markdown table of medians; optionally writes JSON and the same Markdown to files.
/// </summary>
internal static class CompareRunner
{
    public const string Ring = "ring";
    public const string RingRegistered = "ring-registered";
    public const string Pread = "pread";
    public const string PreadPool = "pread-pool";
    public const string RandomAccessAsync = "randomaccess-async";

    /// <summary>The code a newcomer writes: <c>UringFile.Open(path)</c> on the default engines, no options.</summary>
    public const string Default = "default";
    public const string Async = "async";
    public const string AsyncInline = "async-inline";
    public const string AsyncGroup = "async-group";
    public const string AsyncGroupInline = "async-group-inline";

    /// <summary><c>async</c> / <c>async-inline</c> with the engine's registered-file table off (plain fds); only when named in --contenders.</summary>
    public const string AsyncPlainFd = "async-plainfd";
    public const string AsyncInlinePlainFd = "async-inline-plainfd";

    /// <summary><c>async</c> / <c>async-inline</c> reading into ordinary native buffers instead of registered ones; only when named in --contenders.</summary>
    public const string AsyncUnregistered = "async-unregistered";
    public const string AsyncInlineUnregistered = "async-inline-unregistered";
    public const string LiburingC = "liburing-c";
    public const string LiburingCRegistered = "liburing-c-registered";
    public const string FioUring = "fio-io_uring";
    public const string FioPsync = "fio-psync";

    public static int Run(string[] args)
    {
        CompareOptions options;
        try
        {
            options = CompareOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }

        if (!IoUringSupport.IsAvailable)
        {
            Console.Error.WriteLine($"io_uring is not usable here: {IoUringSupport.Current}");
            return 1;
        }

        TextWriter log = Console.Error;
        var total = Stopwatch.StartNew();
        var notes = new List<string>();
        NativeTwin twin = NativeTwin.Build(log);
        if (twin.Unavailable is not null)
        {
            notes.Add($"`{LiburingC}` was not run: {twin.Unavailable}.");
        }

        Fio fio = Fio.Find();
        if (fio.Binary is null)
        {
            notes.Add("`fio-*` were not run: fio is not installed (run native/install-deps.sh).");
        }

        Wrk wrk = Wrk.Find();
        bool wantHttp = options.Scenarios is null || options.Scenarios.Contains(Scenarios.Http);
        if (wrk.Binary is null && wantHttp)
        {
            notes.Add("`http` was not run: wrk not installed (run native/install-deps.sh).");
        }

        bool aspNetCore = HttpContenders.AspNetCoreInstalled();
        if (!aspNetCore && wantHttp)
        {
            notes.Add("`kestrel-*` were not run: the ASP.NET Core shared framework (Microsoft.AspNetCore.App) is not installed.");
        }

        List<Row> rows = BuildRows(options, twin, fio, wrk, aspNetCore, notes);
        int mostConnections = rows.Where(r => r.Scenario == Scenarios.Http).Select(r => r.Qd).DefaultIfEmpty(0).Max();
        if (mostConnections > 0 && FileLimit.Ensure(mostConnections + 512) is string limitNote)
        {
            notes.Add(limitNote);
        }

        bool needFile = rows.Any(r => r.Scenario != Scenarios.Http);
        string dir = options.Directory ?? Path.GetTempPath();
        (string storage, bool tmpfs) = needFile ? MachineInfo.Storage(dir) : ("n/a", false);
        if (tmpfs)
        {
            notes.Add($"The data file is on tmpfs ({dir}): `cold` cannot reach a device there; pass --dir on a disk-backed filesystem.");
        }

        var header = new RunHeader(options, storage, twin.Version, fio.Version, MachineInfo.LoadAverage())
        {
            Wrk = wrk.Version,
            Http = options.Http(),
        };
        using PageReporting? reporting = needFile ? PageReporting.Pause(options.KeepPageReporting, notes, log) : null;
        using DataFile? file = needFile ? DataFile.Create(dir, options.FileSize, log) : null;
        if (file is not null && !file.CachestatWorks)
        {
            notes.Add("cachestat(2) is unavailable (Linux < 6.5): the cold hit ratio is not measured.");
        }

        // At most 1/256 of the file (and at least 512 pages: re-evicting every few reads would measure fadvise, not
        // reads) is cached between evictions.
        long evictEvery = file is null ? 0 : Math.Max(512, (long)file.Pages / 256);
        header.EvictEvery = evictEvery;
        if (file is not null)
        {
            Prelude(file, evictEvery, options.Seed);
        }

        string[] scenarioOrder = [Scenarios.Nop, Scenarios.Hot, Scenarios.Cold, Scenarios.Seq, Scenarios.Http];
        List<Row> planned = [.. rows.Where(r => r.Failure is null && scenarioOrder.Contains(r.Scenario))];
        var progress = new RunProgress(planned.Count * options.Rounds, planned.Sum(r => PlannedSeconds(r, options, header.Http!)) * options.Rounds);
        for (int round = 0; round < options.Rounds; round++)
        {
            ulong seed = options.Seed + (ulong)round;
            foreach (string scenario in scenarioOrder)
            {
                List<Row> scenarioRows = [.. rows.Where(r => r.Scenario == scenario && r.Failure is null)];
                if (scenarioRows.Count == 0)
                {
                    continue;
                }

                int shift = round % scenarioRows.Count;
                foreach (Row row in scenarioRows.Skip(shift).Concat(scenarioRows.Take(shift)))
                {
                    if (scenario == Scenarios.Http)
                    {
                        RunHttp(row, wrk, options, header.Http, round, log);
                    }
                    else if (scenario == Scenarios.Seq)
                    {
                        RunSeq(row, file!, options, round, log);
                    }
                    else
                    {
                        RunOne(row, file!, twin, fio, options, evictEvery, seed, round, log);
                    }

                    log.WriteLine(progress.Done(PlannedSeconds(row, options, header.Http!)));
                }
            }
        }

        header.LoadAverageEnd = MachineInfo.LoadAverage();
        header.TotalSeconds = total.Elapsed.TotalSeconds;
        foreach (Row r in rows.Where(r => r.Failure is not null))
        {
            notes.Add(r.Scenario == Scenarios.Seq ? $"`{r.Contender}` seq {r.Case} {r.Buffer >> 10} KiB failed: {r.Failure}" : $"`{r.Contender}` {r.Scenario} QD {r.Qd}{(r.Pipeline > 1 ? $" pipelined {r.Pipeline}" : string.Empty)} failed: {r.Failure}");
        }

        var report = new Report(header, rows, notes, file?.CachestatWorks ?? true);
        string markdown = report.Markdown();
        Console.WriteLine(markdown);
        if (options.MarkdownPath is not null)
        {
            File.WriteAllText(options.MarkdownPath, markdown);
        }

        if (options.JsonPath is not null)
        {
            File.WriteAllText(options.JsonPath, report.Json());
            log.WriteLine($"wrote {options.JsonPath}");
        }

        // A failed in-process contender is a bug in the library or the runner: fail CI. External tools only warn.
        bool failed = rows.Any(r => r.Failure is not null && !r.Contender.StartsWith("fio", StringComparison.Ordinal));
        return failed ? 1 : 0;
    }

    /// <summary>
    /// Runs each in-process code path briefly before round 1 so that the runtime's one-time work (JIT of the
    /// measurement code, P/Invoke stubs, tiering) happens outside every measured window.
    /// </summary>
    private static void Prelude(DataFile file, long evictEvery, ulong seed)
    {
        _ = file.EnsureHot();
        for (int i = 0; i < 2; i++)
        {
            _ = RingContender.Run(new RunSpec(Scenarios.Nop, Ring, 32, null, 0.05, 0.05, evictEvery, seed), registered: false);
            _ = RingContender.Run(new RunSpec(Scenarios.Hot, Ring, 32, file, 0.05, 0.05, evictEvery, seed), registered: true);
            _ = PreadContender.Run(new RunSpec(Scenarios.Hot, Pread, 1, file, 0.05, 0.05, evictEvery, seed));
            // The cold path too (eviction, cachestat, the device counter): its first run once allocated 24 B in a window.
            _ = RingContender.Run(new RunSpec(Scenarios.Cold, Ring, 1, file, 0.05, 0.05, evictEvery, seed), registered: false);
            _ = RingContender.Run(new RunSpec(Scenarios.Cold, Ring, 1, file, 0.05, 0.05, evictEvery, seed), registered: true);
            // The async layer in both continuation modes (its state machines, the engine loop, the completion batches).
            _ = AsyncContender.Run(new RunSpec(Scenarios.Hot, Async, 32, file, 0.05, 0.05, evictEvery, seed), group: false, ContinuationMode.ThreadPool);
            _ = AsyncContender.Run(new RunSpec(Scenarios.Hot, AsyncInline, 32, file, 0.05, 0.05, evictEvery, seed), group: true, ContinuationMode.Inline);
            // The default engines (created here, once for the process) and the newcomer's code path.
            _ = DefaultContender.Run(new RunSpec(Scenarios.Hot, Default, 32, file, 0.05, 0.05, evictEvery, seed));
        }

        // Every seq code path over the first 16 MiB, twice (JIT and tiering outside the measured passes).
        for (int i = 0; i < 2; i++)
        {
            foreach (string c in SeqContenders.Cases)
            {
                foreach (string contender in SeqContenders.ContendersOf(c))
                {
                    _ = SeqContenders.Run(new Row(Scenarios.Seq, contender, 1) { Case = c, Buffer = SeqContenders.Buffers[0] }, file, 16 << 20);
                }
            }
        }
    }

    private static List<Row> BuildRows(CompareOptions o, NativeTwin twin, Fio fio, Wrk wrk, bool aspNetCore, List<string> notes)
    {
        var rows = new List<Row>();
        bool Want(string scenario, string contender) =>
            (o.Scenarios is null || o.Scenarios.Contains(scenario)) && (o.Contenders is null || o.Contenders.Contains(contender));
        void Add(string scenario, string contender, IEnumerable<int> qds)
        {
            if (Want(scenario, contender))
            {
                rows.AddRange(qds.Select(q => new Row(scenario, contender, q)));
            }
        }

        bool haveC = twin.Binary is not null;
        bool haveFio = fio.Binary is not null;
        Add(Scenarios.Nop, Ring, o.QueueDepths);
        if (haveC)
        {
            Add(Scenarios.Nop, LiburingC, o.QueueDepths);
        }

        foreach (string s in new[] { Scenarios.Hot, Scenarios.Cold })
        {
            Add(s, Ring, o.QueueDepths);
            Add(s, RingRegistered, o.QueueDepths);
            if (haveC)
            {
                Add(s, LiburingC, o.QueueDepths);
                Add(s, LiburingCRegistered, o.QueueDepths);
            }

            Add(s, Pread, [1]);
            Add(s, PreadPool, [o.PoolThreads]);
            Add(s, RandomAccessAsync, o.QueueDepths);
            Add(s, Default, o.QueueDepths);
            Add(s, Async, o.QueueDepths);
            Add(s, AsyncInline, o.QueueDepths);
            Add(s, AsyncGroup, o.QueueDepths);
            Add(s, AsyncGroupInline, o.QueueDepths);
            if (o.Contenders is not null)
            {
                // Opt-in: the fixed-file and registered-buffer A/B of the same engine.
                Add(s, AsyncPlainFd, o.QueueDepths);
                Add(s, AsyncInlinePlainFd, o.QueueDepths);
                Add(s, AsyncUnregistered, o.QueueDepths);
                Add(s, AsyncInlineUnregistered, o.QueueDepths);
            }

            if (haveFio)
            {
                Add(s, FioUring, o.QueueDepths);
                Add(s, FioPsync, new[] { 1, o.PoolThreads }.Distinct());
            }
        }

        foreach (string c in SeqContenders.Cases)
        {
            foreach (int buffer in SeqContenders.Buffers)
            {
                foreach (string contender in SeqContenders.ContendersOf(c))
                {
                    if (Want(Scenarios.Seq, contender))
                    {
                        rows.Add(new Row(Scenarios.Seq, contender, 1) { Case = c, Buffer = buffer });
                    }
                }
            }
        }

        if (wrk.Binary is not null)
        {
            foreach (string contender in HttpContenders.All.Concat(o.Contenders is null ? [] : HttpContenders.OptIn))
            {
                string sample = HttpContenders.ServerOf(contender).Sample;
                if (!Want(Scenarios.Http, contender) || (sample == "AspNetCorePlaintext" && !aspNetCore))
                {
                    continue;
                }

                if (HttpContenders.SampleDll(sample) is null)
                {
                    notes.Add($"`{contender}` was not run: samples/{sample} is not built next to the runner.");
                    continue;
                }

                foreach ((int connections, int pipeline) in o.HttpShapes(contender))
                {
                    rows.Add(new Row(Scenarios.Http, contender, connections, pipeline));
                }
            }
        }

        return rows;
    }

    /// <summary>How long one run of <paramref name="row"/> is meant to take: its warm-up and its measuring time.</summary>
    private static double PlannedSeconds(Row row, CompareOptions o, HttpOptions http) => row.Scenario switch
    {
        Scenarios.Http => http.Seconds + http.WarmupSeconds,
        // One pass over the file; an estimate at ~1 GB/s (a copy moves it twice).
        Scenarios.Seq => o.FileSize / 1e9 * (row.Case == SeqContenders.Copy ? 2 : 1),
        _ => o.Seconds + o.Warmup,
    };

    private static void RunHttp(Row row, Wrk wrk, CompareOptions o, HttpOptions baseShape, int round, TextWriter log)
    {
        HttpOptions http = baseShape with { Connections = row.Qd, Pipeline = row.Pipeline, WrkThreads = Math.Min(baseShape.WrkThreads, row.Qd) };
        var spec = new RunSpec(row.Scenario, row.Contender, row.Qd, null, http.Seconds, http.WarmupSeconds, 0, o.Seed);
        try
        {
            RunResult r = HttpContenders.Run(spec, wrk, http, log);
            row.Runs.Add(r);
            long ops = r.OpsForCosts;
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"round {round + 1}/{o.Rounds} http {row.Contender,-22} c {row.Qd,4} p {row.Pipeline,2}: {r.OpsPerSecond,12:N0} req/s  p99 {r.P99Milliseconds:F2} ms  server cpu {r.CpuMicroseconds / (double)ops:F2} us/req  ctx {(r.VoluntarySwitches + r.InvoluntarySwitches) / (double)ops:F3}/req  alloc {r.AllocatedBytes / ops:F3} B/req  threads {r.Threads}"));
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception or UnauthorizedAccessException or FormatException)
        {
            row.Failure = e.Message.ReplaceLineEndings(" ");
            log.WriteLine($"round {round + 1} http {row.Contender}: FAILED: {row.Failure}");
        }
    }

    private static void RunSeq(Row row, DataFile file, CompareOptions o, int round, TextWriter log)
    {
        try
        {
            RunResult r = SeqContenders.Run(row, file);
            row.Runs.Add(r);
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"round {round + 1}/{o.Rounds} seq  {row.Case,-11} {row.Buffer >> 10,5} KiB {row.Contender,-18}: {r.Ops / r.ElapsedSeconds / 1e6,8:N0} MB/s  cpu {r.CpuMicroseconds / 1000.0 / (r.Ops / (double)(1 << 30)),7:F0} ms/GiB  ctx {(r.VoluntarySwitches + r.InvoluntarySwitches) / (r.Ops / (double)(1 << 20)),6:F2}/MiB  threads {r.Threads}"));
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or IoUringException or UnauthorizedAccessException or ObjectDisposedException)
        {
            row.Failure = e.Message.ReplaceLineEndings(" ");
            log.WriteLine($"round {round + 1} seq {row.Case} {row.Buffer >> 10} KiB {row.Contender}: FAILED: {row.Failure}");
        }
    }

    private static void RunOne(Row row, DataFile file, NativeTwin twin, Fio fio, CompareOptions o, long evictEvery, ulong seed, int round, TextWriter log)
    {
        bool nop = row.Scenario == Scenarios.Nop;
        var spec = new RunSpec(row.Scenario, row.Contender, row.Qd, nop ? null : file, o.Seconds, o.Warmup, evictEvery, seed);
        if (row.Scenario == Scenarios.Hot)
        {
            double hot = file.EnsureHot();
            if (hot < 0.999)
            {
                log.WriteLine($"warning: only {hot:P1} of the data file is in the page cache for the hot run");
            }
        }

        // Leave the runner's own garbage (previous runs, JSON parsing) out of the window.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        try
        {
            RunResult r = row.Contender switch
            {
                Ring => RingContender.Run(spec, registered: false),
                RingRegistered => RingContender.Run(spec, registered: true),
                Pread => PreadContender.Run(spec),
                PreadPool => PreadPoolContender.Run(spec),
                RandomAccessAsync => RandomAccessContender.Run(spec),
                Default => DefaultContender.Run(spec),
                Async => AsyncContender.Run(spec, group: false, ContinuationMode.ThreadPool),
                AsyncInline => AsyncContender.Run(spec, group: false, ContinuationMode.Inline),
                AsyncGroup => AsyncContender.Run(spec, group: true, ContinuationMode.ThreadPool),
                AsyncGroupInline => AsyncContender.Run(spec, group: true, ContinuationMode.Inline),
                AsyncPlainFd => AsyncContender.Run(spec, group: false, ContinuationMode.ThreadPool, fixedFiles: false),
                AsyncInlinePlainFd => AsyncContender.Run(spec, group: false, ContinuationMode.Inline, fixedFiles: false),
                AsyncUnregistered => AsyncContender.Run(spec, group: false, ContinuationMode.ThreadPool, registeredBuffers: false),
                AsyncInlineUnregistered => AsyncContender.Run(spec, group: false, ContinuationMode.Inline, registeredBuffers: false),
                LiburingC => twin.Run(spec, registered: false),
                LiburingCRegistered => twin.Run(spec, registered: true),
                FioUring => fio.Run(spec, uring: true),
                FioPsync => fio.Run(spec, uring: false),
                _ => throw new ArgumentException($"unknown contender {row.Contender}"),
            };
            row.Runs.Add(r);
            string hit = r.Misses is long m && r.Ops > 0 ? $" hit {Math.Max(0, 1 - ((double)m / r.Ops)):P1} ({m:N0} misses{(r.DevicePages is long d ? $", device read {d:N0} pages" : string.Empty)} / {r.Ops:N0} reads)" : string.Empty;
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"round {round + 1}/{o.Rounds} {row.Scenario,-4} {row.Contender,-22} qd {row.Qd,3}: {r.OpsPerSecond,12:N0} ops/s  cpu {r.CpuMicroseconds / (double)Math.Max(1, r.Ops):F2} us/op{(r.UserMicroseconds >= 0 ? $" (user {r.UserMicroseconds * 1000.0 / Math.Max(1, r.Ops):F0} ns/op)" : string.Empty)}{hit}{(r.AllocatedBytes > 0 ? $" alloc {r.AllocatedBytes:N0} B" : string.Empty)}"));
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or IoUringException or TimeoutException or System.Text.Json.JsonException or System.ComponentModel.Win32Exception or UnauthorizedAccessException)
        {
            row.Failure = e.Message.ReplaceLineEndings(" ");
            log.WriteLine($"round {round + 1} {row.Scenario} {row.Contender} qd {row.Qd}: FAILED: {row.Failure}");
        }
    }
}

/// <summary>Settings and machine facts printed above the table.</summary>
internal sealed class RunHeader(CompareOptions options, string storage, string? liburing, string? fio, string loadStart)
{
    public CompareOptions Options { get; } = options;

    public string Storage { get; } = storage;

    public string? Liburing { get; } = liburing;

    public string? Fio { get; } = fio;

    public string LoadAverageStart { get; } = loadStart;

    public string LoadAverageEnd { get; set; } = "?";

    public long EvictEvery { get; set; }

    public double TotalSeconds { get; set; }

    public string? Wrk { get; init; }

    public HttpOptions? Http { get; init; }
}
