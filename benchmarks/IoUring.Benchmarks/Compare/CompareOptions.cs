using System.Globalization;

namespace IoUring.Benchmarks.Compare;

/// <summary>Command-line options of <c>compare</c>.</summary>
internal sealed class CompareOptions
{
    public long FileSize { get; set; } = 1L << 30;

    public double Seconds { get; set; } = 3;

    public double Warmup { get; set; } = 0.5;

    public int Rounds { get; set; } = 3;

    public string? JsonPath { get; set; }

    public string? MarkdownPath { get; set; }

    public string? Directory { get; set; }

    public bool Smoke { get; set; }

    /// <summary>Leave the guest's free page reporting on during the run (<see cref="PageReporting"/>).</summary>
    public bool KeepPageReporting { get; set; }

    public HashSet<string>? Scenarios { get; set; }

    public HashSet<string>? Contenders { get; set; }

    public int[] QueueDepths { get; set; } = [1, 32, 128];

    public int PoolThreads { get; set; } = 32;

    public ulong Seed { get; set; } = 12345;

    /// <summary>http: wrk's open connections (-c) of the base rows.</summary>
    public int Connections { get; set; } = 256;

    /// <summary>http: pipelining depth of the extra pipelined rows of the Kestrel contenders (TechEmpower plaintext's 16).</summary>
    public const int PipelinedDepth = 16;

    /// <summary>http: connections of the extra many-connection rows of the Kestrel contenders.</summary>
    public const int ManyConnections = 1024;

    /// <summary>True when --connections or --pipeline was given: then every contender runs that one load shape only.</summary>
    public bool HttpShapeSet { get; set; }

    /// <summary>http: wrk's threads (-t).</summary>
    public int WrkThreads { get; set; } = 2;

    /// <summary>http: requests pipelined per write (1 = plain keep-alive).</summary>
    public int Pipeline { get; set; } = 1;

    /// <summary>http: HttpPlaintext's <c>--pool</c> (default: each transport's own pool; pinned: a retaining block pool for both).</summary>
    public string ServerPool { get; set; } = "default";

    public const string Usage = """
        usage: compare [--size 1g] [--seconds 3] [--rounds 3] [--warmup 0.5] [--json PATH] [--markdown PATH]
                       [--smoke] [--dir DIR] [--scenarios nop,hot,cold,seq,http] [--contenders ring,pread,...]
                       [--qd 1,32,128] [--threads 32] [--seed 12345] [--connections 256] [--wrk-threads 2]
                       [--pipeline 1] [--server-pool default|pinned] [--keep-page-reporting]
          --size       data file size (k/m/g suffixes); the file is created in DIR (default: the temp dir) and deleted
          --seconds    measured time of each run;  --warmup: unmeasured time before it, in the same run
          --rounds     every contender runs once per round, in rotating order; the table shows medians
          --smoke      64 MiB file, 0.3 s runs, 0.1 s warm-up, 1 round (CI); http: 1 s wrk runs
          --connections, --wrk-threads, --pipeline: the http scenario's wrk load (whole seconds: wrk runs for
                       max(1, ceil(seconds)) after a warm-up run of max(5, ceil(warmup)) s, 1 s with --smoke).
                       By default every contender runs 256 connections without pipelining, and the kestrel-*
                       contenders also 256 connections with 16 requests pipelined per write (wrk Lua script, as
                       TechEmpower plaintext) and 1024 connections; --connections or --pipeline runs only that shape
          --keep-page-reporting  leave a VM's free page reporting (virtio-balloon) on; by default it is paused
                       for the run (root only) and restored, since it makes writes into freed memory 5-10x dearer
          --server-pool  the sockets-* servers' pipe memory: each transport's default pool, or one pinned block
                       pool that keeps its blocks, for both
        scenarios: nop, hot, cold, seq, http
          seq: one pass over the data file per run (hot and cold reads, writes with and without fsync, a copy),
                       64 KiB and 1 MiB buffers; contenders filestream-async, filestream-sync, pipe-filestream,
                       copyto-filestream, uring-stream, uring-pipe, uring-copy
        contenders: ring, ring-registered, pread, pread-pool, randomaccess-async, default, async, async-inline, async-group,
                    async-group-inline, liburing-c, liburing-c-registered, fio-io_uring, fio-psync;
                    http: sockets-iouring, sockets-iouring-inline, sockets-dotnet, kestrel-iouring, kestrel-dotnet,
                    kestrel-dotnet-inline; only when named: kestrel-iouring-1engine
        """;

    public static CompareOptions Parse(string[] args)
    {
        var o = new CompareOptions();
        bool sizeSet = false, secondsSet = false, roundsSet = false, warmupSet = false;
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            if (a is "--smoke")
            {
                o.Smoke = true;
                continue;
            }

            if (a is "--keep-page-reporting")
            {
                o.KeepPageReporting = true;
                continue;
            }

            if (a is "-h" or "--help")
            {
                throw new ArgumentException(Usage);
            }

            if (i + 1 >= args.Length)
            {
                throw new ArgumentException($"{a} needs a value.\n{Usage}");
            }

            string v = args[++i];
            switch (a)
            {
                case "--size":
                    o.FileSize = ParseSize(v);
                    sizeSet = true;
                    break;
                case "--seconds":
                    o.Seconds = ParseDouble(a, v);
                    secondsSet = true;
                    break;
                case "--warmup":
                    o.Warmup = ParseDouble(a, v);
                    warmupSet = true;
                    break;
                case "--rounds":
                    o.Rounds = int.Parse(v, CultureInfo.InvariantCulture);
                    roundsSet = true;
                    break;
                case "--json":
                    o.JsonPath = v;
                    break;
                case "--markdown":
                    o.MarkdownPath = v;
                    break;
                case "--dir":
                    o.Directory = v;
                    break;
                case "--scenarios":
                    o.Scenarios = [.. v.Split(',', StringSplitOptions.RemoveEmptyEntries)];
                    break;
                case "--contenders":
                    o.Contenders = [.. v.Split(',', StringSplitOptions.RemoveEmptyEntries)];
                    break;
                case "--qd":
                    o.QueueDepths = [.. v.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture))];
                    break;
                case "--threads":
                    o.PoolThreads = int.Parse(v, CultureInfo.InvariantCulture);
                    break;
                case "--connections":
                    o.Connections = int.Parse(v, CultureInfo.InvariantCulture);
                    o.HttpShapeSet = true;
                    break;
                case "--wrk-threads":
                    o.WrkThreads = int.Parse(v, CultureInfo.InvariantCulture);
                    break;
                case "--pipeline":
                    o.Pipeline = int.Parse(v, CultureInfo.InvariantCulture);
                    o.HttpShapeSet = true;
                    break;
                case "--server-pool":
                    o.ServerPool = v is "default" or "pinned" ? v : throw new ArgumentException($"--server-pool: '{v}' is not default or pinned.");
                    break;
                case "--seed":
                    o.Seed = ulong.Parse(v, CultureInfo.InvariantCulture);
                    break;
                default:
                    throw new ArgumentException($"Unknown option {a}.\n{Usage}");
            }
        }

        if (o.Smoke)
        {
            o.FileSize = sizeSet ? o.FileSize : 64L << 20;
            o.Seconds = secondsSet ? o.Seconds : 0.3;
            o.Warmup = warmupSet ? o.Warmup : 0.1;
            o.Rounds = roundsSet ? o.Rounds : 1;
        }

        if (o.FileSize < 1 << 20 || o.Seconds <= 0 || o.Warmup < 0 || o.Rounds < 1 || o.PoolThreads < 1 ||
            o.QueueDepths.Length == 0 || o.QueueDepths.Any(q => q is < 1 or > 4096) ||
            o.Connections is < 1 or > 10_000 || o.WrkThreads < 1 || o.WrkThreads > o.Connections || o.Pipeline is < 1 or > 1024)
        {
            throw new ArgumentException($"Out-of-range option: size >= 1m, seconds > 0, warmup >= 0, rounds >= 1, threads >= 1, qd 1..4096, connections 1..10000, wrk-threads 1..connections, pipeline 1..1024.\n{Usage}");
        }

        o.FileSize -= o.FileSize % 4096;
        return o;
    }

    /// <summary>The http load shapes (connections, pipelining depth) of a contender: the base shape first.</summary>
    public IEnumerable<(int Connections, int Pipeline)> HttpShapes(string contender)
    {
        yield return (Connections, Pipeline);
        if (!HttpShapeSet && HttpContenders.IsKestrel(contender))
        {
            yield return (Connections, PipelinedDepth);
            yield return (ManyConnections, 1);
        }
    }

    /// <summary>The http scenario's settings of the base shape (wrk takes whole seconds).</summary>
    public HttpOptions Http()
    {
        int seconds = Math.Max(1, (int)Math.Ceiling(Seconds));
        // Kestrel's request path is large: on a busy 2-core machine tiered JIT was still compiling 2 s in.
        int warmup = Smoke ? 1 : Math.Max(5, (int)Math.Ceiling(Warmup));
        return new HttpOptions(Connections, WrkThreads, Pipeline, seconds, warmup, ServerPool);
    }

    private static double ParseDouble(string name, string v) =>
        double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double d)
            ? d
            : throw new ArgumentException($"{name}: '{v}' is not a number.");

    internal static long ParseSize(string v)
    {
        string s = v.Trim().ToLowerInvariant().TrimEnd('b', 'i');
        long mult = 1;
        if (s.Length > 0 && char.IsLetter(s[^1]))
        {
            mult = s[^1] switch
            {
                'k' => 1L << 10,
                'm' => 1L << 20,
                'g' => 1L << 30,
                't' => 1L << 40,
                _ => throw new ArgumentException($"--size: unknown suffix in '{v}' (use k, m, g)."),
            };
            s = s[..^1];
        }

        return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double n) && n > 0
            ? (long)(n * mult)
            : throw new ArgumentException($"--size: '{v}' is not a size.");
    }
}
