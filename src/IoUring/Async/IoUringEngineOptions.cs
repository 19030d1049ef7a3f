namespace IoUring;

/// <summary>Where the continuation of an awaited engine operation runs.</summary>
public enum ContinuationMode
{
    /// <summary>
    /// Continuations are queued to the thread pool, one work item per batch of completions. The engine's threads
    /// never run user code. Costs a thread hop (and often a thread wake-up) per batch; choose it for code that must
    /// not run on an I/O thread at all.
    /// </summary>
    ThreadPool = 0,

    /// <summary>
    /// Continuations run on the engine's own thread right after the completions are reaped, where the data is hot
    /// and the next request joins the same <c>io_uring_enter</c> batch (as thread-per-core runtimes run them). The
    /// default. Blocking is tolerated: when one continuation runs longer than
    /// <see cref="IoUringEngineOptions.HandOffAfter"/>, a monitor hands the ring to another thread, which reaps and runs
    /// the other completions meanwhile (as Go's scheduler hands a processor on when a thread blocks in a system call),
    /// so a sleeping or sync-over-async continuation delays only itself. See docs/async-and-files.md, "Where
    /// continuations run".
    /// </summary>
    Inline = 1,
}

/// <summary>How to create an <see cref="IoUringEngine"/>.</summary>
public sealed class IoUringEngineOptions
{
    /// <summary>The default of <see cref="HandOffAfter"/>: 1 ms.</summary>
    public static readonly TimeSpan DefaultHandOffAfter = TimeSpan.FromMilliseconds(1);

    /// <summary>Submission-queue size of the engine's ring. Default 256. The completion queue is four times as large.</summary>
    public uint QueueEntries { get; init; } = 256;

    /// <summary>Where continuations run. Default <see cref="ContinuationMode.Inline"/>: on the engine's thread, with hand-off when one blocks.</summary>
    public ContinuationMode Continuations { get; init; } = ContinuationMode.Inline;

    /// <summary>
    /// With <see cref="ContinuationMode.Inline"/>: how long one continuation may run on the engine's thread before the
    /// engine is handed to another thread, so that the other requests keep completing while it blocks. Default 1 ms.
    /// <see cref="Timeout.InfiniteTimeSpan"/> turns hand-off off: the ring then stays on one thread for good (and may be
    /// set up with <see cref="UseDeferTaskRun"/>), and a continuation that blocks stalls every request of the engine;
    /// waiting synchronously for another request of the same engine then deadlocks.
    /// </summary>
    public TimeSpan HandOffAfter { get; init; } = DefaultHandOffAfter;

    /// <summary>
    /// Ask for <c>IORING_SETUP_SINGLE_ISSUER</c> and <c>IORING_SETUP_DEFER_TASKRUN</c> (Linux 6.1+) where the ring
    /// never changes threads: in <see cref="ContinuationMode.ThreadPool"/> mode, or inline with hand-off turned off.
    /// The loop thread is then the only submitter, and the kernel posts completions only while it waits. A ring that
    /// can be handed off is a plain ring: any thread may enter it, and a completion wakes the thread that submitted
    /// its request even while that thread sleeps in user code. On by default; silently off where the kernel refuses
    /// it (then <c>COOP_TASKRUN</c> is tried).
    /// </summary>
    public bool UseDeferTaskRun { get; init; } = true;

    /// <summary>
    /// How long <see cref="IoUringEngine.Dispose"/> waits for cancelled operations to complete before it gives up on
    /// them. Operations still unfinished after that keep their buffers pinned for the life of the process and never
    /// complete, because the kernel may still write to them. Default 5 s. <see cref="Timeout.InfiniteTimeSpan"/> waits as long
    /// as it takes; other negative values are refused by the engine's constructor.
    /// </summary>
    public TimeSpan DisposeTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long the loop spins looking for new work before it parks in the kernel. Catching the next request while
    /// spinning spares the submitter an eventfd write and the loop a sleep and wake-up; spinning burns that much CPU
    /// after each burst of activity. Default 50 µs; <see cref="TimeSpan.Zero"/> parks at once.
    /// </summary>
    public TimeSpan SpinBeforePark { get; init; } = TimeSpan.FromMicroseconds(50);

    /// <summary>How many idle operation objects the engine keeps pooled. Default 1024.</summary>
    public int MaxPooledOperations { get; init; } = 1024;

    /// <summary>
    /// Slots in the engine's registered-file table (a sparse <c>IORING_REGISTER_FILES2</c> table made at start-up).
    /// A <see cref="UringFile"/> puts its descriptor in a free slot of each engine it uses and its requests then name
    /// the slot (<c>IOSQE_FIXED_FILE</c>), which spares the kernel a file-table lookup and reference per request. When
    /// the table is full, or the kernel cannot register one, files use their plain descriptor. Default 1024; 0 disables it.
    /// </summary>
    public uint FixedFileSlots { get; init; } = 1024;

    /// <summary>
    /// Buffers the engine registers with its ring at start-up (<c>IORING_REGISTER_BUFFERS</c>), each
    /// <see cref="RegisteredBufferSize"/> bytes of page-aligned native memory. Rent them with
    /// <see cref="IoUringEngine.RentRegisteredBuffer"/>: reads and writes of this engine into them use
    /// <c>READ_FIXED</c>/<c>WRITE_FIXED</c>, which spares the kernel mapping the pages on every request (markedly cheaper
    /// for small page-cache reads). Registered memory counts against <c>RLIMIT_MEMLOCK</c>; when the kernel refuses it,
    /// the buffers still work as ordinary native buffers and <see cref="IoUringEngine.RegisteredBuffersError"/> says
    /// why. Default 0 (none); at most 16,384.
    /// </summary>
    public int RegisteredBufferCount { get; init; }

    /// <summary>Size in bytes of each registered buffer (see <see cref="RegisteredBufferCount"/>). Default 64 KiB; at most 1 GiB.</summary>
    public int RegisteredBufferSize { get; init; } = 64 * 1024;

    /// <summary>Name of the loop thread, for debuggers and profilers. Default <c>io_uring engine</c>.</summary>
    public string ThreadName { get; init; } = "io_uring engine";

    /// <summary>True when the ring may move between threads (inline continuations with hand-off on).</summary>
    internal bool HandsOff => Continuations == ContinuationMode.Inline && HandOffAfter != Timeout.InfiniteTimeSpan;

    /// <summary>
    /// These options for engine <paramref name="index"/> of a group: every setting copied (each engine gets its own
    /// registered buffers and file table of the given sizes), the thread name numbered.
    /// </summary>
    internal IoUringEngineOptions ForGroupMember(int index) => new()
    {
        QueueEntries = QueueEntries,
        Continuations = Continuations,
        HandOffAfter = HandOffAfter,
        UseDeferTaskRun = UseDeferTaskRun,
        DisposeTimeout = DisposeTimeout,
        SpinBeforePark = SpinBeforePark,
        MaxPooledOperations = MaxPooledOperations,
        FixedFileSlots = FixedFileSlots,
        RegisteredBufferCount = RegisteredBufferCount,
        RegisteredBufferSize = RegisteredBufferSize,
        ThreadName = $"{ThreadName} {index}",
    };

    /// <summary>Throws when an option is out of range (the engine's constructor calls it).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    internal void Validate(string paramName)
    {
        if (QueueEntries is 0 or > Ring.MaxEntries / 2)
        {
            throw new ArgumentOutOfRangeException(paramName, QueueEntries, $"QueueEntries must be 1 to {Ring.MaxEntries / 2}.");
        }

        if (FixedFileSlots > IoUringEngine.MaxFixedFileSlots)
        {
            throw new ArgumentOutOfRangeException(paramName, FixedFileSlots, $"FixedFileSlots must be at most {IoUringEngine.MaxFixedFileSlots}.");
        }

        if (DisposeTimeout < TimeSpan.Zero && DisposeTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(paramName, DisposeTimeout, "DisposeTimeout must be zero or positive, or Timeout.InfiniteTimeSpan to wait as long as it takes.");
        }

        if (HandOffAfter <= TimeSpan.Zero && HandOffAfter != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(paramName, HandOffAfter, "HandOffAfter must be positive, or Timeout.InfiniteTimeSpan to never hand the ring to another thread.");
        }

        if (RegisteredBufferCount is < 0 or > IoUringEngine.MaxRegisteredBuffers)
        {
            throw new ArgumentOutOfRangeException(paramName, RegisteredBufferCount, $"RegisteredBufferCount must be 0 to {IoUringEngine.MaxRegisteredBuffers}.");
        }

        if (RegisteredBufferCount > 0
            && (RegisteredBufferSize is <= 0 or > IoUringEngine.MaxRegisteredBufferSize
                || RoundToPage(RegisteredBufferSize) * RegisteredBufferCount > int.MaxValue))
        {
            throw new ArgumentOutOfRangeException(paramName, RegisteredBufferSize, "RegisteredBufferSize must be 1 byte to 1 GiB, and all registered buffers together under 2 GiB.");
        }

        if (!Enum.IsDefined(Continuations))
        {
            throw new ArgumentOutOfRangeException(paramName, Continuations, "Continuations must be ContinuationMode.ThreadPool or ContinuationMode.Inline.");
        }
    }

    private static long RoundToPage(int size) => ((long)size + Environment.SystemPageSize - 1) / Environment.SystemPageSize * Environment.SystemPageSize;
}
