namespace IoUring.Tests;

/// <summary>
/// Keeps a read waiting in an engine's ring (on a pipe nobody writes until disposal), so the engine is never idle: a
/// file read is then always a ring request, never one served from the page cache on the spot
/// (<c>IoUringEngine.InlineReads.cs</c>). For tests that count or rewrite ring requests.
/// </summary>
internal sealed class BusyEngine : IAsyncDisposable
{
    private readonly TestPipe _pipe = new();
    private readonly ValueTask<int> _read;

    public BusyEngine(IoUringEngine engine) => _read = engine.ReadAsync(_pipe.Read, new byte[1], -1);

    /// <summary>Ends the waiting read (one byte through the pipe) and checks that it completed.</summary>
    public async ValueTask DisposeAsync()
    {
        _pipe.Put([1]);
        Assert.Equal(1, await _read);
        _pipe.Dispose();
    }
}
