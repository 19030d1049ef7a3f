namespace IoUring;

/// <summary>
/// Several <see cref="IoUringEngine"/>s, by default one per processor, so I/O completion work spreads over the cores.
/// Pick an engine per operation with <see cref="Current"/> (the engine for the core the caller runs on) or
/// <see cref="Next"/> (round robin); a <see cref="UringFile"/> opened on a group does that for you.
/// </summary>
public sealed class IoUringEngineGroup : IDisposable, IAsyncDisposable
{
    /// <summary>How long the default group's engines wait for the kernel at process exit.</summary>
    private static readonly TimeSpan DefaultDisposeTimeout = TimeSpan.FromSeconds(2);

    private static readonly Lazy<IoUringEngineGroup> s_default = new(CreateDefault);

    private readonly IoUringEngine[] _engines;
    private int _next;

    /// <summary>Creates <paramref name="engineCount"/> engines.</summary>
    /// <param name="engineCount">How many engines; 0 for one per processor (<see cref="Environment.ProcessorCount"/>).</param>
    /// <param name="options">Options for every engine (its thread name gets the engine's index appended).</param>
    /// <exception cref="IoUringSetupException">io_uring is unavailable.</exception>
    public IoUringEngineGroup(int engineCount = 0, IoUringEngineOptions? options = null)
        : this(engineCount, options, isDefault: false)
    {
    }

    private IoUringEngineGroup(int engineCount, IoUringEngineOptions? options, bool isDefault)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(engineCount);
        if (engineCount == 0)
        {
            engineCount = Environment.ProcessorCount;
        }

        IsDefault = isDefault;
        options ??= new IoUringEngineOptions();
        _engines = new IoUringEngine[engineCount];
        try
        {
            for (int i = 0; i < engineCount; i++)
            {
                _engines[i] = new IoUringEngine(options.ForGroupMember(i)) { Group = this, GroupIndex = i };
            }
        }
        catch
        {
            foreach (IoUringEngine? e in _engines)
            {
                e?.Dispose();
            }

            throw;
        }
    }

    /// <summary>
    /// The process-wide group that the engine-less entry points use (<see cref="UringFile.Open(string, FileMode, FileAccess, FileShare, FileOptions)"/>,
    /// <see cref="UringFile.OpenAsync(string, FileMode, FileAccess, CancellationToken)"/>, <see cref="UringRandomAccess"/>,
    /// <see cref="UringSocket.Listen(System.Net.EndPoint, UringSocketOptions?)"/>): one engine per processor with default
    /// options (continuations on the engine threads, handed off when one blocks), created on first use and stopped at
    /// process exit (<see cref="AppDomain.ProcessExit"/>), after waiting up to 2 s for requests still in the kernel.
    /// </summary>
    /// <exception cref="IoUringSetupException">io_uring is unavailable here; the message says why (every access throws it again).</exception>
    public static IoUringEngineGroup Default => s_default.Value;

    /// <summary>True for <see cref="Default"/>, which only the process exit stops.</summary>
    public bool IsDefault { get; }

    /// <summary>The engines.</summary>
    public IReadOnlyList<IoUringEngine> Engines => _engines;

    /// <summary>Number of engines.</summary>
    public int Count => _engines.Length;

    /// <summary>
    /// The engine to use from the calling thread: the engine whose thread this is (a continuation running on it),
    /// otherwise the engine for the processor the thread runs on now.
    /// </summary>
    public IoUringEngine Current
    {
        get
        {
            if (LoopEngineOfThisGroup() is IoUringEngine loop)
            {
                return loop;
            }

            IoUringEngine[] engines = _engines;
            return engines[(uint)Thread.GetCurrentProcessorId() % (uint)engines.Length];
        }
    }

    /// <summary>
    /// The engine for an operation the calling thread starts: the engine whose thread this is (a continuation running on
    /// it keeps its next request there, with no wake-up), otherwise the next in round-robin order. A file on a group
    /// uses this rather than <see cref="Current"/>: the engines' threads are not pinned to cores, so the core a caller
    /// runs on says nothing about which engine is near, and loops started from a few thread-pool threads that happened
    /// to run on one core all stuck to that core's engine (the compare runner's <c>default</c> at QD 32 measured
    /// 625 K-1.2 M reads/s from round to round, one engine busy or both).
    /// </summary>
    internal IoUringEngine ForOperation() => LoopEngineOfThisGroup() ?? Next();

    /// <summary>The engine of this group whose loop runs on the calling thread, or null (another group's, or none).</summary>
    private IoUringEngine? LoopEngineOfThisGroup()
    {
        IoUringEngine? loop = IoUringEngine.CurrentLoopEngine;
        return loop is not null && ReferenceEquals(loop.Group, this) ? loop : null;
    }

    /// <summary>The next engine in round-robin order.</summary>
    /// <returns>An engine.</returns>
    public IoUringEngine Next()
    {
        IoUringEngine[] engines = _engines;
        return engines[(uint)Interlocked.Increment(ref _next) % (uint)engines.Length];
    }

    /// <summary>Disposes every engine (see <see cref="IoUringEngine.Dispose"/>).</summary>
    /// <exception cref="InvalidOperationException">This is <see cref="Default"/>, which the process exit stops.</exception>
    public void Dispose()
    {
        ThrowIfDefault();
        DisposeEngines();
    }

    /// <summary>Disposes every engine asynchronously.</summary>
    /// <returns>A task that completes when all engines have stopped.</returns>
    /// <exception cref="InvalidOperationException">This is <see cref="Default"/>, which the process exit stops.</exception>
    public async ValueTask DisposeAsync()
    {
        ThrowIfDefault();
        foreach (IoUringEngine e in _engines)
        {
            await e.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void ThrowIfDefault()
    {
        if (IsDefault)
        {
            throw new InvalidOperationException("IoUringEngineGroup.Default is shared by the whole process and stops at process exit; create a group of your own to control its lifetime.");
        }
    }

    private void DisposeEngines()
    {
        // Start every engine's shutdown first, so they drain in parallel, then wait for each.
        foreach (IoUringEngine e in _engines)
        {
            _ = e.DisposeAsync();
        }

        foreach (IoUringEngine e in _engines)
        {
            e.Dispose();
        }
    }

    private static IoUringEngineGroup CreateDefault()
    {
        var group = new IoUringEngineGroup(0, new IoUringEngineOptions { ThreadName = "io_uring default", DisposeTimeout = DefaultDisposeTimeout }, isDefault: true);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => group.DisposeEngines();
        return group;
    }
}
