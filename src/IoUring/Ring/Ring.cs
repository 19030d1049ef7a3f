using System.Diagnostics;
using System.Runtime.CompilerServices;
using IoUring.Interop;

namespace IoUring;

/// <summary>
/// One io_uring instance: a submission queue and a completion queue shared with the kernel. The API is shaped like
/// liburing's: <see cref="GetSqe"/>, a <c>Prep*</c> method on the SQE, <see cref="Submit"/>, <see cref="WaitCqe()"/>,
/// <see cref="CqeSeen(in Cqe)"/>.
/// </summary>
/// <remarks>
/// <para>A ring is not thread-safe, exactly like a liburing <c>struct io_uring</c>: one thread at a time may use it.
/// Use one ring per thread, or the async engine, which owns its ring on a dedicated thread.</para>
/// <para>Buffers named by SQEs must stay valid and unmoved until their CQE is reaped: use native memory
/// (<see cref="NativeBuffer"/>), pinned arrays, or registered buffers. <see cref="Dispose()"/> cancels whatever
/// is still in flight and waits for it, so the kernel holds no reference to your memory once it returns.</para>
/// </remarks>
public sealed partial class Ring : IDisposable
{
    private readonly int _ringFd;
    private readonly RingMap _map;
    private readonly SubmissionQueueMap _sq;
    private readonly CompletionQueueMap _cq;
    private readonly uint _sqEntries;
    private readonly bool _sqPoll;
    private readonly bool _ioPoll;
    private readonly TimeSpan _drainTimeout;

    /// <summary>The fd passed to io_uring_enter: the ring fd, or its registered index.</summary>
    private int _enterFd;

    /// <summary><see cref="EnterFlags.RegisteredRing"/> when the ring fd is registered.</summary>
    private EnterFlags _enterFlags;
    private int _registeredIndex = -1;

    /// <summary>Next SQE slot we hand out (our private tail).</summary>
    private uint _sqeTail;

    /// <summary>Slots before this one have been published to the kernel through <c>sq.tail</c>.</summary>
    private uint _sqeHead;

    /// <summary>A copy of the kernel's <c>sq.head</c>, refreshed only when the SQ looks full.</summary>
    private uint _cachedSqHead;

    /// <summary>Our consumer index; mirrors <c>cq.head</c>, which only we write.</summary>
    private uint _cqHead;

    /// <summary>Requests submitted whose final CQE (one without <see cref="CqeFlags.More"/>) has not been seen.</summary>
    private long _inFlight;
    private bool _disposed;

    /// <summary>
    /// <c>io_uring_enter</c> calls this ring has made: a plain increment beside each call, for the benchmarks'
    /// syscalls-per-operation figure. Not thread-safe, like the ring itself.
    /// </summary>
    private long _enterCalls;

    /// <summary>How many <c>io_uring_enter</c> calls this ring has made (benchmarks read it to report syscalls per operation).</summary>
    internal long EnterCalls => _enterCalls;

    /// <summary>Creates a ring with <paramref name="entries"/> SQEs (rounded up to a power of two by the kernel).</summary>
    /// <param name="entries">SQ size, 1 to 32768.</param>
    /// <param name="options">Setup options, or null for defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="entries"/> is 0 or above 32768 without <see cref="RingOptions.Clamp"/>.</exception>
    /// <exception cref="IoUringSetupException">The kernel refused: the exception says why (disabled, seccomp, old kernel, memory, flags).</exception>
    public Ring(uint entries, RingOptions? options = null)
    {
        options ??= new RingOptions();
        if (entries == 0 || (entries > MaxEntries && !options.Clamp))
        {
            throw new ArgumentOutOfRangeException(nameof(entries), entries, $"A ring needs 1 to {MaxEntries} entries (or RingOptions.Clamp).");
        }

        SetupFlags flags = options.ToFlags();
        var p = new IoUringParams { Flags = flags, CqEntries = options.CqEntries };
        if (options.SqPollIdle is TimeSpan idle)
        {
            p.SqThreadIdle = (uint)Math.Clamp(idle.TotalMilliseconds, 0, uint.MaxValue);
        }

        if (options.SqPollCpu is int cpu)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(cpu, nameof(options));
            p.SqThreadCpu = (uint)cpu;
        }

        if (options.AttachWorkQueueOf is Ring other)
        {
            other.ThrowIfDisposed();
            p.WqFd = (uint)other._ringFd;
        }

        int fd = Syscalls.Setup(entries, ref p);
        if (fd < 0)
        {
            throw IoUringSupport.SetupFailed(-fd, entries, flags);
        }

        RingMap? map = RingMap.Map(fd, p, out int mapErrno);
        if (map is null)
        {
            _ = Libc.Close(fd);
            throw new IoUringSetupException(mapErrno, SetupFailureReason.MemoryLimit,
                $"io_uring is unavailable: mapping the rings failed with {IoUringException.ErrnoName(mapErrno)} ({mapErrno}); raise RLIMIT_MEMLOCK or the memory cgroup limit, or ask for fewer entries.");
        }

        _ringFd = fd;
        _enterFd = fd;
        _map = map;
        _sq = map.Sq;
        _cq = map.Cq;
        _sqEntries = _sq.Entries;
        SetupFlags = p.Flags;
        Features = p.Features;
        _sqPoll = (p.Flags & SetupFlags.SqPoll) != 0;
        _ioPoll = (p.Flags & SetupFlags.IoPoll) != 0;
        _drainTimeout = options.DisposeDrainTimeout;
        _scratch = new SubmitScratch(_sqEntries);

        if (options.RegisterRingFd)
        {
            int index = RegisterCalls.RingFd(fd);
            if (index >= 0)
            {
                _registeredIndex = index;
                _enterFd = index;
                _enterFlags = EnterFlags.RegisteredRing;
            }
        }
    }

    /// <summary>The kernel's upper bound for SQ entries (<c>IORING_MAX_ENTRIES</c>).</summary>
    public const uint MaxEntries = 32768;

    /// <summary>The ring's file descriptor.</summary>
    public int Fd => _ringFd;

    /// <summary>Number of SQ slots.</summary>
    public uint SqEntries => _sqEntries;

    /// <summary>Number of CQ slots.</summary>
    public uint CqEntries => _cq.Entries;

    /// <summary>The flags the ring was set up with, as the kernel reported them back.</summary>
    public SetupFlags SetupFlags { get; }

    /// <summary>What the kernel reported it supports (<c>io_uring_params.features</c>).</summary>
    public RingFeatures Features { get; }

    /// <summary>True when <c>io_uring_enter</c> uses the registered ring fd (<see cref="RingOptions.RegisterRingFd"/>).</summary>
    public bool IsRingFdRegistered => _registeredIndex >= 0;

    /// <summary>
    /// Requests submitted whose last CQE has not been seen. Multishot requests count until their final CQE; a request
    /// with <see cref="SqeFlags.CqeSkipSuccess"/> that succeeds is never subtracted, so the count errs high, never low.
    /// </summary>
    public long InFlight => _inFlight;

    /// <summary>
    /// Completions may arrive that this ring did not submit (for example <see cref="Opcode.MsgRing"/> from another ring),
    /// so a wait with nothing in flight is legitimate. Off by default: such a wait throws <see cref="WaitWouldBlockForeverException"/>.
    /// </summary>
    public bool ExpectExternalCompletions { get; set; }

    /// <summary>True once <see cref="Dispose()"/> has run.</summary>
    public bool IsDisposed => _disposed;

    /// <summary>
    /// Cancels everything still in flight, waits (up to <see cref="RingOptions.DisposeDrainTimeout"/>) for the kernel to
    /// finish with it, then unmaps the rings and closes the fd. Memory registered with <see cref="RegisterBuffers(ReadOnlySpan{Memory{byte}})"/>
    /// is unpinned only when nothing is left in flight; otherwise it stays pinned for the life of the process.
    /// </summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        bool drained = DrainInFlight(_drainTimeout);
        _disposed = true;
        if (_registeredIndex >= 0)
        {
            _ = RegisterCalls.UnregisterRingFd(_ringFd, _registeredIndex);
            _registeredIndex = -1;
        }

        BufferRing[] bufferRings = [.. _bufferRings];
        _bufferRings.Clear();
        _map.Dispose();
        _ = Libc.Close(_ringFd);
        // After close, the kernel tears the ring down; requests that were drained cannot touch user memory any more.
        ReleasePinnedMemory(drained);
        foreach (BufferRing br in bufferRings)
        {
            br.ReleaseAfterRingClosed(drained);
        }

        _scratch.Dispose();
    }

    private bool DrainInFlight(TimeSpan timeout)
    {
        if (_inFlight <= 0 && _sqeTail == _sqeHead)
        {
            return true;
        }

        try
        {
            // Requests prepared but never submitted are simply abandoned: the kernel never saw them.
            _sqeTail = _sqeHead;
            if (_inFlight <= 0)
            {
                return true;
            }

            // Cancel everything (5.19+: ANY|ALL); older kernels answer -EINVAL and we just wait.
            if (SqSpaceLeft == 0)
            {
                _ = Submit();
            }

            if (SqSpaceLeft > 0)
            {
                ref Sqe sqe = ref GetSqe();
                sqe.PrepCancelAny();
                sqe.UserData = ulong.MaxValue;
                _ = Submit();
            }

            long deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
            while (_inFlight > 0)
            {
                long left = deadline - Stopwatch.GetTimestamp();
                if (left <= 0)
                {
                    return false;
                }

                if (TryWaitCqe(TimeSpan.FromSeconds((double)left / Stopwatch.Frequency), out Cqe cqe))
                {
                    CqeSeen(cqe);
                }
            }

            return true;
        }
        catch (IoUringException)
        {
            return false;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ThrowIfDisposed()
    {
        if (_disposed)
        {
            ThrowDisposed();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowDisposed() => throw new ObjectDisposedException(nameof(Ring));
}
