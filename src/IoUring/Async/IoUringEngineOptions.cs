namespace IoUring;

/// <summary>Where the continuation of an awaited engine operation runs.</summary>
public enum ContinuationMode
{
    /// <summary>
    /// Continuations are queued to the thread pool (<c>RunContinuationsAsynchronously</c>). The engine's loop thread
    /// never runs user code, so a slow or blocking continuation cannot stall other operations. The default.
    /// </summary>
    ThreadPool = 0,

    /// <summary>
    /// Continuations run inline on the engine's loop thread as soon as the completion is reaped. This saves a
    /// thread-pool hop per operation and lets the next request join the same <c>io_uring_enter</c> batch, which is
    /// markedly cheaper per operation, but user code then runs on the loop: a continuation that blocks (a lock,
    /// synchronous I/O, <c>.Result</c> on another engine operation) stalls every operation of the engine, and
    /// waiting synchronously for an operation of the same engine deadlocks. Use it only for code that awaits and
    /// returns quickly.
    /// </summary>
    Inline = 1,
}

/// <summary>How to create an <see cref="IoUringEngine"/>.</summary>
public sealed class IoUringEngineOptions
{
    /// <summary>Submission-queue size of the engine's ring. Default 256. The completion queue is twice as large.</summary>
    public uint QueueEntries { get; init; } = 256;

    /// <summary>Where continuations run. Default <see cref="ContinuationMode.ThreadPool"/>.</summary>
    public ContinuationMode Continuations { get; init; } = ContinuationMode.ThreadPool;

    /// <summary>
    /// Ask for <c>IORING_SETUP_SINGLE_ISSUER</c> and <c>IORING_SETUP_DEFER_TASKRUN</c> (Linux 6.1+): the loop thread is
    /// the only submitter, and the kernel posts completions only while it waits, which saves interrupts of the loop.
    /// On by default; silently off where the kernel refuses them (then <c>COOP_TASKRUN</c> is tried).
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
    /// A <see cref="UringFile"/> on a single engine puts its descriptor in a free slot and its requests then name the
    /// slot (<c>IOSQE_FIXED_FILE</c>), which spares the kernel a file-table lookup and reference per request. When the
    /// table is full, or the kernel cannot register one, files use their plain descriptor. Default 1024; 0 disables it.
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

    /// <summary>
    /// These options for engine <paramref name="index"/> of a group: every setting copied (each engine gets its own
    /// registered buffers and file table of the given sizes), the thread name numbered.
    /// </summary>
    internal IoUringEngineOptions ForGroupMember(int index) => new()
    {
        QueueEntries = QueueEntries,
        Continuations = Continuations,
        UseDeferTaskRun = UseDeferTaskRun,
        DisposeTimeout = DisposeTimeout,
        SpinBeforePark = SpinBeforePark,
        MaxPooledOperations = MaxPooledOperations,
        FixedFileSlots = FixedFileSlots,
        RegisteredBufferCount = RegisteredBufferCount,
        RegisteredBufferSize = RegisteredBufferSize,
        ThreadName = $"{ThreadName} {index}",
    };
}
