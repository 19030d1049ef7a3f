namespace IoUring;

/// <summary>
/// Several <see cref="IoUringEngine"/>s, by default one per processor, so I/O completion work spreads over the cores.
/// Pick an engine per operation with <see cref="Current"/> (the engine for the core the caller runs on) or
/// <see cref="Next"/> (round robin); a <see cref="UringFile"/> opened on a group does that for you.
/// </summary>
public sealed class IoUringEngineGroup : IDisposable, IAsyncDisposable
{
    private static readonly Lazy<IoUringEngineGroup> s_default = new(() => new IoUringEngineGroup(0, new IoUringEngineOptions { ThreadName = "io_uring default" }));

    private readonly IoUringEngine[] _engines;
    private int _next;

    /// <summary>Creates <paramref name="engineCount"/> engines.</summary>
    /// <param name="engineCount">How many engines; 0 for one per processor (<see cref="Environment.ProcessorCount"/>).</param>
    /// <param name="options">Options for every engine (its thread name gets the engine's index appended).</param>
    /// <exception cref="IoUringSetupException">io_uring is unavailable.</exception>
    public IoUringEngineGroup(int engineCount = 0, IoUringEngineOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(engineCount);
        if (engineCount == 0)
        {
            engineCount = Environment.ProcessorCount;
        }

        options ??= new IoUringEngineOptions();
        _engines = new IoUringEngine[engineCount];
        try
        {
            for (int i = 0; i < engineCount; i++)
            {
                _engines[i] = new IoUringEngine(options.ForGroupMember(i)) { Group = this };
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
    /// A process-wide group with one engine per processor and thread-pool continuations, created on first use and
    /// never disposed. <see cref="UringRandomAccess"/> uses it.
    /// </summary>
    public static IoUringEngineGroup Default => s_default.Value;

    /// <summary>The engines.</summary>
    public IReadOnlyList<IoUringEngine> Engines => _engines;

    /// <summary>Number of engines.</summary>
    public int Count => _engines.Length;

    /// <summary>
    /// The engine to use from the calling thread: the engine whose loop this is (for inline continuations), otherwise
    /// the engine for the processor the thread runs on now.
    /// </summary>
    public IoUringEngine Current
    {
        get
        {
            IoUringEngine? loop = IoUringEngine.CurrentLoopEngine;
            if (loop is not null && ReferenceEquals(loop.Group, this))
            {
                return loop;
            }

            IoUringEngine[] engines = _engines;
            return engines[(uint)Thread.GetCurrentProcessorId() % (uint)engines.Length];
        }
    }

    /// <summary>The next engine in round-robin order.</summary>
    /// <returns>An engine.</returns>
    public IoUringEngine Next()
    {
        IoUringEngine[] engines = _engines;
        return engines[(uint)Interlocked.Increment(ref _next) % (uint)engines.Length];
    }

    /// <summary>Disposes every engine (see <see cref="IoUringEngine.Dispose"/>).</summary>
    public void Dispose()
    {
        foreach (IoUringEngine e in _engines)
        {
            e.Dispose();
        }
    }

    /// <summary>Disposes every engine asynchronously.</summary>
    /// <returns>A task that completes when all engines have stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        foreach (IoUringEngine e in _engines)
        {
            await e.DisposeAsync().ConfigureAwait(false);
        }
    }
}
