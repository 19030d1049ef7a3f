using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace IoUring.Benchmarks.Compare;

/// <summary>
/// The managed <see cref="Ring"/> on one thread, shaped exactly like the C twin: keep QD requests in flight, one
/// <see cref="Ring.SubmitAndWait"/> per batch (one <c>io_uring_enter</c> that submits the refills and waits for at
/// least one completion), reap every ready CQE by reference with <see cref="Ring.ReadyCqes"/>, hand them back with
/// one <see cref="Ring.CqAdvance"/>, refill. With <c>registered</c>, the file is a fixed file and each slot's buffer
/// a registered buffer (<c>IORING_OP_READ_FIXED</c>).
/// </summary>
internal sealed class RingContender : IDisposable
{
    private const int TimeCheckEvery = 256;

    private readonly Ring _ring;
    private readonly NativeBuffer[] _buffers;
    private readonly nint[] _addresses;
    private readonly bool _nop;
    private readonly bool _registered;
    private readonly int _fd;
    private readonly ulong _pages;
    private readonly ColdTracker? _cold;
    private readonly long _evictEvery;
    private SplitMix64 _rng;
    private long _ops;
    private long _nextEvict;

    private RingContender(RunSpec spec, bool registered)
    {
        _nop = spec.IsNop;
        _registered = registered && !_nop;
        _rng = new SplitMix64(spec.Seed);
        _ring = new Ring(NextPowerOfTwo((uint)spec.Qd));
        _buffers = _nop ? [] : [.. Enumerable.Range(0, spec.Qd).Select(_ => new NativeBuffer(DataFile.Block))];
        _addresses = [.. _buffers.Select(b => b.Address)];
        if (spec.File is DataFile file)
        {
            _fd = file.Fd;
            _pages = file.Pages;
            if (spec.IsCold)
            {
                _cold = new ColdTracker(file);
                _evictEvery = spec.EvictEvery;
            }
        }

        if (_registered)
        {
            _ring.RegisterFiles([_fd]);
            _ring.RegisterBuffers([.. _buffers.Select(b => b.Memory)]);
        }
    }

    public static RunResult Run(RunSpec spec, bool registered)
    {
        using var c = new RingContender(spec, registered);
        return c.Measure(spec);
    }

    private RunResult Measure(RunSpec spec)
    {
        _cold?.Reset();
        for (uint slot = 0; slot < (uint)spec.Qd; slot++)
        {
            Prep(slot);
        }

        RunUntil(Stopwatch.GetTimestamp() + Snapshot.TicksFor(spec.Warmup));

        _cold?.Reset();
        _nextEvict = _ops + _evictEvery;
        long ops0 = _ops;
        long enters0 = _ring.EnterCalls;
        long device0 = spec.File?.DevicePagesRead() ?? -1;
        Snapshot begin = Snapshot.Begin();
        RunUntil(begin.Timestamp + Snapshot.TicksFor(spec.Seconds));
        Snapshot end = Snapshot.End();
        long device1 = spec.File?.DevicePagesRead() ?? -1;
        long? misses = _cold?.MissesNow();
        return RunResult.FromSnapshots(begin, end, _ops - ops0, _ring.EnterCalls - enters0, misses, threads: 1) with
        {
            DevicePages = spec.IsCold && device0 >= 0 && device1 >= 0 ? device1 - device0 : null,
        };
    }

    /// <summary>The measured loop. Fully optimized from the first call: no tier-0 or OSR code in any window.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RunUntil(long deadline)
    {
        Ring ring = _ring;
        int expect = _nop ? 0 : DataFile.Block;
        long ops = _ops;
        long nextCheck = ops + TimeCheckEvery;
        while (true)
        {
            _ = ring.SubmitAndWait(1);
            CompletionBatch batch = ring.ReadyCqes;
            foreach (ref readonly Cqe cqe in batch)
            {
                if (cqe.Res != expect)
                {
                    ThrowBadCompletion(cqe, expect);
                }

                Prep((uint)cqe.UserData);
            }

            ring.CqAdvance(batch.Count);
            ops += batch.Count;
            if (_cold is not null && ops >= _nextEvict)
            {
                _cold.EvictCounting();
                _nextEvict = ops + _evictEvery;
            }

            if (ops >= nextCheck)
            {
                nextCheck = ops + TimeCheckEvery;
                if (Stopwatch.GetTimestamp() >= deadline)
                {
                    break;
                }
            }
        }

        _ops = ops;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Prep(uint slot)
    {
        ref Sqe sqe = ref _ring.GetSqe();
        if (_nop)
        {
            sqe.PrepNop();
        }
        else
        {
            ulong offset = _rng.NextOffset(_pages);
            if (_registered)
            {
                sqe.PrepReadFixed(0, _addresses[slot], DataFile.Block, offset, (ushort)slot);
                sqe.Flags |= SqeFlags.FixedFile;
            }
            else
            {
                sqe.PrepRead(_fd, _addresses[slot], DataFile.Block, offset);
            }
        }

        sqe.UserData = slot;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowBadCompletion(in Cqe cqe, int expect) =>
        throw new InvalidOperationException($"completion {cqe.UserData}: res {cqe.Res}, expected {expect}");

    private static uint NextPowerOfTwo(uint v)
    {
        uint p = 1;
        while (p < v)
        {
            p <<= 1;
        }

        return p;
    }

    public void Dispose()
    {
        _ring.Dispose();
        foreach (NativeBuffer b in _buffers)
        {
            b.Dispose();
        }
    }
}
