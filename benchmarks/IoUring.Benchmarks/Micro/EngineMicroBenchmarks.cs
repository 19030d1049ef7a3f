using BenchmarkDotNet.Attributes;
using IoUring.Benchmarks.Compare;
using Microsoft.Win32.SafeHandles;

namespace IoUring.Benchmarks.Micro;

/// <summary>
/// The async engine's hot paths as an application awaits them, with the engine's defaults (continuations on the
/// engine's thread): one awaited NOP, one awaited 4 KiB read of a cached file, and 32 NOPs in flight at once. Each
/// invocation awaits <see cref="Ops"/> operations, so the benchmark's own async state machine (one per invocation) adds
/// under 0.1 B per operation; <see cref="MemoryDiagnoserAttribute"/> shows the rest: 0 B on every row. Used for A/B
/// runs of the engine (for example with and without the IoUring meter's counters).
/// Run: <c>dotnet run -c Release --project benchmarks/IoUring.Benchmarks -- --filter '*EngineMicro*'</c>.
/// </summary>
[MemoryDiagnoser]
public class EngineMicroBenchmarks
{
    /// <summary>Operations awaited per invocation.</summary>
    public const int Ops = 1024;

    private IoUringEngine _engine = null!;
    private SafeFileHandle _handle = null!;
    private string _path = null!;
    private readonly byte[] _buffer = new byte[DataFile.Block];
    private readonly ValueTask[] _batch = new ValueTask[32];
    private SplitMix64 _rng = new(1);
    private ulong _pages;

    [GlobalSetup]
    public void Setup()
    {
        _engine = new IoUringEngine();
        _path = Path.Combine(Path.GetTempPath(), $"iouring-engine-micro-{Guid.NewGuid():N}.dat");
        byte[] data = new byte[16 << 20];
        new Random(1).NextBytes(data);
        File.WriteAllBytes(_path, data);
        _handle = File.OpenHandle(_path);
        _pages = (ulong)data.Length / DataFile.Block;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _engine.Dispose();
        _handle.Dispose();
        File.Delete(_path);
    }

    /// <summary>One NOP awaited at a time (queue depth 1): the engine's round trip with nothing for the kernel to do.</summary>
    [Benchmark(OperationsPerInvoke = Ops)]
    public async Task AwaitNop()
    {
        for (int i = 0; i < Ops; i++)
        {
            await _engine.NopAsync();
        }
    }

    /// <summary>One 4 KiB read of a cached file awaited at a time, at a random page.</summary>
    [Benchmark(OperationsPerInvoke = Ops)]
    public async Task AwaitRead4K()
    {
        for (int i = 0; i < Ops; i++)
        {
            long offset = (long)(_rng.Next() % _pages) * DataFile.Block;
            _ = await _engine.ReadAsync(_handle, _buffer, offset);
        }
    }

    /// <summary>32 NOPs in flight at once, awaited together, <see cref="Ops"/> / 32 times.</summary>
    [Benchmark(OperationsPerInvoke = Ops)]
    public async Task Nop32InFlight()
    {
        for (int round = 0; round < Ops / 32; round++)
        {
            for (int i = 0; i < _batch.Length; i++)
            {
                _batch[i] = _engine.NopAsync();
            }

            for (int i = 0; i < _batch.Length; i++)
            {
                await _batch[i];
            }
        }
    }
}
