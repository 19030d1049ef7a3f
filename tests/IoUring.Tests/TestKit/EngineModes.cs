namespace IoUring.Tests;

/// <summary>Theory data over the engine's continuation modes.</summary>
public static class EngineModes
{
    /// <summary>Both modes: continuations on the thread pool, and inline on the engine's loop.</summary>
    public static TheoryData<ContinuationMode> Both => new() { ContinuationMode.ThreadPool, ContinuationMode.Inline };
}
