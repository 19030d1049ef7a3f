namespace IoUring.Tests;

/// <summary>Theory data over the engine's continuation modes, and an engine in one of them.</summary>
public static class EngineModes
{
    /// <summary>Both modes: continuations on the thread pool, and inline on the engine's loop.</summary>
    public static TheoryData<ContinuationMode> Both => new() { ContinuationMode.ThreadPool, ContinuationMode.Inline };

    /// <summary>Skips the test where io_uring is unusable; otherwise a new engine whose continuations run as <paramref name="mode"/> says.</summary>
    public static IoUringEngine NewEngine(ContinuationMode mode)
    {
        Kernel.RequireIoUring();
        return new IoUringEngine(new IoUringEngineOptions { Continuations = mode });
    }
}
