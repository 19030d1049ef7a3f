using BenchmarkDotNet.Attributes;
using IoUring.Benchmarks.Compare;
using IoUring.Interop;
using Microsoft.Win32.SafeHandles;

namespace IoUring.Benchmarks.Micro;

/// <summary>
/// The Ring's hot paths one operation at a time: GetSqe + prep + submit + reap of NOPs in batches of 1..128, and a
/// 4 KiB read from a cached file. <see cref="MemoryDiagnoserAttribute"/> shows the allocations: 0 B on every row.
/// Run: <c>dotnet run -c Release --project benchmarks/IoUring.Benchmarks -- --filter '*RingMicro*'</c>.
/// </summary>
[MemoryDiagnoser]
public class RingMicroBenchmarks
{
    private Ring _ring = null!;
    private NativeBuffer _buffer = null!;
    private SafeFileHandle _handle = null!;
    private string _path = null!;
    private int _fd;
    private SplitMix64 _rng = new(1);
    private ulong _pages;

    [GlobalSetup]
    public void Setup()
    {
        _ring = new Ring(128);
        _buffer = new NativeBuffer(DataFile.Block * 128);
        _path = Path.Combine(Path.GetTempPath(), $"iouring-micro-{Guid.NewGuid():N}.dat");
        byte[] data = new byte[16 << 20];
        new Random(1).NextBytes(data);
        File.WriteAllBytes(_path, data);
        _handle = File.OpenHandle(_path);
        _fd = (int)_handle.DangerousGetHandle();
        _pages = (ulong)data.Length / DataFile.Block;
        _ = Libc.PosixFadvise(_fd, 0, 0, Libc.POSIX_FADV_WILLNEED);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _ring.Dispose();
        _buffer.Dispose();
        _handle.Dispose();
        File.Delete(_path);
    }

    /// <summary>One NOP: GetSqe + PrepNop, SubmitAndWait(1), reap.</summary>
    [Benchmark(OperationsPerInvoke = 1)]
    public uint Nop1() => NopBatch(1);

    /// <summary>8 NOPs per SubmitAndWait; figures are per NOP.</summary>
    [Benchmark(OperationsPerInvoke = 8)]
    public uint Nop8() => NopBatch(8);

    /// <summary>32 NOPs per SubmitAndWait; figures are per NOP.</summary>
    [Benchmark(OperationsPerInvoke = 32)]
    public uint Nop32() => NopBatch(32);

    /// <summary>128 NOPs per SubmitAndWait; figures are per NOP.</summary>
    [Benchmark(OperationsPerInvoke = 128)]
    public uint Nop128() => NopBatch(128);

    /// <summary>One random 4 KiB read from a cached file.</summary>
    [Benchmark(OperationsPerInvoke = 1)]
    public uint Read4KiB() => ReadBatch(1);

    /// <summary>32 random 4 KiB reads per SubmitAndWait; figures are per read.</summary>
    [Benchmark(OperationsPerInvoke = 32)]
    public uint Read4KiBx32() => ReadBatch(32);

    /// <summary>GetSqe + PrepNop × n, one SubmitAndWait, reap by reference with ReadyCqes + CqAdvance.</summary>
    private uint NopBatch(int n)
    {
        for (int i = 0; i < n; i++)
        {
            ref Sqe sqe = ref _ring.GetSqe();
            sqe.PrepNop();
            sqe.UserData = (ulong)i;
        }

        _ = _ring.SubmitAndWait((uint)n);
        CompletionBatch batch = _ring.ReadyCqes;
        uint seen = 0;
        foreach (ref readonly Cqe cqe in batch)
        {
            if (cqe.Res != 0)
            {
                throw new InvalidOperationException($"nop returned {cqe.Res}");
            }

            seen++;
        }

        _ring.CqAdvance(seen);
        return seen;
    }

    /// <summary>n random 4 KiB reads: GetSqe + PrepRead each, one SubmitAndWait, reap.</summary>
    private uint ReadBatch(int n)
    {
        for (int i = 0; i < n; i++)
        {
            ref Sqe sqe = ref _ring.GetSqe();
            sqe.PrepRead(_fd, _buffer.Address + (i * DataFile.Block), DataFile.Block, _rng.NextOffset(_pages));
            sqe.UserData = (ulong)i;
        }

        _ = _ring.SubmitAndWait((uint)n);
        uint seen = 0;
        foreach (ref readonly Cqe cqe in _ring.ReadyCqes)
        {
            if (cqe.Res != DataFile.Block)
            {
                throw new InvalidOperationException($"read returned {cqe.Res}");
            }

            seen++;
        }

        _ring.CqAdvance(seen);
        return seen;
    }
}
