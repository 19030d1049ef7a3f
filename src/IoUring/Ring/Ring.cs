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
    /// <summary>The ring fd, or -1 for a <see cref="RingOptions.RegisteredFdOnly"/> ring (which has only <see cref="_registeredIndex"/>).</summary>
    private readonly int _ringFd;

    /// <summary>The mapped rings; replaced by <see cref="Resize"/>.</summary>
    private RingMap _map;
    private SubmissionQueueMap _sq;
    private CompletionQueueMap _cq;
    private uint _sqEntries;
    private readonly bool _sqPoll;
    private readonly bool _ioPoll;

    /// <summary>
    /// DEFER_TASKRUN on a kernel before 6.2, which queues deferred completion work without setting
    /// <c>IORING_SQ_TASKRUN</c>: a peek cannot see that work is pending, so an empty peek enters the kernel to run it.
    /// </summary>
    private readonly bool _peekMustEnter;
    private readonly TimeSpan _drainTimeout;

    /// <summary>The ring's index in the registering thread's table of registered ring fds, or -1.</summary>
    private int _registeredIndex = -1;

    /// <summary>The managed thread that registered the ring fd: the index is meaningful only on that thread.</summary>
    private int _registeredThreadId;

    /// <summary>Next SQE slot we hand out (our private tail).</summary>
    private uint _sqeTail;

    /// <summary>Slots before this one have been published to the kernel through <c>sq.tail</c>.</summary>
    private uint _sqeHead;

    /// <summary>A copy of the kernel's <c>sq.head</c>, refreshed only when the SQ looks full.</summary>
    private uint _cachedSqHead;

    /// <summary>Our consumer index; mirrors <c>cq.head</c>, which only we write.</summary>
    private uint _cqHead;

    /// <summary>The kernel's <c>cq.tail</c> as last read; CQEs before it have been observed.</summary>
    private uint _cqTailSeen;

    /// <summary>Requests submitted whose final CQE (one without <see cref="CqeFlags.More"/>) has not been seen.</summary>
    private long _inFlight;
    private bool _disposed;

    /// <summary>Managed id of the thread that used the ring last; ownership moves with sequential use.</summary>
    private int _ownerThread = Environment.CurrentManagedThreadId;

    /// <summary>Managed id of a thread currently inside io_uring_enter on this ring, or 0.</summary>
    private int _busyThread;
    private string _busyWhat = string.Empty;

    /// <summary>
    /// <c>io_uring_enter</c> calls this ring has made: a plain increment beside each call, for the benchmarks'
    /// syscalls-per-operation figure. Not thread-safe, like the ring itself.
    /// </summary>
    private long _enterCalls;

    /// <summary>How many <c>io_uring_enter</c> calls this ring has made (benchmarks read it to report syscalls per operation).</summary>
    internal long EnterCalls => _enterCalls;

    /// <summary>What higher layers attached to this ring (buffer rings, registered memory): released after the ring is closed.</summary>
    private readonly List<IRingResource> _resources = [];

    /// <summary>
    /// False for a ring created with <see cref="RingOptions.StartDisabled"/> until <see cref="EnableRings"/>: it accepts
    /// registrations (restrictions, a wait region) but no submissions (<c>io_uring_enter</c> fails with <c>EBADFD</c>).
    /// </summary>
    public bool IsEnabled { get; private set; }

    /// <summary>Creates a ring with <paramref name="entries"/> SQEs (rounded up to a power of two by the kernel).</summary>
    /// <param name="entries">SQ size, 1 to 32768.</param>
    /// <param name="options">Setup options, or null for defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="entries"/> is 0 or above 32768 without <see cref="RingOptions.Clamp"/>, or <see cref="RingOptions.DisposeDrainTimeout"/> is negative (other than infinite).</exception>
    /// <exception cref="IoUringSetupException">The kernel refused, or <c>IOURING_DISABLE=1</c> turned io_uring off: the exception says why (disabled, seccomp, old kernel, memory, flags, environment).</exception>
    /// <exception cref="ArgumentException"><see cref="RingOptions.ExtraFlags"/> holds a flag that has its own option (<see cref="SetupFlags.RDisabled"/>, <see cref="SetupFlags.NoMmap"/>, <see cref="SetupFlags.RegisteredFdOnly"/>), or <see cref="RingOptions.RegisteredFdOnly"/> is set without <see cref="RingOptions.NoMmap"/>.</exception>
    public Ring(uint entries, RingOptions? options = null)
    {
        options ??= new RingOptions();
        if (entries == 0 || (entries > MaxEntries && !options.Clamp))
        {
            throw new ArgumentOutOfRangeException(nameof(entries), entries, $"A ring needs 1 to {MaxEntries} entries (or RingOptions.Clamp).");
        }

        if (options.DisposeDrainTimeout < TimeSpan.Zero && options.DisposeDrainTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.DisposeDrainTimeout, "RingOptions.DisposeDrainTimeout must be zero or more, or Timeout.InfiniteTimeSpan.");
        }

        // The kill switch (IOURING_DISABLE=1): no ring, before any system call, so every layer above falls back or fails alike.
        if (IoUringSupport.IsDisabledByEnvironment)
        {
            throw IoUringSupport.DisabledByEnvironment();
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
            if (other._ringFd < 0)
            {
                throw new ArgumentException("A RegisteredFdOnly ring has no fd another ring could attach to.", nameof(options));
            }

            p.WqFd = (uint)other._ringFd;
        }

        (int fd, RingMap map) = RingSetup.Create(entries, ref p);
        if ((p.Flags & SetupFlags.RegisteredFdOnly) != 0)
        {
            // The kernel returned an index into this thread's registered-ring table instead of an fd.
            _registeredIndex = fd;
            _registeredThreadId = Environment.CurrentManagedThreadId;
            fd = -1;
        }

        _ringFd = fd;
        _map = map;
        _sq = map.Sq;
        _cq = map.Cq;
        _sqEntries = _sq.Entries;
        SetupFlags = p.Flags;
        Features = p.Features;
        _sqPoll = (p.Flags & SetupFlags.SqPoll) != 0;
        _ioPoll = (p.Flags & SetupFlags.IoPoll) != 0;
        _peekMustEnter = (p.Flags & SetupFlags.DeferTaskRun) != 0 && !IoUringSupport.KernelAtLeast(6, 2);
        _drainTimeout = options.DisposeDrainTimeout;
        _scratch = new SubmitScratch(_sqEntries);
        IsEnabled = (p.Flags & SetupFlags.RDisabled) == 0;

        if (options.RegisterRingFd && fd >= 0)
        {
            int index = RegisterCalls.RingFd(fd);
            if (index >= 0)
            {
                _registeredIndex = index;
                _registeredThreadId = Environment.CurrentManagedThreadId;
            }
        }

        Publish(this);
    }

    /// <summary>The kernel's upper bound for SQ entries (<c>IORING_MAX_ENTRIES</c>).</summary>
    public const uint MaxEntries = 32768;

    /// <summary>
    /// The ring's file descriptor, or -1 for a <see cref="RingOptions.RegisteredFdOnly"/> ring, which the kernel gave no
    /// descriptor (it exists only as an index in the creating thread's registered-ring table).
    /// </summary>
    public int Fd => _ringFd;

    /// <summary>
    /// How <c>io_uring_register(2)</c> names this ring from the calling thread: the fd, or for a registered-fd-only ring
    /// its registered index (only meaningful on the creating thread).
    /// </summary>
    internal RingHandle Handle
    {
        get
        {
            if (_ringFd >= 0)
            {
                return _ringFd;
            }

            ThrowIfNotRegisteringThread();
            return new RingHandle(_registeredIndex, registeredIndex: true);
        }
    }

    /// <summary>Number of SQ slots.</summary>
    public uint SqEntries => _sqEntries;

    /// <summary>Number of CQ slots.</summary>
    public uint CqEntries => _cq.Entries;

    /// <summary>The flags the ring was set up with, as the kernel reported them back.</summary>
    public SetupFlags SetupFlags { get; }

    /// <summary>What the kernel reported it supports (<c>io_uring_params.features</c>).</summary>
    public RingFeatures Features { get; }

    /// <summary>
    /// True when the ring fd is registered (<see cref="RingOptions.RegisterRingFd"/>). The registration belongs to the
    /// thread that created the ring: <c>io_uring_enter</c> from that thread uses it, other threads use the plain fd.
    /// </summary>
    public bool IsRingFdRegistered => _registeredIndex >= 0;

    /// <summary>
    /// Requests submitted whose last CQE has not been seen. Multishot requests count until their final CQE; a request
    /// with <see cref="SqeFlags.CqeSkipSuccess"/> that succeeds is never subtracted, so the count errs high, never low.
    /// After <see cref="Dispose()"/> it is 0 when the drain finished (the kernel holds nothing that can touch memory;
    /// a multishot timeout that outran every cancel may still be firing until the kernel tears the ring down, see
    /// <see cref="Dispose()"/>), and otherwise the number of requests the drain gave up on.
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
    /// <remarks>
    /// One kind of request cannot be cancelled reliably: a multishot timeout (<see cref="TimeoutFlags.Multishot"/>
    /// without a repeat count) whose period is shorter than the gap between two <c>io_uring_enter</c> calls, because
    /// the kernel's cancel looks for it only while its timer is armed. The drain recognises its CQEs (<c>-ETIME</c>
    /// with <see cref="CqeFlags.More"/>) and, once every request still in flight is such a timer that kept firing
    /// through a whole cancel round (100 ms), closes the ring without waiting for the timeout: a timer references no
    /// memory of yours, and closing the ring makes the kernel kill it. When other requests are left beside such a
    /// timer (a request linked behind it is not even started until the timer ends), the drain stops reaping until the
    /// completion queue is full: the kernel then ends every multishot request, the timer included, with a final CQE,
    /// which releases (or fails) what was linked behind it, and the drain cancels and reaps the rest as usual.
    /// </remarks>
    /// <exception cref="InvalidOperationException">Another thread is blocked inside this ring (for example in <see cref="WaitCqe()"/>).</exception>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        CheckNotBusyElsewhere(Environment.CurrentManagedThreadId);

        // Dispose may come from any thread (the drain abandons SQEs another thread prepared and did not submit).
        _ownerThread = Environment.CurrentManagedThreadId;
        bool drained = DrainInFlight(_drainTimeout);
        Unpublish(this);
        _disposed = true;
        // Every later call, from this thread too, now fails the owner compare and throws ObjectDisposedException.
        _ownerThread = NoOwner;
        if (_registeredIndex >= 0)
        {
            // The registration lives in the registering thread's table. From any other thread the same index names
            // that thread's own entry (perhaps another ring), so it is left alone; the kernel drops it, and with it
            // its reference to this ring, when the registering thread exits. For a registered-fd-only ring that
            // registration is the ring's only reference: unregistering it closes the ring.
            if (Environment.CurrentManagedThreadId == _registeredThreadId)
            {
                _ = _ringFd >= 0
                    ? RegisterCalls.UnregisterRingFd(_ringFd, _registeredIndex)
                    : RegisterCalls.UnregisterRingFd(new RingHandle(_registeredIndex, registeredIndex: true), _registeredIndex);
            }

            _registeredIndex = -1;
        }

        IRingResource[] resources = [.. _resources];
        _resources.Clear();
        _map.Dispose();
        if (_ringFd >= 0)
        {
            _ = Libc.Close(_ringFd);
        }

        // After close, the kernel tears the ring down; requests that were drained cannot touch user memory any more.
        foreach (IRingResource resource in resources)
        {
            resource.ReleaseAfterRingClosed(drained);
        }

        ReleaseLeases(drained);

        _scratch.Dispose();
    }

    /// <summary>
    /// Attaches memory or kernel objects a higher layer registered on this ring, so that <see cref="Dispose"/> releases
    /// them once the ring is closed (and keeps them pinned forever if the kernel did not give every request back).
    /// </summary>
    internal void AddResource(IRingResource resource) => _resources.Add(resource);

    /// <summary>Detaches a resource its owner released early (after unregistering it from the kernel).</summary>
    internal void RemoveResource(IRingResource resource) => _resources.Remove(resource);

    /// <summary>
    /// The fd and flags for io_uring_enter. A registered ring fd is an index into the registering thread's own table
    /// (the kernel keeps it in that task's io_uring context), so on any other thread it would name nothing, or a
    /// different ring that thread registered: there the plain fd is used.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int EnterFd(out EnterFlags flags)
    {
        if (_registeredIndex >= 0 && Environment.CurrentManagedThreadId == _registeredThreadId)
        {
            flags = EnterFlags.RegisteredRing;
            return _registeredIndex;
        }

        if (_ringFd < 0)
        {
            ThrowIfNotRegisteringThread();
        }

        flags = EnterFlags.None;
        return _ringFd;
    }

    /// <summary>A registered-fd-only ring exists only in its creating thread's table: any other thread cannot name it.</summary>
    private void ThrowIfNotRegisteringThread()
    {
        if (Environment.CurrentManagedThreadId != _registeredThreadId)
        {
            throw new InvalidOperationException(
                $"This ring was created with RingOptions.RegisteredFdOnly on managed thread {_registeredThreadId}: it has no file descriptor, only an index in that thread's registered-ring table, so managed thread {Environment.CurrentManagedThreadId} cannot use it.");
        }
    }

    /// <summary>
    /// The <see cref="Stopwatch"/> timestamp <paramref name="timeout"/> from now. Saturates: <see cref="Timeout.InfiniteTimeSpan"/>
    /// and timeouts too large for the clock (up to <see cref="TimeSpan.MaxValue"/>) give a deadline that never passes.
    /// </summary>
    private static long DeadlineAfter(TimeSpan timeout)
    {
        long now = Stopwatch.GetTimestamp();
        if (timeout == Timeout.InfiniteTimeSpan)
        {
            return long.MaxValue;
        }

        double ticks = timeout.TotalSeconds * Stopwatch.Frequency;
        return ticks >= long.MaxValue - now ? long.MaxValue : now + (long)Math.Max(0, ticks);
    }
}
