using System.Runtime.InteropServices;
using IoUring.Interop;
using Microsoft.Win32.SafeHandles;

namespace IoUring;

// Creating: open a path (on the calling thread or with IORING_OP_OPENAT) or adopt a handle, on the default group, an engine or a group.
public sealed partial class UringFile
{
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
        return Opened(engine, null, OpenHandle(path, mode, access, share, options), access, path);
    }

    /// <summary>Opens a file on the calling thread like <see cref="File.OpenHandle"/>, for I/O through <paramref name="engine"/>.</summary>
    /// <param name="engine">The engine.</param>
    /// <param name="path">The path.</param>
    /// <param name="options">Mode, access, share, options and preallocation size (<see cref="FileStreamOptions.UnixCreateMode"/> needs <see cref="OpenAsync(IoUringEngine, string, FileStreamOptions, CancellationToken)"/>).</param>
    /// <returns>The file, owning its handle.</returns>
    public static UringFile Open(IoUringEngine engine, string path, FileStreamOptions options)
    {
        ArgumentNullException.ThrowIfNull(engine);
        return Opened(engine, null, OpenHandle(path, options), options.Access, path);
    }

    /// <summary>The file over a handle a synchronous open just made (the file owns it), named by its full path.</summary>
    private static UringFile Opened(IoUringEngine? engine, IoUringEngineGroup? group, SafeFileHandle handle, FileAccess access, string path) =>
        new(engine, group, handle, ownsHandle: true, access, System.IO.Path.GetFullPath(path));

    private static SafeFileHandle OpenHandle(string path, FileStreamOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.UnixCreateMode is not null)
        {
            throw new ArgumentException("File.OpenHandle cannot apply UnixCreateMode; use OpenAsync, which passes it to openat.", nameof(options));
        }

        return OpenHandle(path, options.Mode, options.Access, options.Share, options.Options, options.PreallocationSize);
    }

    /// <summary>
    /// <see cref="File.OpenHandle"/>, plus what it leaves out on Linux: <c>O_DIRECT</c> for <c>(FileOptions)0x20000000</c>
    /// (set right after the open with <c>fcntl(F_SETFL)</c>, which Linux allows for that flag), as
    /// <see cref="OpenAsync(IoUringEngine, string, FileStreamOptions, CancellationToken)"/> passes it to <c>openat</c>.
    /// </summary>
    /// <exception cref="IOException">The file system has no direct I/O (procfs, for one); the handle is closed.</exception>
    private static SafeFileHandle OpenHandle(string path, FileMode mode, FileAccess access, FileShare share, FileOptions options, long preallocationSize = 0)
    {
        SafeFileHandle h = File.OpenHandle(path, mode, access, share, options, preallocationSize);
        if ((options & FileOpenFlags.NoBuffering) == 0)
        {
            return h;
        }

        // The handle was just opened here and nobody else holds it: its descriptor cannot be closed under the fcntl calls.
        int fd = (int)h.DangerousGetHandle();
        int flags = Libc.GetStatusFlags(fd);
        int errno = flags < 0 ? -flags : -Libc.SetStatusFlags(fd, flags | OpenFlags.ODirect);
        if (errno != 0)
        {
            h.Dispose();
            throw new IOException($"'{path}' cannot be opened for direct I/O (O_DIRECT): {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}).", errno);
        }

        return h;
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
        return Opened(null, group, OpenHandle(path, mode, access, share, options), access, path);
    }

    /// <summary>Opens a file on the calling thread like <see cref="File.OpenHandle"/>, for I/O through the group's engine for each caller's core.</summary>
    /// <param name="group">The engines.</param>
    /// <param name="path">The path.</param>
    /// <param name="options">Mode, access, share, options and preallocation size.</param>
    /// <returns>The file, owning its handle.</returns>
    public static UringFile Open(IoUringEngineGroup group, string path, FileStreamOptions options)
    {
        ArgumentNullException.ThrowIfNull(group);
        return Opened(null, group, OpenHandle(path, options), options.Access, path);
    }

    /// <summary>Opens a file with <c>IORING_OP_OPENAT</c>: path lookup and open run in the kernel without blocking a thread.</summary>
    /// <param name="engine">The engine.</param>
    /// <param name="path">The path.</param>
    /// <param name="mode">How to open or create (<see cref="FileMode.Append"/> is refused: the API is positional).</param>
    /// <param name="access">Read, write or both.</param>
    /// <param name="cancellationToken">Cancels the open.</param>
    /// <returns>The file, owning its handle.</returns>
    public static ValueTask<UringFile> OpenAsync(IoUringEngine engine, string path, FileMode mode, FileAccess access = FileAccess.Read, CancellationToken cancellationToken = default) =>
        OpenAsync(engine, path, FileChecks.StreamOptions(mode, access), cancellationToken);

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
    public static ValueTask<UringFile> OpenAsync(IoUringEngineGroup group, string path, FileMode mode, FileAccess access = FileAccess.Read, CancellationToken cancellationToken = default) =>
        OpenAsync(group, path, FileChecks.StreamOptions(mode, access), cancellationToken);

    /// <summary>Opens a file with <c>IORING_OP_OPENAT</c> for I/O through the group's engine for each caller's core.</summary>
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
}
