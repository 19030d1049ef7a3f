using System.Diagnostics;

namespace IoUring.Stress.Soak;

/// <summary>
/// The soak: random mixed reads, writes, fsyncs, cancels, timeouts and linked chains over several files for a set
/// time, every byte read checked against an in-memory model and every file checked by SHA-256 at the end. Reports
/// operations by kind, negative results by errno, descriptors and pinned memory before and after, GC heap and peak
/// RSS; exits 1 on any verification failure, leak or hang.
/// </summary>
public static class SoakCommand
{
    /// <summary>Runs the driver named by <c>--driver</c>: <c>ring</c> (default), <c>async</c> (the engine, files and streams) or <c>sockets</c> (listeners, connections, pipes and streams over loopback).</summary>
    public static int Run(Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.String("driver") switch
        {
            null or "ring" => Run(options, new RingSoakDriver()),
            "async" => Run(options, new AsyncSoakDriver()),
            "sockets" => Run(options, new SocketSoakDriver()),
            string other => throw new FormatException($"--driver must be ring, async or sockets, got '{other}'"),
        };
    }

    public static int Run(Options options, ISoakDriver driver)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(driver);
        var config = new SoakConfig(
            Seconds: options.Double("seconds", 30),
            Files: (int)options.Long("files", 4),
            Seed: (int)options.Long("seed", 1),
            FileBytes: (int)(options.Double("file-mb", 4) * (1 << 20)),
            Entries: (uint)options.Long("entries", 32),
            MaxInFlight: (int)options.Long("max-in-flight", 48),
            MaxOpBytes: (int)options.Long("max-op-kb", 64) * 1024);
        if (config.Files < 1 || config.FileBytes < config.MaxOpBytes || config.Seconds <= 0)
        {
            throw new FormatException("need --files >= 1, --seconds > 0 and files at least --max-op-kb large");
        }

        SoakReport report = Execute(config, driver);
        Console.Write(report.ToText());
        if (options.String("json") is string path)
        {
            using FileStream f = File.Create(path);
            report.WriteJson(f);
            Console.WriteLine($"  json report: {path}");
        }

        return report.Passed ? 0 : 1;
    }

    public static SoakReport Execute(SoakConfig config, ISoakDriver driver)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(driver);
        Warmup(driver, config);
        int fdsBefore = ProcessStats.OpenFds();
        SortedDictionary<int, string> fdMapBefore = ProcessStats.FdTargets();
        int pinnedBefore = ProcessStats.PinnedForeverObjects();
        var stats = new SoakStats();
        var clock = Stopwatch.StartNew();
        SoakDriverResult result;
        string[] digests;
        using (var files = new SoakFiles(config.Files, config.FileBytes, config.Seed))
        {
            result = driver.Run(files, stats, config);
            (digests, List<string> mismatches) = files.FinalChecksums();
            mismatches.ForEach(stats.Fail);
            if (files.Reservations != 0)
            {
                stats.Fail($"{files.Reservations} range reservations left at the end");
            }
        }

        double elapsed = clock.Elapsed.TotalSeconds;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        List<string> leaked = ProcessStats.NewFds(fdMapBefore);
        int fdsAfter = ProcessStats.OpenFds();
        GCMemoryInfo gc = GC.GetGCMemoryInfo();
        return new SoakReport
        {
            Driver = driver.Name,
            Seed = config.Seed,
            SecondsRequested = config.Seconds,
            SecondsElapsed = elapsed,
            Files = config.Files,
            FileBytes = config.FileBytes,
            Kernel = IoUringSupport.KernelRelease(),
            Stats = stats,
            FdsBefore = fdsBefore,
            FdsAfter = fdsAfter,
            LeakedFds = fdsAfter > fdsBefore ? leaked : [],
            PinnedForeverBefore = pinnedBefore,
            PinnedForeverAfter = ProcessStats.PinnedForeverObjects(),
            ExpectedPinnedForever = result.ExpectedPinnedForever,
            RegisteredBytesDuringRun = result.RegisteredBytes,
            RingInFlightAtEnd = result.InFlightAtEnd,
            CqOverflowDropped = result.CqOverflowDropped,
            GcHeapBytesAtEnd = gc.HeapSizeBytes,
            GcAllocatedBytes = GC.GetTotalAllocatedBytes(),
            Gen0Collections = GC.CollectionCount(0),
            Gen2Collections = GC.CollectionCount(2),
            PeakRssBytes = ProcessStats.PeakRssBytes(),
            FileSha256 = digests,
        };
    }

    /// <summary>
    /// Runs the same workload briefly on its own files first, so that everything the runtime opens lazily (assembly
    /// files, the thread pool's descriptors) is open before the descriptors are counted.
    /// </summary>
    private static void Warmup(ISoakDriver driver, SoakConfig config)
    {
        SoakConfig brief = config with { Seconds = 0.3, Files = 1, Seed = config.Seed ^ 0x5eed };
        var stats = new SoakStats();
        using (var files = new SoakFiles(brief.Files, brief.FileBytes, brief.Seed))
        {
            _ = driver.Run(files, stats, brief);
            _ = files.FinalChecksums();
        }

        _ = new SoakReport
        {
            Driver = driver.Name, Seed = 0, SecondsRequested = 0, SecondsElapsed = 0, Files = 0, FileBytes = 0, Kernel = string.Empty,
            Stats = stats, FdsBefore = 0, FdsAfter = 0, LeakedFds = [], PinnedForeverBefore = 0, PinnedForeverAfter = 0,
            RegisteredBytesDuringRun = 0, RingInFlightAtEnd = 0, CqOverflowDropped = 0, GcHeapBytesAtEnd = 0, GcAllocatedBytes = 0,
            Gen0Collections = 0, Gen2Collections = 0, PeakRssBytes = 0, FileSha256 = [],
        }.ToText();

        using (var ring = new Ring(2))
        {
            ring.GetSqe().PrepNop();
            ring.SubmitAndWait(1);
            ring.CqeSeen(ring.WaitCqe());
        }

        string path = Path.Combine(Path.GetTempPath(), $"iouring-soak-warmup-{Environment.ProcessId}");
        File.WriteAllBytes(path, new byte[16]);
        using (Microsoft.Win32.SafeHandles.SafeFileHandle h = File.OpenHandle(path))
        {
            _ = RandomAccess.Read(h, new byte[16], 0);
        }

        File.Delete(path);
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }
}
