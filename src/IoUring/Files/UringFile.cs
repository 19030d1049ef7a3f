using System.Runtime.InteropServices;
using IoUring.Interop;
using Microsoft.Win32.SafeHandles;

namespace IoUring;

/// <summary>
/// A file whose I/O goes through an <see cref="IoUringEngine"/> (or an <see cref="IoUringEngineGroup"/>): the shape of
/// <see cref="RandomAccess"/> — positional <c>ReadAsync</c>/<c>WriteAsync</c> with a file offset, no shared position —
/// with true asynchronous I/O instead of a thread-pool thread blocked in <c>pread</c>.
/// </summary>
/// <remarks>
/// <para>Every method is safe to call concurrently from many threads; reads and writes at different offsets run in
/// parallel in the kernel. Buffers are pinned until their I/O completes, also across cancellation and disposal.</para>
/// <para>Errors are the ones <see cref="File.OpenHandle"/> and <see cref="RandomAccess"/> throw in the same situation,
/// with the same messages and full paths: <see cref="FileNotFoundException"/>, <see cref="DirectoryNotFoundException"/>,
/// <see cref="UnauthorizedAccessException"/> (no permission, a directory, or a read from a file opened only for writing
/// and vice versa) and <see cref="PathTooLongException"/>, each with an <see cref="IoUringException"/> carrying the
/// errno inside; <see cref="ArgumentOutOfRangeException"/> for a negative file offset; <see cref="IoUringException"/>
/// (an <see cref="IOException"/> with <see cref="IoUringException.Errno"/>) where .NET throws an <see cref="IOException"/>;
/// <see cref="OperationCanceledException"/> when the token cancelled the operation, and
/// <see cref="ObjectDisposedException"/> once the file or the engine is disposed.</para>
/// <para>Opening through io_uring (<see cref="OpenAsync(IoUringEngine, string, FileStreamOptions, CancellationToken)"/>)
/// takes no advisory lock for <see cref="FileShare"/>; <see cref="Open(IoUringEngine, string, FileStreamOptions)"/>
/// opens like <see cref="File.OpenHandle"/> (with its locking) on the calling thread.</para>
/// </remarks>
public sealed partial class UringFile : IDisposable, IAsyncDisposable, IOperationOwner, IFileErrorSource
{
    private readonly IoUringEngine? _engine;
    private readonly IoUringEngineGroup? _group;
    private readonly SafeFileHandle _handle;
    private readonly bool _ownsHandle;

    /// <summary>
    /// Operations started through this file whose result is not published yet, counted per engine (indexed like
    /// <see cref="_slots"/>), each count on a cache line of its own: the engines' threads count without sharing a line.
    /// </summary>
    private readonly PendingCount[] _pending;
    private int _closing;
    private TaskCompletionSource? _drained;

    /// <summary>
    /// The file's slot in the registered-file table of each engine it uses (index 0 for a file on one engine, the
    /// engine's <see cref="IoUringEngine.GroupIndex"/> for a file on a group), or -1 (not yet installed, table full or
    /// absent, or already released). Requests read it when they start; each is set once by its install op's completion
    /// and taken back (exchanged for -1) only when the file is closing and no op is pending.
    /// </summary>
    private readonly int[] _slots;

    /// <summary>Install requests whose completion has not arrived yet.</summary>
    private int _installsPending;

    private UringFile(IoUringEngine? engine, IoUringEngineGroup? group, SafeFileHandle handle, bool ownsHandle, FileAccess access, string? path)
    {
        _engine = engine;
        _group = group;
        _handle = handle;
        _ownsHandle = ownsHandle;
        Access = access;
        Path = path;

        // The file puts its descriptor in the registered-file table of every engine it uses; requests then name the slot
        // (IOSQE_FIXED_FILE), sparing the kernel an fget/fput per request and the file's SafeHandle two atomic operations
        // on a line every engine shares. The installs run on the engines and nobody waits for them: requests use the
        // plain fd until an install's completion publishes its slot.
        int engines = engine is not null ? 1 : group!.Count;
        _pending = new PendingCount[engines];
        _slots = new int[engines];
        Array.Fill(_slots, -1);
        _installsPending = engines;
        for (int i = 0; i < engines; i++)
        {
            if (!EngineAt(i).TryInstallFixedFile(handle, this))
            {
                Interlocked.Decrement(ref _installsPending);
            }
        }
    }

    /// <summary>The file's slot in its (single) engine's registered-file table, or -1 when its requests use the plain descriptor.</summary>
    internal int FixedFileSlot => Volatile.Read(ref _slots[0]);

    /// <summary>True once every install request has completed, whatever its outcome; for tests.</summary>
    internal bool FixedFileSettled => Volatile.Read(ref _installsPending) == 0;

    /// <summary>The file's slot in <paramref name="engine"/>'s registered-file table, or -1.</summary>
    internal int FixedFileSlotOn(IoUringEngine engine) => SlotIndex(engine) is int i and >= 0 ? Volatile.Read(ref _slots[i]) : -1;

    private IoUringEngine EngineAt(int index) => _engine ?? _group!.Engines[index];

    /// <summary>Where <paramref name="engine"/>'s slot is kept in <see cref="_slots"/>, or -1 for an engine the file does not use.</summary>
    private int SlotIndex(IoUringEngine engine) =>
        _engine is not null ? (ReferenceEquals(engine, _engine) ? 0 : -1)
        : ReferenceEquals(engine.Group, _group) ? engine.GroupIndex : -1;

    /// <summary>The engine for a request from the calling thread, and the file's slot on it.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private IoUringEngine Target(out int slot)
    {
        if (_engine is not null)
        {
            slot = Volatile.Read(ref _slots[0]);
            return _engine;
        }

        IoUringEngine e = _group!.Current;
        slot = Volatile.Read(ref _slots[e.GroupIndex]);
        return e;
    }

    /// <summary>The file descriptor's handle. Do not close it while the file is in use.</summary>
    public SafeFileHandle Handle => _handle;

    /// <summary>The access the file was opened with (as declared for an adopted handle).</summary>
    public FileAccess Access { get; }

    /// <summary>The full path of the file (like <see cref="FileStream.Name"/>), or null for an adopted handle.</summary>
    public string? Path { get; }

    /// <summary>The engine the file uses, or, for a file on a group, the engine the calling thread would use now.</summary>
    public IoUringEngine Engine => _engine ?? _group!.Current;

    /// <summary>True once <see cref="Dispose"/> or <see cref="DisposeAsync"/> has started.</summary>
    public bool IsClosed => Volatile.Read(ref _closing) != 0;

    /// <summary>The file's current length (<c>fstat</c> on the calling thread).</summary>
    /// <exception cref="ObjectDisposedException">The file is disposed.</exception>
    public long Length
    {
        get
        {
            ThrowIfClosed();
            return RandomAccess.GetLength(_handle);
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Creating.
    // ------------------------------------------------------------------------------------------------------------

    /// <summary>
    /// Opens a file on the calling thread, exactly like <see cref="File.OpenHandle"/>, for I/O through the process-wide
    /// default engines (<see cref="IoUringEngineGroup.Default"/>: one per core, started on first use, stopped at exit).
    /// </summary>
    /// <param name="path">The path.</param>
    /// <param name="mode">How to open or create.</param>
    /// <param name="access">Read, write or both.</param>
    /// <param name="share">What other opens may do (advisory locks, as <see cref="File.OpenHandle"/> takes them).</param>
    /// <param name="options">Options; <c>(FileOptions)0x20000000</c> asks for <c>O_DIRECT</c> as with <see cref="FileStream"/>.</param>
    /// <returns>The file, owning its handle.</returns>
    /// <exception cref="IoUringSetupException">io_uring is unavailable here; the message says why.</exception>
    public static UringFile Open(string path, FileMode mode = FileMode.Open, FileAccess access = FileAccess.Read, FileShare share = FileShare.Read, FileOptions options = FileOptions.None) =>
        Open(IoUringEngineGroup.Default, path, mode, access, share, options);

    /// <summary>Opens a file on the calling thread like <see cref="File.OpenHandle"/>, for I/O through the default engines.</summary>
    /// <param name="path">The path.</param>
    /// <param name="options">Mode, access, share, options and preallocation size.</param>
    /// <returns>The file, owning its handle.</returns>
    /// <exception cref="IoUringSetupException">io_uring is unavailable here; the message says why.</exception>
    public static UringFile Open(string path, FileStreamOptions options) => Open(IoUringEngineGroup.Default, path, options);

    /// <summary>Opens a file with <c>IORING_OP_OPENAT</c> (no thread blocks on the open), for I/O through the default engines.</summary>
    /// <param name="path">The path.</param>
    /// <param name="mode">How to open or create (<see cref="FileMode.Append"/> is refused: the API is positional).</param>
    /// <param name="access">Read, write or both.</param>
    /// <param name="cancellationToken">Cancels the open.</param>
    /// <returns>The file, owning its handle.</returns>
    /// <exception cref="IoUringSetupException">io_uring is unavailable here; the message says why.</exception>
    public static ValueTask<UringFile> OpenAsync(string path, FileMode mode = FileMode.Open, FileAccess access = FileAccess.Read, CancellationToken cancellationToken = default) =>
        OpenAsync(IoUringEngineGroup.Default, path, mode, access, cancellationToken);

    /// <summary>Opens a file with <c>IORING_OP_OPENAT</c>, for I/O through the default engines.</summary>
    /// <param name="path">The path.</param>
    /// <param name="options">See <see cref="OpenAsync(IoUringEngine, string, FileStreamOptions, CancellationToken)"/>.</param>
    /// <param name="cancellationToken">Cancels the open.</param>
    /// <returns>The file, owning its handle.</returns>
    /// <exception cref="IoUringSetupException">io_uring is unavailable here; the message says why.</exception>
    public static ValueTask<UringFile> OpenAsync(string path, FileStreamOptions options, CancellationToken cancellationToken = default) =>
        OpenAsync(IoUringEngineGroup.Default, path, options, cancellationToken);

    /// <summary>Adopts an open handle for I/O through the default engines.</summary>
    /// <param name="handle">The handle.</param>
    /// <param name="access">What the handle was opened for (used by <see cref="AsStream"/>).</param>
    /// <param name="ownsHandle">True to close the handle when the file is disposed.</param>
    /// <returns>The file.</returns>
    /// <exception cref="IoUringSetupException">io_uring is unavailable here; the message says why.</exception>
    public static UringFile FromHandle(SafeFileHandle handle, FileAccess access = FileAccess.ReadWrite, bool ownsHandle = false) =>
        FromHandle(IoUringEngineGroup.Default, handle, access, ownsHandle);

    /// <summary>Adopts an open handle.</summary>
    /// <param name="engine">The engine for the file's I/O.</param>
    /// <param name="handle">The handle.</param>
    /// <param name="access">What the handle was opened for (used by <see cref="AsStream"/>).</param>
    /// <param name="ownsHandle">True to close the handle when the file is disposed.</param>
    /// <returns>The file.</returns>
    public static UringFile FromHandle(IoUringEngine engine, SafeFileHandle handle, FileAccess access = FileAccess.ReadWrite, bool ownsHandle = false)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ValidateHandle(handle, access);
        return new UringFile(engine, null, handle, ownsHandle, access, null);
    }

    /// <summary>Adopts an open handle; each operation uses the group's engine for the calling thread's core.</summary>
    /// <param name="group">The engines for the file's I/O.</param>
    /// <param name="handle">The handle.</param>
    /// <param name="access">What the handle was opened for.</param>
    /// <param name="ownsHandle">True to close the handle when the file is disposed.</param>
    /// <returns>The file.</returns>
    public static UringFile FromHandle(IoUringEngineGroup group, SafeFileHandle handle, FileAccess access = FileAccess.ReadWrite, bool ownsHandle = false)
    {
        ArgumentNullException.ThrowIfNull(group);
        ValidateHandle(handle, access);
        return new UringFile(null, group, handle, ownsHandle, access, null);
    }

    /// <summary>Opens a file on the calling thread, exactly like <see cref="File.OpenHandle"/>, for I/O through <paramref name="engine"/>.</summary>
    /// <param name="engine">The engine.</param>
    /// <param name="path">The path.</param>
    /// <param name="mode">How to open or create.</param>
    /// <param name="access">Read, write or both.</param>
    /// <param name="share">What other opens may do (advisory locks, as <see cref="File.OpenHandle"/> takes them).</param>
    /// <param name="options">Options; <c>(FileOptions)0x20000000</c> asks for <c>O_DIRECT</c> as with <see cref="FileStream"/>.</param>
    /// <returns>The file, owning its handle.</returns>
    public static UringFile Open(IoUringEngine engine, string path, FileMode mode, FileAccess access = FileAccess.Read, FileShare share = FileShare.Read, FileOptions options = FileOptions.None)
    {
        ArgumentNullException.ThrowIfNull(engine);
        SafeFileHandle h = File.OpenHandle(path, mode, access, share, options);
        return new UringFile(engine, null, h, ownsHandle: true, access, System.IO.Path.GetFullPath(path));
    }

    /// <summary>Opens a file on the calling thread like <see cref="File.OpenHandle"/>, for I/O through <paramref name="engine"/>.</summary>
    /// <param name="engine">The engine.</param>
    /// <param name="path">The path.</param>
    /// <param name="options">Mode, access, share, options and preallocation size (<see cref="FileStreamOptions.UnixCreateMode"/> needs <see cref="OpenAsync(IoUringEngine, string, FileStreamOptions, CancellationToken)"/>).</param>
    /// <returns>The file, owning its handle.</returns>
    public static UringFile Open(IoUringEngine engine, string path, FileStreamOptions options)
    {
        ArgumentNullException.ThrowIfNull(engine);
        return new UringFile(engine, null, OpenHandle(path, options), ownsHandle: true, options.Access, System.IO.Path.GetFullPath(path));
    }

    private static SafeFileHandle OpenHandle(string path, FileStreamOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.UnixCreateMode is not null)
        {
            throw new ArgumentException("File.OpenHandle cannot apply UnixCreateMode; use OpenAsync, which passes it to openat.", nameof(options));
        }

        return File.OpenHandle(path, options.Mode, options.Access, options.Share, options.Options, options.PreallocationSize);
    }

    /// <summary>Opens a file on the calling thread, for I/O through the group's engine for each caller's core.</summary>
    /// <param name="group">The engines.</param>
    /// <param name="path">The path.</param>
    /// <param name="mode">How to open or create.</param>
    /// <param name="access">Read, write or both.</param>
    /// <param name="share">What other opens may do.</param>
    /// <param name="options">Options.</param>
    /// <returns>The file, owning its handle.</returns>
    public static UringFile Open(IoUringEngineGroup group, string path, FileMode mode, FileAccess access = FileAccess.Read, FileShare share = FileShare.Read, FileOptions options = FileOptions.None)
    {
        ArgumentNullException.ThrowIfNull(group);
        SafeFileHandle h = File.OpenHandle(path, mode, access, share, options);
        return new UringFile(null, group, h, ownsHandle: true, access, System.IO.Path.GetFullPath(path));
    }

    /// <summary>Opens a file on the calling thread like <see cref="File.OpenHandle"/>, for I/O through the group's engine for each caller's core.</summary>
    /// <param name="group">The engines.</param>
    /// <param name="path">The path.</param>
    /// <param name="options">Mode, access, share, options and preallocation size.</param>
    /// <returns>The file, owning its handle.</returns>
    public static UringFile Open(IoUringEngineGroup group, string path, FileStreamOptions options)
    {
        ArgumentNullException.ThrowIfNull(group);
        return new UringFile(null, group, OpenHandle(path, options), ownsHandle: true, options.Access, System.IO.Path.GetFullPath(path));
    }

    /// <summary>Opens a file with <c>IORING_OP_OPENAT</c>: path lookup and open run in the kernel without blocking a thread.</summary>
    /// <param name="engine">The engine.</param>
    /// <param name="path">The path.</param>
    /// <param name="mode">How to open or create (<see cref="FileMode.Append"/> is refused: the API is positional).</param>
    /// <param name="access">Read, write or both.</param>
    /// <param name="cancellationToken">Cancels the open.</param>
    /// <returns>The file, owning its handle.</returns>
    public static ValueTask<UringFile> OpenAsync(IoUringEngine engine, string path, FileMode mode, FileAccess access = FileAccess.Read, CancellationToken cancellationToken = default)
    {
        FileChecks.ValidateEnums(mode, access);
        return OpenAsync(engine, path, new FileStreamOptions { Mode = mode, Access = access }, cancellationToken);
    }

    /// <summary>Opens a file with <c>IORING_OP_OPENAT</c>.</summary>
    /// <param name="engine">The engine.</param>
    /// <param name="path">The path.</param>
    /// <param name="options">
    /// Mode and access; <see cref="FileOptions.WriteThrough"/> (<c>O_SYNC</c>), <c>(FileOptions)0x20000000</c>
    /// (<c>O_DIRECT</c>), <see cref="FileOptions.SequentialScan"/>/<see cref="FileOptions.RandomAccess"/> (read-ahead advice);
    /// <see cref="FileStreamOptions.UnixCreateMode"/>; <see cref="FileStreamOptions.PreallocationSize"/> for new files
    /// (allocated with <c>fallocate(FALLOC_FL_KEEP_SIZE)</c>). <see cref="FileShare"/> takes no lock here.
    /// </param>
    /// <param name="cancellationToken">Cancels the open.</param>
    /// <returns>The file, owning its handle.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist and the mode does not create it.</exception>
    /// <exception cref="DirectoryNotFoundException">A directory on the path does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">Permission denied, or the path is a directory (as <see cref="File.OpenHandle"/>).</exception>
    /// <exception cref="IoUringException">Any other failure, for example "The file '…' already exists." (<c>EEXIST</c>) for <see cref="FileMode.CreateNew"/>.</exception>
    public static ValueTask<UringFile> OpenAsync(IoUringEngine engine, string path, FileStreamOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        return OpenCoreAsync(engine, null, path, options, cancellationToken);
    }

    /// <summary>Opens a file with <c>IORING_OP_OPENAT</c> for I/O through the group's engine for each caller's core.</summary>
    /// <param name="group">The engines.</param>
    /// <param name="path">The path.</param>
    /// <param name="mode">How to open or create (<see cref="FileMode.Append"/> is refused: the API is positional).</param>
    /// <param name="access">Read, write or both.</param>
    /// <param name="cancellationToken">Cancels the open.</param>
    /// <returns>The file, owning its handle.</returns>
    public static ValueTask<UringFile> OpenAsync(IoUringEngineGroup group, string path, FileMode mode, FileAccess access = FileAccess.Read, CancellationToken cancellationToken = default)
    {
        FileChecks.ValidateEnums(mode, access);
        return OpenAsync(group, path, new FileStreamOptions { Mode = mode, Access = access }, cancellationToken);
    }


    /// <param name="group">The engines.</param>
    /// <param name="path">The path.</param>
    /// <param name="options">See <see cref="OpenAsync(IoUringEngine, string, FileStreamOptions, CancellationToken)"/>.</param>
    /// <param name="cancellationToken">Cancels the open.</param>
    /// <returns>The file, owning its handle.</returns>
    public static ValueTask<UringFile> OpenAsync(IoUringEngineGroup group, string path, FileStreamOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(group);
        return OpenCoreAsync(null, group, path, options, cancellationToken);
    }

    private static async ValueTask<UringFile> OpenCoreAsync(IoUringEngine? engine, IoUringEngineGroup? group, string path, FileStreamOptions options, CancellationToken cancellationToken)
    {
        // As File.OpenHandle: the path is checked and made absolute first (GetFullPath refuses a null character).
        ArgumentException.ThrowIfNullOrEmpty(path);
        string fullPath = System.IO.Path.GetFullPath(path);
        ArgumentNullException.ThrowIfNull(options);
        int flags = FileOpenFlags.From(options.Mode, options.Access, options.Options);
        UnixFileMode mode = options.UnixCreateMode ?? IoUringEngine.DefaultCreateMode;
        IoUringEngine e = engine ?? group!.Current;
        SafeFileHandle handle = await e.OpenAsync(fullPath, flags, mode, cancellationToken).ConfigureAwait(false);
        UringFile file;
        try
        {
            if ((options.Access & FileAccess.Write) == 0 && FileChecks.IsDirectory(handle))
            {
                // open(2) opens a directory read-only without complaint; File.OpenHandle refuses it, and so do we, at
                // open rather than at the first read. (With write access the kernel already failed it with EISDIR.)
                throw new UnauthorizedAccessException(IoErrors.AccessDenied(fullPath), IoUringException.FromErrno(Errno.EISDIR, $"openat '{fullPath}'", "The path is a directory"));
            }

            file = new UringFile(engine, group, handle, ownsHandle: true, options.Access, fullPath);
        }
        catch
        {
            handle.Dispose();
            throw;
        }

        try
        {
            int advice = (options.Options & FileOptions.SequentialScan) != 0 ? OpenFlags.PosixFadvSequential
                : (options.Options & FileOptions.RandomAccess) != 0 ? Libc.POSIX_FADV_RANDOM : 0;
            if (advice != 0)
            {
                _ = Libc.PosixFadvise((int)handle.DangerousGetHandle(), 0, 0, advice);
            }

            bool created = options.Mode is FileMode.Create or FileMode.CreateNew or FileMode.Truncate
                || (options.Mode == FileMode.OpenOrCreate && file.Length == 0);
            if (options.PreallocationSize > 0 && created)
            {
                await file.PreallocateAsync(0, options.PreallocationSize, keepSize: true, cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            file.Dispose();
            throw;
        }

        return file;
    }

    /// <summary>Checks an adopted handle as <see cref="FileStream(SafeFileHandle, FileAccess)"/> does, with its messages.</summary>
    private static void ValidateHandle(SafeFileHandle handle, FileAccess access)
    {
        ArgumentNullException.ThrowIfNull(handle);
        FileChecks.ValidateAccess(access);
        FileChecks.ValidateHandle(handle);
    }

    /// <summary>Throws what <see cref="FileStream"/> throws once closed, naming this type.</summary>
    private void ThrowIfClosed()
    {
        if (Volatile.Read(ref _closing) != 0)
        {
            FileChecks.ThrowClosed(nameof(UringFile));
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // I/O.
    // ------------------------------------------------------------------------------------------------------------

    /// <summary>Reads into <paramref name="buffer"/> from <paramref name="fileOffset"/>, like <see cref="RandomAccess.ReadAsync(SafeFileHandle, Memory{byte}, long, CancellationToken)"/>.</summary>
    /// <param name="buffer">Where to read to; pinned until the read completes.</param>
    /// <param name="fileOffset">The file offset.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The bytes read: fewer than asked near the end of the file, 0 at or past it.</returns>
    public ValueTask<int> ReadAsync(Memory<byte> buffer, long fileOffset, CancellationToken cancellationToken = default)
    {
        FileChecks.ValidateOffset(fileOffset);
        ThrowIfClosed();
        return Target(out int slot).ReadAsync(_handle, buffer, fileOffset, this, cancellationToken, slot);
    }

    /// <summary>Writes all of <paramref name="buffer"/> at <paramref name="fileOffset"/>, like <see cref="RandomAccess.WriteAsync(SafeFileHandle, ReadOnlyMemory{byte}, long, CancellationToken)"/>.</summary>
    /// <param name="buffer">What to write; pinned until the write completes.</param>
    /// <param name="fileOffset">The file offset.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when every byte is written.</returns>
    public ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, long fileOffset, CancellationToken cancellationToken = default)
    {
        FileChecks.ValidateOffset(fileOffset);
        ThrowIfClosed();
        return Target(out int slot).WriteAsync(_handle, buffer, fileOffset, this, cancellationToken, slot);
    }

    /// <summary>
    /// Like <see cref="ReadAsync(Memory{byte}, long, CancellationToken)"/>, with a deadline the kernel enforces: the read
    /// is linked to an <c>IORING_OP_LINK_TIMEOUT</c> and cancelled when <paramref name="timeout"/> passes first (useful on
    /// FIFOs, character devices and network file systems; a regular file read the kernel is already copying finishes).
    /// </summary>
    /// <param name="buffer">Where to read to; pinned until the read completes.</param>
    /// <param name="fileOffset">The file offset.</param>
    /// <param name="timeout">How long the read may take; <see cref="Timeout.InfiniteTimeSpan"/> for no limit.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The bytes read.</returns>
    /// <exception cref="TimeoutException">The timeout passed first; the read was cancelled.</exception>
    public ValueTask<int> ReadAsync(Memory<byte> buffer, long fileOffset, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        FileChecks.ValidateOffset(fileOffset);
        RequestDeadline deadline = RequestDeadline.After(timeout);
        ThrowIfClosed();
        return Target(out int slot).ReadAsync(_handle, buffer, fileOffset, this, cancellationToken, slot, deadline);
    }

    /// <summary>Like <see cref="WriteAsync(ReadOnlyMemory{byte}, long, CancellationToken)"/>, with a kernel-side deadline (<c>IORING_OP_LINK_TIMEOUT</c>) shared by the write and its resubmissions.</summary>
    /// <param name="buffer">What to write; pinned until the write completes.</param>
    /// <param name="fileOffset">The file offset.</param>
    /// <param name="timeout">How long the write may take; <see cref="Timeout.InfiniteTimeSpan"/> for no limit.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when every byte is written.</returns>
    /// <exception cref="TimeoutException">The timeout passed first; bytes already written stay written.</exception>
    public ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, long fileOffset, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        FileChecks.ValidateOffset(fileOffset);
        RequestDeadline deadline = RequestDeadline.After(timeout);
        ThrowIfClosed();
        return Target(out int slot).WriteAsync(_handle, buffer, fileOffset, this, cancellationToken, slot, deadline);
    }

    /// <summary>Reads into several buffers in order from <paramref name="fileOffset"/> (<c>preadv</c>).</summary>
    /// <param name="buffers">The buffers, at most <see cref="IoUringEngine.MaxIoVecs"/>.</param>
    /// <param name="fileOffset">The file offset.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The total bytes read.</returns>
    public ValueTask<long> ReadAsync(IReadOnlyList<Memory<byte>> buffers, long fileOffset, CancellationToken cancellationToken = default)
    {
        FileChecks.ValidateOffset(fileOffset);
        ThrowIfClosed();
        return Target(out int slot).ReadAsync(_handle, buffers, fileOffset, this, cancellationToken, slot);
    }

    /// <summary>Writes several buffers in order at <paramref name="fileOffset"/> (<c>pwritev</c>, repeated after short writes).</summary>
    /// <param name="buffers">The buffers, at most <see cref="IoUringEngine.MaxIoVecs"/>.</param>
    /// <param name="fileOffset">The file offset.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when every byte is written.</returns>
    public ValueTask WriteAsync(IReadOnlyList<ReadOnlyMemory<byte>> buffers, long fileOffset, CancellationToken cancellationToken = default)
    {
        FileChecks.ValidateOffset(fileOffset);
        ThrowIfClosed();
        return Target(out int slot).WriteAsync(_handle, buffers, fileOffset, this, cancellationToken, slot);
    }

    /// <summary>Advises the kernel about a range (<c>posix_fadvise</c> through the ring); for the streams' read-ahead.</summary>
    internal ValueTask AdviseAsync(long offset, uint length, int advice)
    {
        ThrowIfClosed();
        return Target(out int slot).AdviseAsync(_handle, offset, length, advice, this, CancellationToken.None, slot);
    }

    /// <summary>Makes written data durable: <c>fsync</c>, or <c>fdatasync</c> with <paramref name="dataOnly"/>.</summary>
    /// <param name="dataOnly">Skip metadata not needed to read the data back.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the data is on the device.</returns>
    public ValueTask FlushAsync(bool dataOnly = false, CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        return Target(out int slot).FlushAsync(_handle, dataOnly, this, cancellationToken, slot);
    }

    /// <summary>Allocates disk space for a range (<c>fallocate</c>), so later writes there cannot fail with <c>ENOSPC</c>.</summary>
    /// <param name="offset">Start of the range.</param>
    /// <param name="length">Length of the range.</param>
    /// <param name="keepSize">True to leave the file's length unchanged; false to extend it to the end of the range.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the space is allocated.</returns>
    public ValueTask PreallocateAsync(long offset, long length, bool keepSize = false, CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        return Target(out int slot).AllocateAsync(_handle, offset, length, keepSize, this, cancellationToken, slot);
    }

    /// <summary>Sets the file's length (<c>ftruncate</c>).</summary>
    /// <param name="length">The new length.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the length is set.</returns>
    public ValueTask SetLengthAsync(long length, CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        return Target(out int slot).SetLengthAsync(_handle, length, this, cancellationToken, slot);
    }

    /// <summary>Reads the file's metadata (<c>statx</c>).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The metadata.</returns>
    public ValueTask<Statx> StatAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        return (_engine ?? _group!.Current).StatAsync(_handle, cancellationToken);
    }

    /// <summary>The file's length, read with <c>statx</c> through the engine.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The length in bytes.</returns>
    public async ValueTask<long> GetLengthAsync(CancellationToken cancellationToken = default) =>
        (long)(await StatAsync(cancellationToken).ConfigureAwait(false)).FileSize;

    /// <summary>A <see cref="Stream"/> over the file with its own position, whose async methods use the engine.</summary>
    /// <param name="position">The stream's starting position.</param>
    /// <param name="leaveOpen">False to dispose the file when the stream is disposed.</param>
    /// <returns>The stream.</returns>
    public Stream AsStream(long position = 0, bool leaveOpen = true)
    {
        ThrowIfClosed();
        return new UringFileStream(this, position, leaveOpen);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Closing.
    // ------------------------------------------------------------------------------------------------------------

    /// <summary>
    /// Refuses new operations and, when the file owns its handle, disposes it: the descriptor is closed as soon as
    /// the last pending operation that uses it has completed (the handle is reference-counted); requests on the file's
    /// registered slot hold the kernel's own reference instead, which goes once they have drained. Pending operations
    /// finish normally.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _closing, 1) == 0)
        {
            if (_ownsHandle)
            {
                _handle.Dispose();
            }

            // The registered-file slots hold their own reference to the file; free them once no op is pending (here,
            // or in OnOperationCompleted when the last one finishes; the exchanges in ReleaseFixedSlots pick one).
            if (NothingPending())
            {
                ReleaseFixedSlots();
            }
        }
    }

    /// <summary>Clears the file's registered-file slots without waiting. Only once closing with no op pending.</summary>
    private void ReleaseFixedSlots()
    {
        for (int i = 0; i < _slots.Length; i++)
        {
            int slot = Interlocked.Exchange(ref _slots[i], -1);
            if (slot < 0)
            {
                continue;
            }

            try
            {
                _ = EngineAt(i).RemoveFixedFileAsync(slot, fireAndForget: true);
            }
            catch (ObjectDisposedException)
            {
                // The engine is shutting down: the table goes away with its ring.
            }
        }
    }

    /// <summary>
    /// Refuses new operations, waits until every operation started through this file has completed, then, when the
    /// file owns its handle, closes it with <c>IORING_OP_CLOSE</c>.
    /// </summary>
    /// <returns>A task that completes when the file is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (Interlocked.CompareExchange(ref _drained, drained, null) is not null)
        {
            await _drained.Task.ConfigureAwait(false);
            return;
        }

        // _drained is published before _closing (the exchange is a full fence), so a completion that sees _closing set finds it.
        if (Interlocked.Exchange(ref _closing, 1) != 0)
        {
            // Dispose() already ran and disposed the handle. A completion that sees _drained leaves the registered-file
            // slot to us, so wait for the ops as usual and release it.
            if (NothingPending())
            {
                drained.TrySetResult();
            }

            await drained.Task.ConfigureAwait(false);
            ReleaseFixedSlots();
            return;
        }

        if (NothingPending())
        {
            drained.TrySetResult();
        }

        await drained.Task.ConfigureAwait(false);
        for (int i = 0; i < _slots.Length; i++)
        {
            int slot = Interlocked.Exchange(ref _slots[i], -1);
            if (slot < 0)
            {
                continue;
            }

            // Drop the tables' references before the close, so the file is really closed when this returns.
            try
            {
                await EngineAt(i).RemoveFixedFileAsync(slot, fireAndForget: false).ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                // The engine stopped meanwhile: its table went away with the ring.
            }
            catch (IOException)
            {
                // Cannot happen for a slot we own; the file still closes below.
            }
        }

        if (_ownsHandle && !_handle.IsClosed)
        {
            IoUringEngine engine = _engine ?? _group!.Current;
            if (engine.IsDisposing)
            {
                _handle.Dispose();
            }
            else
            {
                try
                {
                    await engine.CloseAsync(_handle).ConfigureAwait(false);
                }
                catch (ObjectDisposedException)
                {
                    // The engine stopped meanwhile; CloseAsync closed the fd synchronously or the handle still owns it.
                    _handle.Dispose();
                }
            }
        }
    }

    bool IOperationOwner.TryBeginOperation(IoUringEngine engine)
    {
        Interlocked.Increment(ref _pending[SlotIndex(engine)].Value);
        if (Volatile.Read(ref _closing) != 0)
        {
            ((IOperationOwner)this).OnOperationCompleted(engine);
            return false;
        }

        return true;
    }

    void IOperationOwner.OnOperationCompleted(IoUringEngine engine)
    {
        // Each count is decremented, then all are read (a full fence between): of two last operations on different
        // engines finishing at once, at least one sees every count at zero.
        if (Interlocked.Decrement(ref _pending[SlotIndex(engine)].Value) == 0 && Volatile.Read(ref _closing) != 0 && NothingPending())
        {
            if (Volatile.Read(ref _drained) is TaskCompletionSource drained)
            {
                // DisposeAsync releases the slots itself once drained, so the close follows the release.
                drained.TrySetResult();
            }
            else
            {
                ReleaseFixedSlots();
            }
        }
    }

    /// <summary>True when no operation started through this file is pending on any engine.</summary>
    private bool NothingPending()
    {
        for (int i = 0; i < _pending.Length; i++)
        {
            if (Volatile.Read(ref _pending[i].Value) != 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>An operation count alone on its cache line (64 bytes of padding on either side).</summary>
    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Explicit, Size = 128)]
    private struct PendingCount
    {
        [System.Runtime.InteropServices.FieldOffset(64)]
        public int Value;
    }

    void IOperationOwner.OnFixedFileInstalled(IoUringEngine engine, int slot)
    {
        int index = SlotIndex(engine);
        if (slot >= 0 && index >= 0)
        {
            Volatile.Write(ref _slots[index], slot);
        }

        Interlocked.Decrement(ref _installsPending);
    }
}
