using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using IoUring.Interop;
using Microsoft.Extensions.ObjectPool;
using Microsoft.Win32.SafeHandles;

namespace IoUring;

/// <summary>
/// An io_uring driven by a dedicated loop thread, for async/await code: operations can be started from any thread
/// and complete as <see cref="ValueTask"/>s backed by pooled <see cref="System.Threading.Tasks.Sources.IValueTaskSource"/>
/// objects, so an awaited operation allocates nothing in steady state.
/// </summary>
/// <remarks>
/// <para><b>Threads.</b> Submitting threads push operations onto a lock-free stack and return. The loop thread takes
/// the whole stack at once, turns it into SQEs, and submits them and waits for completions in one
/// <c>io_uring_enter</c>. A submitter pays a system call (an eventfd write that completes a read the loop keeps armed
/// in the ring) only when the loop is parked in the kernel; while the loop is busy, submission is a single CAS.</para>
/// <para><b>Memory.</b> Each buffer is pinned from the call until its CQE has been reaped, also when the operation
/// is cancelled or the engine disposed. A <see cref="SafeHandle"/> passed in is ref-counted for the same span, so
/// its descriptor cannot be closed and reused under a pending request.</para>
/// <para><b>Cancellation.</b> A cancelled token sends <c>IORING_OP_ASYNC_CANCEL</c> for the operation. The operation
/// completes when its own CQE arrives: with <see cref="OperationCanceledException"/> if the cancel won, with its
/// real result if the I/O finished first. Regular-file I/O already running in the kernel usually cannot be
/// interrupted and finishes normally.</para>
/// <para><b>Dispose.</b> Stops accepting operations, cancels everything in flight, and waits (up to
/// <see cref="IoUringEngineOptions.DisposeTimeout"/>) for the kernel to finish with it. Cancelled operations fail
/// with <see cref="ObjectDisposedException"/>. An operation the kernel still holds after the timeout never completes
/// and keeps its buffer pinned forever: its memory is never handed back while the kernel may write to it.</para>
/// </remarks>
public sealed partial class IoUringEngine : IDisposable, IAsyncDisposable
{
    private const int StateRunning = 0;
    private const int StateDisposing = 1;
    private const int StateStopped = 2;

    /// <summary>Most iovecs one scatter/gather request may carry (<c>IOV_MAX</c>).</summary>
    public const int MaxIoVecs = 1024;

    /// <summary>Most registered-file slots a ring may have (the kernel's <c>IORING_MAX_FIXED_FILES</c>).</summary>
    public const int MaxFixedFileSlots = 1 << 20;

    private static int s_nextId;

    private readonly IoUringEngineOptions _options;
    private readonly ObjectPool<IoOperation> _pool;
    private readonly bool _dispatchToPool;
    private readonly Thread _thread;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Marks the submission and cancellation stacks as closed once the loop has shut down.</summary>
    private readonly IoOperation _closedSentinel;

    /// <summary>Head of the lock-free stack of operations waiting to be taken by the loop.</summary>
    private IoOperation? _submitHead;

    /// <summary>Head of the lock-free stack of operations whose token was cancelled.</summary>
    private IoOperation? _cancelHead;

    /// <summary>1 while the loop is (about to be) blocked in the kernel and needs an eventfd write to wake up.</summary>
    private int _parked;

    private int _state;

    /// <summary>The eventfd submitters write to wake the loop. Ref-counted so a late waker never writes to a reused fd.</summary>
    private SafeFileHandle? _wakeHandle;

    /// <summary>Most buffers a ring can register (the kernel's <c>IORING_MAX_REG_BUFFERS</c>).</summary>
    public const int MaxRegisteredBuffers = 1 << 14;

    private const int MaxRegisteredBufferSize = 1 << 30;

    private static long RoundToPage(int size) => ((long)size + Libc.PageSize - 1) / Libc.PageSize * Libc.PageSize;

    /// <summary>Creates an engine and starts its loop thread.</summary>
    /// <param name="options">Options, or null for defaults.</param>
    /// <exception cref="IoUringSetupException">io_uring is unavailable; the message says why.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range (queue size, dispose timeout, continuation mode).</exception>
    public IoUringEngine(IoUringEngineOptions? options = null)
    {
        _options = options ?? new IoUringEngineOptions();
        if (_options.QueueEntries is 0 or > Ring.MaxEntries / 2)
        {
            throw new ArgumentOutOfRangeException(nameof(options), _options.QueueEntries, $"QueueEntries must be 1 to {Ring.MaxEntries / 2}.");
        }

        if (_options.FixedFileSlots > MaxFixedFileSlots)
        {
            throw new ArgumentOutOfRangeException(nameof(options), _options.FixedFileSlots, $"FixedFileSlots must be at most {MaxFixedFileSlots}.");
        }

        if (_options.DisposeTimeout < TimeSpan.Zero && _options.DisposeTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(options), _options.DisposeTimeout, "DisposeTimeout must be zero or positive, or Timeout.InfiniteTimeSpan to wait as long as it takes.");
        }

        if (_options.RegisteredBufferCount is < 0 or > MaxRegisteredBuffers)
        {
            throw new ArgumentOutOfRangeException(nameof(options), _options.RegisteredBufferCount, $"RegisteredBufferCount must be 0 to {MaxRegisteredBuffers}.");
        }

        if (_options.RegisteredBufferCount > 0
            && (_options.RegisteredBufferSize is <= 0 or > MaxRegisteredBufferSize
                || (long)RoundToPage(_options.RegisteredBufferSize) * _options.RegisteredBufferCount > int.MaxValue))
        {
            throw new ArgumentOutOfRangeException(nameof(options), _options.RegisteredBufferSize, $"RegisteredBufferSize must be 1 byte to 1 GiB, and all registered buffers together under 2 GiB.");
        }

        if (!Enum.IsDefined(_options.Continuations))
        {
            throw new ArgumentOutOfRangeException(nameof(options), _options.Continuations, "Continuations must be ContinuationMode.ThreadPool or ContinuationMode.Inline.");
        }

        Id = Interlocked.Increment(ref s_nextId);
        Continuations = _options.Continuations;

        // Continuations always run synchronously when an op is completed; what differs is the thread that completes
        // it: the loop itself (Inline) or a pool thread running a CompletionDispatch batch (ThreadPool).
        _pool = new DefaultObjectPool<IoOperation>(new OperationPolicy(this), Math.Max(16, _options.MaxPooledOperations));
        _dispatchToPool = Continuations == ContinuationMode.ThreadPool;
        _dispatch = new CompletionDispatch();
        _closedSentinel = new IoOperation(this);

        using var started = new ManualResetEventSlim();
        _thread = new Thread(() => Run(started))
        {
            IsBackground = true,
            Name = _options.ThreadName,
        };
        _thread.UnsafeStart();
        started.Wait();
        if (_startupError is not null)
        {
            _thread.Join();
            throw _startupError;
        }
    }

    /// <summary>A number identifying the engine in this process (1, 2, ...).</summary>
    public int Id { get; }

    /// <summary>Where continuations run.</summary>
    public ContinuationMode Continuations { get; }

    /// <summary>The flags the engine's ring was set up with (shows whether <c>SINGLE_ISSUER</c>/<c>DEFER_TASKRUN</c> were granted).</summary>
    public SetupFlags SetupFlags { get; private set; }

    /// <summary>The features the kernel reported for the engine's ring.</summary>
    public RingFeatures Features { get; private set; }

    /// <summary>The managed thread id of the loop thread.</summary>
    public int LoopThreadId => _thread.ManagedThreadId;

    /// <summary>True when called on this engine's loop thread (for example from an inline continuation).</summary>
    public bool IsOnLoopThread => t_loopEngine == this;

    /// <summary>Operations submitted to the kernel whose completion has not been reaped yet (a snapshot).</summary>
    public int OperationsInFlight => Volatile.Read(ref _publishedOpsInFlight);

    /// <summary>
    /// Operations the kernel still held when <see cref="Dispose"/> gave up waiting: they never complete and their
    /// buffers stay pinned for the life of the process. 0 unless the kernel could not finish a request in time.
    /// </summary>
    public int AbandonedOperations => Volatile.Read(ref _abandoned);

    /// <summary>Times a submitter had to wake the parked loop with an eventfd write (a diagnostic for batching).</summary>
    public long Wakeups => Interlocked.Read(ref _wakeups);

    /// <summary><c>io_uring_enter</c> calls the loop has made so far (a diagnostic for batching; read racily from other threads).</summary>
    internal long EnterCalls => Volatile.Read(ref _ring)?.EnterCalls ?? 0;

    /// <summary>The ring's descriptor, or -1 before setup (for tests that read <c>/proc/self/fdinfo</c>).</summary>
    internal int RingFd => Volatile.Read(ref _ring)?.Fd ?? -1;

    /// <summary>The group the engine belongs to, if any.</summary>
    public IoUringEngineGroup? Group { get; internal init; }

    /// <summary>The engine whose loop thread is the calling thread, or null.</summary>
    internal static IoUringEngine? CurrentLoopEngine => t_loopEngine;

    /// <summary>True once <see cref="Dispose"/> has started.</summary>
    public bool IsDisposing => Volatile.Read(ref _state) != StateRunning;

    // ------------------------------------------------------------------------------------------------------------
    // Operations.
    // ------------------------------------------------------------------------------------------------------------

    /// <summary>Reads into <paramref name="buffer"/> from <paramref name="fileOffset"/> (<c>IORING_OP_READ</c>, like <c>pread</c>).</summary>
    /// <param name="handle">An open file, pipe or socket handle.</param>
    /// <param name="buffer">Where to read to; pinned until the read completes.</param>
    /// <param name="fileOffset">The file offset; use -1 for a non-seekable file's current position.</param>
    /// <param name="cancellationToken">Cancels the read (see the remarks on <see cref="IoUringEngine"/>).</param>
    /// <returns>The number of bytes read: fewer than asked near the end of the file, 0 at or past it.</returns>
    /// <exception cref="ObjectDisposedException">The handle or the engine is disposed.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before the read completed.</exception>
    /// <exception cref="IoUringException">The kernel failed the read; <see cref="IoUringException.Errno"/> says why.</exception>
    public ValueTask<int> ReadAsync(SafeHandle handle, Memory<byte> buffer, long fileOffset, CancellationToken cancellationToken = default) =>
        ReadAsync(handle, buffer, fileOffset, owner: null, cancellationToken);

    internal ValueTask<int> ReadAsync(SafeHandle handle, Memory<byte> buffer, long fileOffset, IOperationOwner? owner, CancellationToken cancellationToken, int fixedSlot = -1)
    {
        ArgumentNullException.ThrowIfNull(handle);
        ValidateOffset(fileOffset);
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<int>(cancellationToken);
        }

        IoOperation op = Rent(OpKind.Read);
        try
        {
            int fd = op.AddFileRef(handle, fixedSlot);
            nint address = op.Pin(buffer);
            PrepReadOrWrite(op, write: false, fd, address, buffer, fileOffset);
        }
        catch
        {
            Abandon(op);
            throw;
        }

        return new ValueTask<int>(op, Start(op, owner, cancellationToken));
    }

    /// <summary>Writes all of <paramref name="buffer"/> at <paramref name="fileOffset"/> (<c>IORING_OP_WRITE</c>, repeated after short writes).</summary>
    /// <param name="handle">An open file, pipe or socket handle.</param>
    /// <param name="buffer">What to write; pinned until the write completes.</param>
    /// <param name="fileOffset">The file offset; -1 for a non-seekable file.</param>
    /// <param name="cancellationToken">Cancels the write; bytes already written stay written.</param>
    /// <returns>A task that completes when every byte has been written.</returns>
    /// <exception cref="ObjectDisposedException">The handle or the engine is disposed.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before the write completed.</exception>
    /// <exception cref="IoUringException">The kernel failed the write; <see cref="IoUringException.Errno"/> says why.</exception>
    public ValueTask WriteAsync(SafeHandle handle, ReadOnlyMemory<byte> buffer, long fileOffset, CancellationToken cancellationToken = default) =>
        WriteAsync(handle, buffer, fileOffset, owner: null, cancellationToken);

    internal ValueTask WriteAsync(SafeHandle handle, ReadOnlyMemory<byte> buffer, long fileOffset, IOperationOwner? owner, CancellationToken cancellationToken, int fixedSlot = -1)
    {
        ArgumentNullException.ThrowIfNull(handle);
        ValidateOffset(fileOffset);
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        if (buffer.IsEmpty)
        {
            ObjectDisposedException.ThrowIf(handle.IsClosed, handle);
            return ValueTask.CompletedTask;
        }

        IoOperation op = Rent(OpKind.Write);
        try
        {
            int fd = op.AddFileRef(handle, fixedSlot);
            nint address = op.Pin(buffer);
            PrepReadOrWrite(op, write: true, fd, address, buffer, fileOffset);
        }
        catch
        {
            Abandon(op);
            throw;
        }

        return new ValueTask(op, Start(op, owner, cancellationToken));
    }

    /// <summary>Reads into several buffers in order from <paramref name="fileOffset"/> (<c>IORING_OP_READV</c>, like <c>preadv</c>).</summary>
    /// <param name="handle">An open handle.</param>
    /// <param name="buffers">The buffers, filled in order; at most <see cref="MaxIoVecs"/>. Each is pinned until the read completes.</param>
    /// <param name="fileOffset">The file offset.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The total number of bytes read.</returns>
    /// <exception cref="ArgumentException">More than <see cref="MaxIoVecs"/> buffers.</exception>
    public ValueTask<long> ReadAsync(SafeHandle handle, IReadOnlyList<Memory<byte>> buffers, long fileOffset, CancellationToken cancellationToken = default) =>
        ReadAsync(handle, buffers, fileOffset, owner: null, cancellationToken);

    internal ValueTask<long> ReadAsync(SafeHandle handle, IReadOnlyList<Memory<byte>> buffers, long fileOffset, IOperationOwner? owner, CancellationToken cancellationToken, int fixedSlot = -1)
    {
        ArgumentNullException.ThrowIfNull(handle);
        ArgumentNullException.ThrowIfNull(buffers);
        ValidateOffset(fileOffset);
        int count = buffers.Count;
        if (count > MaxIoVecs)
        {
            throw new ArgumentException($"At most {MaxIoVecs} buffers can be read in one request; got {count}.", nameof(buffers));
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<long>(cancellationToken);
        }

        IoOperation op = Rent(OpKind.ReadV);
        try
        {
            int fd = op.AddFileRef(handle, fixedSlot);
            IoVec[] iov = op.EnsureIoVecs(count);
            for (int i = 0; i < count; i++)
            {
                Memory<byte> b = buffers[i];
                iov[i] = new IoVec(op.PinExtra(b), (nuint)b.Length);
            }

            nint iovAddress = op.PinIoVecs();
            op.Template.PrepReadv(fd, iovAddress, (uint)count, (ulong)fileOffset);
        }
        catch
        {
            Abandon(op);
            throw;
        }

        return new ValueTask<long>(op, Start(op, owner, cancellationToken));
    }

    /// <summary>Writes several buffers in order at <paramref name="fileOffset"/> (<c>IORING_OP_WRITEV</c>, repeated after short writes).</summary>
    /// <param name="handle">An open handle.</param>
    /// <param name="buffers">The buffers, written in order; at most <see cref="MaxIoVecs"/>.</param>
    /// <param name="fileOffset">The file offset.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when every byte has been written.</returns>
    /// <exception cref="ArgumentException">More than <see cref="MaxIoVecs"/> buffers.</exception>
    public ValueTask WriteAsync(SafeHandle handle, IReadOnlyList<ReadOnlyMemory<byte>> buffers, long fileOffset, CancellationToken cancellationToken = default) =>
        WriteAsync(handle, buffers, fileOffset, owner: null, cancellationToken);

    internal ValueTask WriteAsync(SafeHandle handle, IReadOnlyList<ReadOnlyMemory<byte>> buffers, long fileOffset, IOperationOwner? owner, CancellationToken cancellationToken, int fixedSlot = -1)
    {
        ArgumentNullException.ThrowIfNull(handle);
        ArgumentNullException.ThrowIfNull(buffers);
        ValidateOffset(fileOffset);
        int count = buffers.Count;
        if (count > MaxIoVecs)
        {
            throw new ArgumentException($"At most {MaxIoVecs} buffers can be written in one request; got {count}.", nameof(buffers));
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        long total = 0;
        for (int i = 0; i < count; i++)
        {
            total += buffers[i].Length;
        }

        if (total == 0)
        {
            ObjectDisposedException.ThrowIf(handle.IsClosed, handle);
            return ValueTask.CompletedTask;
        }

        IoOperation op = Rent(OpKind.WriteV);
        try
        {
            int fd = op.AddFileRef(handle, fixedSlot);
            IoVec[] iov = op.EnsureIoVecs(count);
            for (int i = 0; i < count; i++)
            {
                ReadOnlyMemory<byte> b = buffers[i];
                iov[i] = new IoVec(op.PinExtra(b), (nuint)b.Length);
            }

            op.IoVecAddress = op.PinIoVecs();
            op.Template.PrepWritev(fd, op.IoVecAddress, (uint)count, (ulong)fileOffset);
        }
        catch
        {
            Abandon(op);
            throw;
        }

        return new ValueTask(op, Start(op, owner, cancellationToken));
    }

    /// <summary>Flushes the file's data and metadata to the device (<c>fsync</c>), or only what is needed to read the data back (<c>fdatasync</c>).</summary>
    /// <param name="handle">An open handle.</param>
    /// <param name="dataOnly">True for <c>fdatasync</c>.</param>
    /// <param name="cancellationToken">Cancels the wait (a running fsync usually finishes anyway).</param>
    /// <returns>A task that completes when the data is durable.</returns>
    public ValueTask FlushAsync(SafeHandle handle, bool dataOnly = false, CancellationToken cancellationToken = default) =>
        FlushAsync(handle, dataOnly, owner: null, cancellationToken);

    internal ValueTask FlushAsync(SafeHandle handle, bool dataOnly, IOperationOwner? owner, CancellationToken cancellationToken, int fixedSlot = -1)
    {
        ArgumentNullException.ThrowIfNull(handle);
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        IoOperation op = Rent(OpKind.Fsync);
        try
        {
            int fd = op.AddFileRef(handle, fixedSlot);
            op.Template.PrepFsync(fd, dataOnly ? FsyncFlags.DataSync : FsyncFlags.None);
        }
        catch
        {
            Abandon(op);
            throw;
        }

        return new ValueTask(op, Start(op, owner, cancellationToken));
    }

    /// <summary>Allocates disk space for <paramref name="length"/> bytes from <paramref name="offset"/> (<c>fallocate</c>).</summary>
    /// <param name="handle">A handle open for writing.</param>
    /// <param name="offset">Start of the range.</param>
    /// <param name="length">Length of the range, greater than 0.</param>
    /// <param name="keepSize">True to leave the file size unchanged (<c>FALLOC_FL_KEEP_SIZE</c>); false to extend it to the range's end.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the space is allocated.</returns>
    /// <exception cref="IoUringException"><c>ENOSPC</c> when the device is full, <c>EOPNOTSUPP</c> when the file system cannot preallocate.</exception>
    public ValueTask AllocateAsync(SafeHandle handle, long offset, long length, bool keepSize = false, CancellationToken cancellationToken = default) =>
        AllocateAsync(handle, offset, length, keepSize, owner: null, cancellationToken);

    internal ValueTask AllocateAsync(SafeHandle handle, long offset, long length, bool keepSize, IOperationOwner? owner, CancellationToken cancellationToken, int fixedSlot = -1)
    {
        ArgumentNullException.ThrowIfNull(handle);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        IoOperation op = Rent(OpKind.Fallocate);
        try
        {
            int fd = op.AddFileRef(handle, fixedSlot);
            op.Template.PrepFallocate(fd, keepSize ? FallocKeepSize : 0, (ulong)offset, (ulong)length);
        }
        catch
        {
            Abandon(op);
            throw;
        }

        return new ValueTask(op, Start(op, owner, cancellationToken));
    }

    /// <summary>Truncates or extends the file to <paramref name="length"/> bytes (<c>IORING_OP_FTRUNCATE</c> on Linux 6.9+, else <c>ftruncate</c> on the calling thread).</summary>
    /// <param name="handle">A file handle open for writing.</param>
    /// <param name="length">The new length.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the length is set.</returns>
    public ValueTask SetLengthAsync(SafeFileHandle handle, long length, CancellationToken cancellationToken = default) =>
        SetLengthAsync(handle, length, owner: null, cancellationToken);

    internal ValueTask SetLengthAsync(SafeFileHandle handle, long length, IOperationOwner? owner, CancellationToken cancellationToken, int fixedSlot = -1)
    {
        ArgumentNullException.ThrowIfNull(handle);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        if (!s_hasFtruncate.Value)
        {
            // Kernels before 6.9 have no IORING_OP_FTRUNCATE: truncate on the calling thread, with the same
            // ObjectDisposedException as the ring path once the engine is shutting down.
            ThrowIfDisposing();
            RandomAccess.SetLength(handle, length);
            return ValueTask.CompletedTask;
        }

        IoOperation op = Rent(OpKind.Ftruncate);
        try
        {
            int fd = op.AddFileRef(handle, fixedSlot);
            op.Template.PrepFtruncate(fd, (ulong)length);
        }
        catch
        {
            Abandon(op);
            throw;
        }

        return new ValueTask(op, Start(op, owner, cancellationToken));
    }

    /// <summary>Opens <paramref name="path"/> with <c>IORING_OP_OPENAT</c>; the path lookup and open run in the kernel, off the calling thread.</summary>
    /// <param name="path">The file's path (relative paths resolve from the working directory).</param>
    /// <param name="flags">The <c>open(2)</c> flags; <c>O_CLOEXEC</c> is always added.</param>
    /// <param name="mode">Permission bits for a created file.</param>
    /// <param name="cancellationToken">Cancels the open.</param>
    /// <returns>The new descriptor, owned by the returned handle.</returns>
    /// <exception cref="ArgumentException">The path is null, empty or contains a null character.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist (and <c>O_CREAT</c> was not given).</exception>
    /// <exception cref="DirectoryNotFoundException">A directory in the path does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">Permission denied.</exception>
    /// <exception cref="IoUringException">Any other failure, with its errno.</exception>
    public async ValueTask<SafeFileHandle> OpenAsync(string path, int flags, UnixFileMode mode = DefaultCreateMode, CancellationToken cancellationToken = default)
    {
        ValidatePath(path);
        cancellationToken.ThrowIfCancellationRequested();
        IoOperation op = Rent(OpKind.OpenAt);
        try
        {
            op.Path = path;
            nint pathAddress = op.Pin(NulTerminated(path));
            op.Template.PrepOpenAt(Sqe.AtFdCwd, pathAddress, flags | Libc.O_CLOEXEC, (uint)mode);
        }
        catch
        {
            Abandon(op);
            throw;
        }

        long fd = await new ValueTask<long>(op, Start(op, owner: null, cancellationToken)).ConfigureAwait(false);
        return new SafeFileHandle((nint)fd, ownsHandle: true);
    }

    /// <summary>
    /// Closes <paramref name="handle"/>'s descriptor with <c>IORING_OP_CLOSE</c>. The handle is marked invalid first, so
    /// later use through it throws <see cref="ObjectDisposedException"/>. Like <c>close(2)</c>, call it only when no other
    /// operation is pending or about to start on the descriptor (<see cref="UringFile.DisposeAsync"/> waits for its
    /// own operations first); otherwise prefer <see cref="SafeHandle.Dispose()"/>, which defers the close until the
    /// last user has finished.
    /// </summary>
    /// <param name="handle">The handle to close; it must own its descriptor.</param>
    /// <returns>A task that completes when the descriptor is closed.</returns>
    public ValueTask CloseAsync(SafeFileHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        if (handle.IsClosed || handle.IsInvalid)
        {
            return ValueTask.CompletedTask;
        }

        ThrowIfDisposing();
        int fd = (int)handle.DangerousGetHandle();
        IoOperation op = Rent(OpKind.Close);
        op.Template.PrepClose(fd);
        // From here the SafeHandle no longer owns the fd: the CLOSE request does. If the engine refuses the
        // operation, fall back to a synchronous close so the descriptor is never leaked.
        handle.SetHandleAsInvalid();
        short version;
        try
        {
            version = Start(op, owner: null, CancellationToken.None);
        }
        catch (ObjectDisposedException)
        {
            _ = Libc.Close(fd);
            throw;
        }

        return new ValueTask(op, version);
    }

    /// <summary>Reads the metadata of an open file (<c>statx</c> with <c>AT_EMPTY_PATH</c>).</summary>
    /// <param name="handle">An open handle.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The file's <see cref="Statx"/>.</returns>
    public ValueTask<Statx> StatAsync(SafeHandle handle, CancellationToken cancellationToken = default) =>
        StatCoreAsync(handle, path: null, followSymlinks: true, cancellationToken);

    /// <summary>Reads the metadata of the file at <paramref name="path"/> (<c>statx</c>).</summary>
    /// <param name="path">The path.</param>
    /// <param name="followSymlinks">False to describe a symbolic link itself (<c>AT_SYMLINK_NOFOLLOW</c>).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The file's <see cref="Statx"/>.</returns>
    /// <exception cref="FileNotFoundException">Nothing exists at <paramref name="path"/>.</exception>
    public ValueTask<Statx> StatAsync(string path, bool followSymlinks = true, CancellationToken cancellationToken = default)
    {
        ValidatePath(path);
        return StatCoreAsync(handle: null, path, followSymlinks, cancellationToken);
    }

    private async ValueTask<Statx> StatCoreAsync(SafeHandle? handle, string? path, bool followSymlinks, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        byte[] result = new byte[Marshal.SizeOf<Statx>()];
        IoOperation op = Rent(OpKind.Statx);
        try
        {
            int dirFd = Sqe.AtFdCwd;
            int flags = followSymlinks ? 0 : AtSymlinkNoFollow;
            if (handle is not null)
            {
                dirFd = op.AddHandleRef(handle);
                flags |= AtEmptyPath;
            }

            op.Path = path;
            nint pathAddress = op.Pin(NulTerminated(path ?? string.Empty));
            nint resultAddress = op.PinExtra(result);
            op.Template.PrepStatx(dirFd, pathAddress, flags, StatxAll, resultAddress);
        }
        catch
        {
            Abandon(op);
            throw;
        }

        _ = await new ValueTask<long>(op, Start(op, owner: null, cancellationToken)).ConfigureAwait(false);
        return MemoryMarshal.Read<Statx>(result);
    }

    /// <summary>A request that does nothing in the kernel (<c>IORING_OP_NOP</c>): measures the engine's own cost per operation.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the NOP's CQE is reaped.</returns>
    public ValueTask NopAsync(CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        IoOperation op = Rent(OpKind.Nop);
        op.Template.PrepNop();
        return new ValueTask(op, Start(op, owner: null, cancellationToken));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Registered (fixed) files.
    // ------------------------------------------------------------------------------------------------------------

    /// <summary>What a FILES_UPDATE reads to clear a slot: the fd -1. The kernel only reads it, so one array serves all.</summary>
    private static readonly byte[] s_clearSlot = BitConverter.GetBytes(-1);

    /// <summary>
    /// Slots in the engine's registered-file table: <see cref="IoUringEngineOptions.FixedFileSlots"/>, or 0 when the
    /// option is 0 or the kernel could not register a sparse table (files then always use their plain descriptor).
    /// </summary>
    public int FixedFileSlots { get; private set; }

    /// <summary>
    /// Puts <paramref name="handle"/>'s descriptor in a free slot of the registered-file table (IORING_OP_FILES_UPDATE
    /// with IORING_FILE_INDEX_ALLOC, run by the loop like any request). Nobody awaits it: the outcome reaches
    /// <paramref name="owner"/> through <see cref="IOperationOwner.OnFixedFileInstalled"/> (slot, or -1 when the table
    /// is full or the request failed), right before the op stops counting as pending for it. Returns false when
    /// nothing was started (no table, engine or owner closing).
    /// </summary>
    internal bool TryInstallFixedFile(SafeHandle handle, IOperationOwner owner)
    {
        if (FixedFileSlots == 0 || IsDisposing)
        {
            return false;
        }

        IoOperation op;
        try
        {
            op = Rent(OpKind.InstallFixedFile);
        }
        catch (ObjectDisposedException)
        {
            return false;
        }

        try
        {
            // The handle reference keeps the fd valid until the kernel has taken its own reference to the file.
            int fd = op.AddHandleRef(handle);
            byte[] argument = BitConverter.GetBytes(fd);
            op.FilesUpdateArgument = argument;
            nint address = op.Pin(argument);
            op.Template.PrepFilesUpdate(address, 1, -1);
            op.FireAndForget = true;
        }
        catch (ObjectDisposedException)
        {
            Abandon(op);
            return false;
        }

        try
        {
            _ = Start(op, owner, CancellationToken.None);
        }
        catch (ObjectDisposedException)
        {
            return false;
        }

        return true;
    }

    /// <summary>
    /// Clears registered-file slot <paramref name="slot"/>, dropping the table's reference to the file. Call it only
    /// when no request naming the slot is pending or about to start. With <paramref name="fireAndForget"/> nobody
    /// awaits the request and the returned task is already complete.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The engine is shutting down (its table goes away with the ring).</exception>
    internal ValueTask RemoveFixedFileAsync(int slot, bool fireAndForget)
    {
        IoOperation op = Rent(OpKind.RemoveFixedFile);
        nint address = op.Pin(s_clearSlot);
        op.Template.PrepFilesUpdate(address, 1, slot);
        op.FireAndForget = fireAndForget;
        short version = Start(op, owner: null, CancellationToken.None);
        return fireAndForget ? ValueTask.CompletedTask : new ValueTask(op, version);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Submission plumbing.
    // ------------------------------------------------------------------------------------------------------------

    /// <summary>The mode used by <see cref="OpenAsync"/> for new files: 0666 before the umask, like <see cref="File.Create(string)"/>.</summary>
    public const UnixFileMode DefaultCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite;

    private const int FallocKeepSize = 1;
    private const int AtSymlinkNoFollow = 0x100;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxAll = 0xfff;

    private static readonly Lazy<bool> s_hasFtruncate = new(() => Probe.Current.IsSupported(Opcode.Ftruncate));

    /// <summary>
    /// Refuses null, empty and paths with an embedded NUL: the kernel reads a path up to its first NUL, so
    /// <c>"a\0b"</c> would silently name <c>"a"</c> (<see cref="File"/> APIs refuse such paths too).
    /// </summary>
    internal static void ValidatePath(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (path.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("The path contains a null character.", nameof(path));
        }
    }

    private static byte[] NulTerminated(string s)
    {
        byte[] bytes = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        Encoding.UTF8.GetBytes(s, bytes);
        return bytes;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ValidateOffset(long fileOffset)
    {
        if (fileOffset < -1)
        {
            ThrowOffset(fileOffset);
        }
    }

    private static void ThrowOffset(long fileOffset) =>
        throw new ArgumentOutOfRangeException(nameof(fileOffset), fileOffset, "The file offset must be non-negative (or -1 for the current position of a non-seekable file).");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private IoOperation Rent(OpKind kind)
    {
        ThrowIfDisposing();
        IoOperation op = _pool.Get();
        op.Kind = kind;
        return op;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Registered buffers.

    /// <summary>
    /// Registered buffers the engine has (<see cref="IoUringEngineOptions.RegisteredBufferCount"/>), or 0 when none were
    /// asked for or the kernel refused them (see <see cref="RegisteredBuffersError"/>).
    /// </summary>
    public int RegisteredBufferCount => _registeredBuffers is { IsRegistered: true } pool ? pool.Count : 0;

    /// <summary>Why the kernel refused to register the buffers (for example <c>ENOMEM</c>: <c>RLIMIT_MEMLOCK</c>), or null.</summary>
    public IoUringException? RegisteredBuffersError { get; private set; }

    /// <summary>
    /// Reads and writes submitted with a registered buffer (<c>READ_FIXED</c>/<c>WRITE_FIXED</c>) so far: a check that
    /// the buffers in use really are this engine's registered ones.
    /// </summary>
    public long FixedBufferRequests => Volatile.Read(ref _fixedBufferRequests);

    /// <summary>Registered buffers not rented right now.</summary>
    public int AvailableRegisteredBuffers => _registeredBuffers?.Available ?? 0;

    /// <summary>
    /// Rents a buffer of <see cref="IoUringEngineOptions.RegisteredBufferSize"/> bytes from the engine's registered
    /// buffers. Reads and writes of this engine into it use the kernel's fixed-buffer requests. Give it back with
    /// <see cref="IDisposable.Dispose"/>.
    /// </summary>
    /// <returns>The buffer.</returns>
    /// <exception cref="InvalidOperationException">The engine has no registered buffers, or all of them are rented.</exception>
    /// <exception cref="ObjectDisposedException">The engine is disposed.</exception>
    public RegisteredBuffer RentRegisteredBuffer()
    {
        if (TryRentRegisteredBuffer(out RegisteredBuffer? buffer))
        {
            return buffer;
        }

        ThrowIfDisposing();
        throw new InvalidOperationException(_registeredBuffers is null
            ? "The engine has no registered buffers: set IoUringEngineOptions.RegisteredBufferCount."
            : $"All {_registeredBuffers.Count} registered buffers are rented.");
    }

    /// <summary>Rents a registered buffer if one is free (see <see cref="RentRegisteredBuffer"/>).</summary>
    /// <param name="buffer">The buffer, or null.</param>
    /// <returns>False when the engine has none free (or none at all, or is disposed).</returns>
    public bool TryRentRegisteredBuffer([NotNullWhen(true)] out RegisteredBuffer? buffer)
    {
        buffer = null;
        return Volatile.Read(ref _state) == StateRunning && _registeredBuffers is not null && _registeredBuffers.TryRent(out buffer);
    }

    /// <summary>Fills a read or write SQE, as the fixed-buffer opcode when <paramref name="memory"/> is one of this engine's registered buffers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void PrepReadOrWrite(IoOperation op, bool write, int fd, nint address, ReadOnlyMemory<byte> memory, long fileOffset)
    {
        if (_registeredBuffers is not null && _registeredBuffers.TryGetIndex(memory, out ushort index))
        {
            if (write)
            {
                op.Template.PrepWriteFixed(fd, address, (uint)memory.Length, (ulong)fileOffset, index);
            }
            else
            {
                op.Template.PrepReadFixed(fd, address, (uint)memory.Length, (ulong)fileOffset, index);
            }
        }
        else if (write)
        {
            op.Template.PrepWrite(fd, address, (uint)memory.Length, (ulong)fileOffset);
        }
        else
        {
            op.Template.PrepRead(fd, address, (uint)memory.Length, (ulong)fileOffset);
        }
    }

    /// <summary>Gives back an op whose preparation failed before it was pushed.</summary>
    private static void Abandon(IoOperation op)
    {
        op.ReleaseResources();
        op.ResetAndReturn();
    }

    internal void ReturnOperation(IoOperation op) => _pool.Return(op);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ThrowIfDisposing()
    {
        if (Volatile.Read(ref _state) != StateRunning)
        {
            ThrowDisposed();
        }
    }

    private static void ThrowDisposed() => throw new ObjectDisposedException(nameof(IoUringEngine));

    /// <summary>Arms cancellation and pushes the op to the loop; returns the version for the ValueTask.</summary>
    private short Start(IoOperation op, IOperationOwner? owner, CancellationToken cancellationToken)
    {
        if (owner is not null)
        {
            if (!owner.TryBeginOperation())
            {
                Abandon(op);
                throw new ObjectDisposedException(owner.GetType().Name);
            }

            op.Owner = owner;
        }

        short version = op.Arm(cancellationToken);
        if (!TryPush(op))
        {
            op.Owner = null;
            owner?.OnOperationCompleted();
            Abandon(op);
            ThrowDisposed();
        }

        return version;
    }

    /// <summary>Pushes onto the submission stack and wakes the loop if it is parked. Lock-free; one CAS when the loop is busy.</summary>
    private bool TryPush(IoOperation op)
    {
        if (t_loopEngine == this && !_loopClosed)
        {
            // On the loop thread itself (an inline continuation submitting its next request): queue it in the loop's
            // own list. No atomics and no wake-up: the loop looks at that list before it spins or parks.
            PushLocal(op);
            return true;
        }

        if (CompletionDispatch.CollectingFor(this) is CompletionDispatch dispatch && Volatile.Read(ref _state) == StateRunning)
        {
            // A continuation running in one of this engine's thread-pool batches: collect the request in the batch's
            // own list, which goes to the loop as one chain when the batch ends. The push is a full fence, so either
            // the loop, about to park, sees the list (it takes it instead of parking) or we see it parked (or shutting
            // down) here and publish at once; see CompletionDispatch.
            dispatch.Push(op);
            if (Volatile.Read(ref _parked) != 0 || Volatile.Read(ref _state) != StateRunning)
            {
                dispatch.Publish(this);
            }

            return true;
        }

        if (!TryPushOntoStack(op, op))
        {
            return false;
        }

        // The CAS in the push is a full fence, so this read cannot move before it: either the loop sees our op when it
        // re-checks the stack after setting _parked, or we see _parked set and wake it (Dekker).
        WakeIfParked();
        return true;
    }

    /// <summary>
    /// Links the chain <paramref name="newest"/>..<paramref name="oldest"/> (by <see cref="IoOperation.NextSubmit"/>) onto
    /// the submission stack with one successful CAS. Returns false, without linking, once the loop has closed the stack.
    /// </summary>
    private bool TryPushOntoStack(IoOperation newest, IoOperation oldest)
    {
        IoOperation? head = Volatile.Read(ref _submitHead);
        while (true)
        {
            if (ReferenceEquals(head, _closedSentinel))
            {
                return false;
            }

            oldest.NextSubmit = head;
            IoOperation? seen = Interlocked.CompareExchange(ref _submitHead, newest, head);
            if (ReferenceEquals(seen, head))
            {
                return true;
            }

            head = seen;
        }
    }

    /// <summary>
    /// Pushes a chain of ops (newest first, linked by <see cref="IoOperation.NextSubmit"/>, ending at
    /// <paramref name="oldest"/>) onto the submission stack with one CAS, and wakes the loop at most once. Ops refused
    /// because the engine has shut down fail with <see cref="ObjectDisposedException"/> on a pool thread.
    /// </summary>
    internal void PushChain(IoOperation newest, IoOperation oldest)
    {
        if (!TryPushOntoStack(newest, oldest))
        {
            // Accepted by the batch but the loop is gone. Fail them away from the caller's stack: completing them
            // here would run other continuations inside the call that made the request.
            oldest.NextSubmit = null;
            ThreadPool.UnsafeQueueUserWorkItem(static list => FailRefused((IoOperation)list!), newest);
            return;
        }

        WakeIfParked();
    }

    private static void FailRefused(IoOperation? list)
    {
        while (list is not null)
        {
            IoOperation op = list;
            list = op.NextSubmit;
            op.NextSubmit = null;
            op.Complete(-Errno.ECANCELED);
        }
    }

    /// <summary>The thread-pool batches running right now that collect requests (see <see cref="CompletionDispatch"/>); the loop may take their lists.</summary>
    private readonly CompletionDispatch?[] _runningDispatches = new CompletionDispatch?[RunningDispatchSlots];

    private const int RunningDispatchSlots = 8;

    /// <summary>Registers a batch that is starting to run; returns its slot, or -1 when all are taken (it then runs unbatched).</summary>
    internal int RegisterRunningDispatch(CompletionDispatch dispatch)
    {
        CompletionDispatch?[] slots = _runningDispatches;
        int start = Environment.CurrentManagedThreadId & (RunningDispatchSlots - 1);
        for (int i = 0; i < RunningDispatchSlots; i++)
        {
            int k = (start + i) & (RunningDispatchSlots - 1);
            if (Volatile.Read(ref slots[k]) is null && Interlocked.CompareExchange(ref slots[k], dispatch, null) is null)
            {
                return k;
            }
        }

        return -1;
    }

    internal void UnregisterRunningDispatch(int slot)
    {
        Volatile.Write(ref _runningDispatches[slot], null);
    }

    internal void PushCancel(IoOperation op)
    {
        IoOperation? head = Volatile.Read(ref _cancelHead);
        while (true)
        {
            if (ReferenceEquals(head, _closedSentinel))
            {
                // The loop has shut down and cancelled everything already.
                return;
            }

            op.NextCancel = head;
            IoOperation? seen = Interlocked.CompareExchange(ref _cancelHead, op, head);
            if (ReferenceEquals(seen, head))
            {
                break;
            }

            head = seen;
        }

        WakeIfParked();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void WakeIfParked()
    {
        if (Volatile.Read(ref _parked) != 0 && Interlocked.Exchange(ref _parked, 0) != 0)
        {
            Wake();
        }
    }

    private void Wake()
    {
        SafeFileHandle? h = Volatile.Read(ref _wakeHandle);
        if (h is null)
        {
            return;
        }

        bool added = false;
        try
        {
            // The reference keeps the eventfd open (and its number unused by anything else) until the write is done.
            h.DangerousAddRef(ref added);
            _ = Libc.EventFdWrite((int)h.DangerousGetHandle(), 1);
            Interlocked.Increment(ref _wakeups);
        }
        catch (ObjectDisposedException)
        {
            // The loop already shut down; there is nobody to wake.
        }
        finally
        {
            if (added)
            {
                h.DangerousRelease();
            }
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Dispose.
    // ------------------------------------------------------------------------------------------------------------

    /// <summary>
    /// Stops the engine: refuses new operations, cancels pending ones (they fail with <see cref="ObjectDisposedException"/>
    /// unless they completed first), waits for the kernel to release their buffers, then closes the ring. Called on
    /// the loop thread (from an inline continuation) it only starts the shutdown, which finishes when the
    /// continuation returns.
    /// </summary>
    public void Dispose()
    {
        BeginStop();
        if (!IsOnLoopThread)
        {
            _thread.Join();
        }
    }

    /// <summary>Like <see cref="Dispose"/>, but waits for the loop to finish asynchronously.</summary>
    /// <returns>A task that completes when the engine has stopped.</returns>
    public ValueTask DisposeAsync()
    {
        BeginStop();
        return IsOnLoopThread ? ValueTask.CompletedTask : new ValueTask(_stopped.Task);
    }

    private void BeginStop()
    {
        if (Interlocked.CompareExchange(ref _state, StateDisposing, StateRunning) == StateRunning)
        {
            Interlocked.Exchange(ref _parked, 0);
            Wake();
        }
    }

    /// <summary>
    /// Free dispatches, a lock-free stack linked through <see cref="CompletionDispatch.NextFree"/>: pool threads push,
    /// only the loop takes (all at once, into <see cref="_freeDispatchesLocal"/>), so there is no ABA problem. Unlike
    /// an <c>ObjectPool</c> (a ConcurrentQueue that allocates segments as its fill level swings), it never allocates
    /// once as many dispatches exist as are ever outstanding at once.
    /// </summary>
    private CompletionDispatch? _freeDispatches;

    internal void ReturnDispatch(CompletionDispatch dispatch)
    {
        CompletionDispatch? head = Volatile.Read(ref _freeDispatches);
        while (true)
        {
            dispatch.NextFree = head;
            CompletionDispatch? seen = Interlocked.CompareExchange(ref _freeDispatches, dispatch, head);
            if (ReferenceEquals(seen, head))
            {
                return;
            }

            head = seen;
        }
    }

    private sealed class OperationPolicy(IoUringEngine engine) : IPooledObjectPolicy<IoOperation>
    {
        public IoOperation Create() => new(engine);

        public bool Return(IoOperation obj) => true;
    }
}

/// <summary>Something that tracks the operations it started (a <see cref="UringFile"/>, so that closing it can wait for them).</summary>
internal interface IOperationOwner
{
    /// <summary>
    /// Called on the submitting thread right before the op is pushed; false refuses it (the owner is closing). The
    /// owner counts the op before it checks whether it is closing, and its close sets the flag before it reads the
    /// count, so either the op is refused or the close waits for it.
    /// </summary>
    bool TryBeginOperation();

    /// <summary>
    /// Called on the thread completing an <c>InstallFixedFile</c> op the owner started, before its
    /// <see cref="OnOperationCompleted"/>: <paramref name="slot"/> is the registered-file slot of
    /// <paramref name="engine"/> now holding the owner's file, or -1 when none could be had.
    /// </summary>
    void OnFixedFileInstalled(IoUringEngine engine, int slot);

    /// <summary>Called once for every op <see cref="TryBeginOperation"/> accepted, when its result is published or it was refused later.</summary>
    void OnOperationCompleted();
}
