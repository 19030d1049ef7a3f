namespace IoUring.Stress.Fuzz;

/// <summary>
/// <c>fuzz --seed N --iterations M [--seconds S] [--layer ring|async|sockets|http]</c>: runs the fuzzer of the Ring layer (default),
/// of the async layer (engine, groups, UringFile, stream, pipe adapters), of the sockets layer (UringSocket, UringConnection, PinnedBlockMemoryPool)
/// or of the HTTP sample's request parser and framing (<see cref="HttpParserFuzzer"/>), prints the outcome table, exits 1 on any finding.
/// </summary>
public static class FuzzCommand
{
    public static int Run(Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        int seed = (int)options.Long("seed", 1);
        long iterations = options.Long("iterations", 20_000);
        double seconds = options.Double("seconds", 600);
        FuzzResult result = options.String("layer") switch
        {
            null or "ring" => Execute(seed, iterations, seconds),
            "async" when OperatingSystem.IsLinux() => ExecuteAsyncLayer(seed, iterations, seconds),
            "sockets" when OperatingSystem.IsLinux() => ExecuteSocketLayer(seed, iterations, seconds),
            "http" => new HttpParserFuzzer(seed).Run(iterations, seconds),
            string other => throw new FormatException($"--layer must be ring, async, sockets or http, got '{other}'"),
        };
        Console.Write(result.ToText());
        return result.Passed ? 0 : 1;
    }

    /// <summary>Runs one seeded fuzz session of the Ring on the calling thread and returns its result.</summary>
    public static FuzzResult Execute(int seed, long iterations, double maxSeconds) =>
        WarmThenRun(static s => new Fuzzer(s), seed, iterations, maxSeconds, warmupSeconds: 2);

    /// <summary>Runs one seeded fuzz session of the async layer and returns its result.</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public static FuzzResult ExecuteAsyncLayer(int seed, long iterations, double maxSeconds) =>
        WarmThenRun(static s => new AsyncFuzzer(s), seed, iterations, maxSeconds, warmupSeconds: 3);

    /// <summary>Runs one seeded fuzz session of the sockets layer and returns its result.</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public static FuzzResult ExecuteSocketLayer(int seed, long iterations, double maxSeconds) =>
        WarmThenRun(static s => new SocketFuzzer(s), seed, iterations, maxSeconds, warmupSeconds: 3);

    private static FuzzResult WarmThenRun(Func<int, FuzzHarness> create, int seed, long iterations, double maxSeconds, double warmupSeconds)
    {
        // A short run with another seed first, so that what the runtime opens lazily (assembly files, thread-pool
        // descriptors) is open before the descriptors are counted.
        FuzzHarness warmup = create(seed ^ 0x5eed);
        try
        {
            _ = warmup.Run(Math.Min(iterations, 300), warmupSeconds);
        }
        finally
        {
            warmup.Dispose();
        }

        FuzzHarness fuzzer = create(seed);
        try
        {
            _ = fuzzer.Run(iterations, maxSeconds);
        }
        finally
        {
            fuzzer.Dispose();
        }

        return fuzzer.Result;
    }
}
