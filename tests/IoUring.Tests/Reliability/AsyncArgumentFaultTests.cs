// The operations under test take their own tokens (or none, on purpose); the test's token would change what is tested.
#pragma warning disable xUnit1051

namespace IoUring.Tests.Reliability;

/// <summary>Arguments of the async layer that the fuzzer found accepted with a wrong meaning, now refused or honoured.</summary>
public sealed class AsyncArgumentFaultTests
{
    [UringFact]
    public async Task A_path_with_an_embedded_NUL_is_refused_instead_of_opening_the_prefix()
    {
        using var temp = new TempFile(4096, seed: 4);
        using var engine = new IoUringEngine();
        string path = temp.Path + "\0.other";

        // Before the fix the kernel read the path up to the NUL and opened temp.Path.
        await Assert.ThrowsAsync<ArgumentException>(async () => await engine.OpenAsync(path, 0));
        await Assert.ThrowsAsync<ArgumentException>(async () => await engine.StatAsync(path));
        await Assert.ThrowsAsync<ArgumentException>(async () => await UringFile.OpenAsync(engine, path, FileMode.Open));
        Assert.Throws<ArgumentException>(() => File.OpenHandle(path));

        // The engine is unaffected.
        using UringFile ok = await UringFile.OpenAsync(engine, temp.Path, FileMode.Open);
        Assert.Equal(4096, await ok.GetLengthAsync());
    }

    [UringTheory]
    [InlineData(-1L)] // Timeout.InfiniteTimeSpan in milliseconds
    [InlineData(long.MaxValue)] // TimeSpan.MaxValue in ticks
    public async Task An_infinite_or_huge_DisposeTimeout_waits_for_the_kernel_instead_of_abandoning_every_operation(long value)
    {
        TimeSpan timeout = value == -1 ? Timeout.InfiniteTimeSpan : TimeSpan.MaxValue;
        using var pipe = new TestPipe();
        var engine = new IoUringEngine(new IoUringEngineOptions { DisposeTimeout = timeout });
        byte[] buffer = Enumerable.Repeat((byte)0x42, 16).ToArray();
        Task<int> read = engine.ReadAsync(pipe.Read, buffer, -1).AsTask();
        await Wait.UntilAsync(() => engine.OperationsInFlight == 1, "the read is in the kernel");

        engine.Dispose();

        // Before the fix the deadline overflowed: Dispose gave up at once, the read never completed and its buffer
        // stayed pinned forever.
        await Assert.ThrowsAsync<ObjectDisposedException>(() => read.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, engine.AbandonedOperations);
        Assert.Equal(0, engine.OperationsInFlight);
    }

    [UringFact]
    public void Negative_DisposeTimeouts_and_unknown_continuation_modes_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new IoUringEngine(new IoUringEngineOptions { DisposeTimeout = TimeSpan.FromSeconds(-1) }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new IoUringEngine(new IoUringEngineOptions { DisposeTimeout = TimeSpan.MinValue }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new IoUringEngine(new IoUringEngineOptions { Continuations = (ContinuationMode)7 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new IoUringEngineGroup(2, new IoUringEngineOptions { DisposeTimeout = TimeSpan.FromTicks(-5) }));
        using var zero = new IoUringEngine(new IoUringEngineOptions { DisposeTimeout = TimeSpan.Zero });
    }
}
