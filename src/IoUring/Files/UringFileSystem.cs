using System.Runtime.InteropServices;
using IoUring.Interop;

namespace IoUring;

/// <summary>
/// Moving, deleting and creating files, directories and links through io_uring (<c>IORING_OP_RENAMEAT</c>,
/// <c>UNLINKAT</c>, <c>MKDIRAT</c>, <c>SYMLINKAT</c>, <c>LINKAT</c>; Linux 5.11-5.15): the path lookups and directory
/// updates run in the kernel, not on a thread-pool thread blocked in a system call. Each method is shaped like its
/// <see cref="File"/> or <see cref="Directory"/> twin and fails the way it does (same exception types and messages).
/// Without an engine argument the requests go to <see cref="IoUringEngineGroup.Default"/>'s engine for the calling
/// thread's core.
/// </summary>
public static class UringFileSystem
{
    /// <summary>Moves a file like <see cref="File.Move(string, string, bool)"/>, with one <c>renameat2</c> (<c>RENAME_NOREPLACE</c> unless <paramref name="overwrite"/>).</summary>
    /// <param name="sourceFileName">The file to move.</param>
    /// <param name="destFileName">Its new path.</param>
    /// <param name="overwrite">Replace a file at <paramref name="destFileName"/> (atomically).</param>
    /// <param name="cancellationToken">Cancels the move before it reaches the kernel.</param>
    /// <returns>A task that completes when the file has moved.</returns>
    /// <exception cref="FileNotFoundException">The source does not exist or is a directory.</exception>
    /// <exception cref="IOException">The destination exists (and <paramref name="overwrite"/> is false), or another failure.</exception>
    public static ValueTask MoveAsync(string sourceFileName, string destFileName, bool overwrite = false, CancellationToken cancellationToken = default) =>
        MoveAsync(IoUringEngineGroup.Default.Current, sourceFileName, destFileName, overwrite, cancellationToken);

    /// <summary>Like <see cref="MoveAsync(string, string, bool, CancellationToken)"/>, on <paramref name="engine"/>.</summary>
    /// <param name="engine">The engine to run the requests.</param>
    /// <param name="sourceFileName">The file to move.</param>
    /// <param name="destFileName">Its new path.</param>
    /// <param name="overwrite">Replace a file at <paramref name="destFileName"/>.</param>
    /// <param name="cancellationToken">Cancels the move.</param>
    /// <returns>A task that completes when the file has moved.</returns>
    public static async ValueTask MoveAsync(IoUringEngine engine, string sourceFileName, string destFileName, bool overwrite = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        string source = FullPath(sourceFileName, nameof(sourceFileName));
        string dest = FullPath(destFileName, nameof(destFileName));
        if (!await IsFileAsync(engine, source, cancellationToken).ConfigureAwait(false))
        {
            // Like File.Move: a missing source, or a directory, is "Could not find file".
            throw new FileNotFoundException($"Could not find file '{source}'.", source);
        }

        try
        {
            await engine.RenameAsync(source, dest, overwrite ? 0 : IoUringEngine.RenameNoReplace, cancellationToken).ConfigureAwait(false);
        }
        catch (IoUringException e) when (e.Errno == Errno.EXDEV)
        {
            // Another file system: a rename cannot cross it. File.Move copies and deletes, and so does this (on a pool thread).
            await Task.Run(() => File.Move(source, dest, overwrite), cancellationToken).ConfigureAwait(false);
        }
        catch (IoUringException e)
        {
            throw e.Errno switch
            {
                // The destination's directory is missing (the source was there a moment ago).
                Errno.ENOENT when !ParentExists(dest) => ForErrno(e, dest, isDirectory: true),
                Errno.ENOENT => ForErrno(e, source, isDirectory: false),
                Errno.EISDIR => ForErrno(e, dest, isDirectory: false),
                _ => ForErrno(e, dest, isDirectory: false),
            };
        }
    }

    /// <summary>
    /// Deletes a file like <see cref="File.Delete"/> (<c>unlinkat</c>): nothing happens when it does not exist, but its
    /// directory must.
    /// </summary>
    /// <param name="path">The file (or symbolic link: the link is removed, not its target).</param>
    /// <param name="cancellationToken">Cancels the delete before it reaches the kernel.</param>
    /// <returns>A task that completes when the file is gone.</returns>
    /// <exception cref="DirectoryNotFoundException">A directory of the path does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">The path is a directory, or permission is denied.</exception>
    public static ValueTask DeleteAsync(string path, CancellationToken cancellationToken = default) =>
        DeleteAsync(IoUringEngineGroup.Default.Current, path, cancellationToken);

    /// <summary>Like <see cref="DeleteAsync(string, CancellationToken)"/>, on <paramref name="engine"/>.</summary>
    /// <param name="engine">The engine to run the request.</param>
    /// <param name="path">The file.</param>
    /// <param name="cancellationToken">Cancels the delete.</param>
    /// <returns>A task that completes when the file is gone.</returns>
    public static async ValueTask DeleteAsync(IoUringEngine engine, string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        string full = FullPath(path, nameof(path));
        try
        {
            await engine.UnlinkAsync(full, directory: false, cancellationToken).ConfigureAwait(false);
        }
        catch (IoUringException e) when (e.Errno == Errno.ENOENT && ParentExists(full))
        {
            // Already gone: like File.Delete, not an error.
        }
        catch (IoUringException e)
        {
            throw e.Errno switch
            {
                Errno.ENOENT or Errno.ENOTDIR => ForErrno(e, full, isDirectory: true),
                Errno.EISDIR => new UnauthorizedAccessException(IoErrors.AccessDenied(full), e),
                _ => ForErrno(e, full, isDirectory: false),
            };
        }
    }

    /// <summary>
    /// Creates a directory and any missing parents like <see cref="Directory.CreateDirectory(string)"/>
    /// (<c>mkdirat</c> for each missing level); a directory already there is fine.
    /// </summary>
    /// <param name="path">The directory.</param>
    /// <param name="cancellationToken">Cancels the remaining requests.</param>
    /// <returns>The directory.</returns>
    /// <exception cref="IOException">A file exists at the path (or where a parent should be).</exception>
    public static ValueTask<DirectoryInfo> CreateDirectoryAsync(string path, CancellationToken cancellationToken = default) =>
        CreateDirectoryAsync(IoUringEngineGroup.Default.Current, path, cancellationToken);

    /// <summary>Like <see cref="CreateDirectoryAsync(string, CancellationToken)"/>, on <paramref name="engine"/>.</summary>
    /// <param name="engine">The engine to run the requests.</param>
    /// <param name="path">The directory.</param>
    /// <param name="cancellationToken">Cancels the remaining requests.</param>
    /// <returns>The directory.</returns>
    public static async ValueTask<DirectoryInfo> CreateDirectoryAsync(IoUringEngine engine, string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        string full = Path.TrimEndingDirectorySeparator(FullPath(path, nameof(path)));
        await MakeDirectoryAsync(engine, full, full, cancellationToken).ConfigureAwait(false);
        return new DirectoryInfo(full);
    }

    /// <summary>
    /// Deletes a directory like <see cref="Directory.Delete(string, bool)"/> (<c>unlinkat</c> with <c>AT_REMOVEDIR</c>).
    /// With <paramref name="recursive"/> its content goes first: files and links are unlinked concurrently, then
    /// subdirectories are emptied the same way (symbolic links to directories are removed, never followed).
    /// </summary>
    /// <param name="path">The directory.</param>
    /// <param name="recursive">Delete what it contains too.</param>
    /// <param name="cancellationToken">Cancels the remaining requests.</param>
    /// <returns>A task that completes when the directory is gone.</returns>
    /// <exception cref="DirectoryNotFoundException">It does not exist (or is a file).</exception>
    /// <exception cref="IOException">It is not empty (and <paramref name="recursive"/> is false), or another failure.</exception>
    public static ValueTask DeleteDirectoryAsync(string path, bool recursive = false, CancellationToken cancellationToken = default) =>
        DeleteDirectoryAsync(IoUringEngineGroup.Default.Current, path, recursive, cancellationToken);

    /// <summary>Like <see cref="DeleteDirectoryAsync(string, bool, CancellationToken)"/>, on <paramref name="engine"/>.</summary>
    /// <param name="engine">The engine to run the requests.</param>
    /// <param name="path">The directory.</param>
    /// <param name="recursive">Delete what it contains too.</param>
    /// <param name="cancellationToken">Cancels the remaining requests.</param>
    /// <returns>A task that completes when the directory is gone.</returns>
    public static async ValueTask DeleteDirectoryAsync(IoUringEngine engine, string path, bool recursive = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        string full = Path.TrimEndingDirectorySeparator(FullPath(path, nameof(path)));
        if (recursive)
        {
            var info = new DirectoryInfo(full);
            if (info.Exists && info.LinkTarget is null)
            {
                await DeleteContentAsync(engine, info, cancellationToken).ConfigureAwait(false);
            }
        }

        try
        {
            await engine.UnlinkAsync(full, directory: true, cancellationToken).ConfigureAwait(false);
        }
        catch (IoUringException e)
        {
            throw e.Errno switch
            {
                Errno.ENOENT or Errno.ENOTDIR => ForErrno(e, full, isDirectory: true),
                _ => ForErrno(e, full, isDirectory: false),
            };
        }
    }

    /// <summary>Creates a symbolic link like <see cref="File.CreateSymbolicLink"/> (<c>symlinkat</c>).</summary>
    /// <param name="path">The link to create.</param>
    /// <param name="pathToTarget">What it points to, stored as given (it need not exist).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The link.</returns>
    /// <exception cref="IOException">Something exists at <paramref name="path"/>.</exception>
    public static ValueTask<FileSystemInfo> CreateSymbolicLinkAsync(string path, string pathToTarget, CancellationToken cancellationToken = default) =>
        CreateSymbolicLinkAsync(IoUringEngineGroup.Default.Current, path, pathToTarget, cancellationToken);

    /// <summary>Like <see cref="CreateSymbolicLinkAsync(string, string, CancellationToken)"/>, on <paramref name="engine"/>.</summary>
    /// <param name="engine">The engine to run the request.</param>
    /// <param name="path">The link to create.</param>
    /// <param name="pathToTarget">What it points to.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The link.</returns>
    public static async ValueTask<FileSystemInfo> CreateSymbolicLinkAsync(IoUringEngine engine, string path, string pathToTarget, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        string full = FullPath(path, nameof(path));
        IoUringEngine.ValidatePath(pathToTarget);
        try
        {
            await engine.SymlinkAsync(pathToTarget, full, cancellationToken).ConfigureAwait(false);
        }
        catch (IoUringException e)
        {
            throw ForErrno(e, full, isDirectory: e.Errno == Errno.ENOENT);
        }

        return new FileInfo(full);
    }

    /// <summary>Creates a hard link: a second name <paramref name="path"/> for the file at <paramref name="existingFileName"/> (<c>linkat</c>; .NET has no twin).</summary>
    /// <param name="path">The new name.</param>
    /// <param name="existingFileName">The file (not a directory; a symbolic link is linked itself, not followed).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The new name.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="IOException">Something exists at <paramref name="path"/>, or the two are on different file systems.</exception>
    public static ValueTask<FileInfo> CreateHardLinkAsync(string path, string existingFileName, CancellationToken cancellationToken = default) =>
        CreateHardLinkAsync(IoUringEngineGroup.Default.Current, path, existingFileName, cancellationToken);

    /// <summary>Like <see cref="CreateHardLinkAsync(string, string, CancellationToken)"/>, on <paramref name="engine"/>.</summary>
    /// <param name="engine">The engine to run the request.</param>
    /// <param name="path">The new name.</param>
    /// <param name="existingFileName">The file.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The new name.</returns>
    public static async ValueTask<FileInfo> CreateHardLinkAsync(IoUringEngine engine, string path, string existingFileName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        string full = FullPath(path, nameof(path));
        string existing = FullPath(existingFileName, nameof(existingFileName));
        try
        {
            await engine.LinkAsync(existing, full, followSymlinks: false, cancellationToken).ConfigureAwait(false);
        }
        catch (IoUringException e)
        {
            throw e.Errno switch
            {
                Errno.ENOENT when !ParentExists(full) => ForErrno(e, full, isDirectory: true),
                Errno.ENOENT => ForErrno(e, existing, isDirectory: !ParentExists(existing)),
                Errno.EPERM when Directory.Exists(existing) => new UnauthorizedAccessException(IoErrors.AccessDenied(existing), e),
                _ => ForErrno(e, full, isDirectory: false),
            };
        }

        return new FileInfo(full);
    }

    private static async ValueTask MakeDirectoryAsync(IoUringEngine engine, string full, string requested, CancellationToken cancellationToken)
    {
        try
        {
            await engine.MakeDirectoryAsync(full, IoUringEngine.DefaultDirectoryMode, cancellationToken).ConfigureAwait(false);
        }
        catch (IoUringException e) when (e.Errno == Errno.EEXIST)
        {
            if (!Directory.Exists(full))
            {
                // A file where a directory should be: Directory.CreateDirectory says the file exists.
                throw new IoUringException(e.Errno, $"The file '{full}' already exists.");
            }
        }
        catch (IoUringException e) when (e.Errno == Errno.ENOENT && Path.GetDirectoryName(full) is string parent && parent != full)
        {
            // A missing parent: create it, then this one.
            await MakeDirectoryAsync(engine, parent, requested, cancellationToken).ConfigureAwait(false);
            await MakeDirectoryAsync(engine, full, requested, cancellationToken).ConfigureAwait(false);
        }
        catch (IoUringException e) when (e.Errno == Errno.ENOTDIR)
        {
            // A file where a parent directory should be: like Directory.CreateDirectory, a part of the path is missing.
            throw new DirectoryNotFoundException($"Could not find a part of the path '{requested}'.", e);
        }
        catch (IoUringException e)
        {
            throw ForErrno(e, requested, isDirectory: false);
        }
    }

    private static async ValueTask DeleteContentAsync(IoUringEngine engine, DirectoryInfo directory, CancellationToken cancellationToken)
    {
        var unlinks = new List<Task>();
        var subdirectories = new List<DirectoryInfo>();
        foreach (FileSystemInfo entry in directory.EnumerateFileSystemInfos("*", new EnumerationOptions { AttributesToSkip = 0, RecurseSubdirectories = false }))
        {
            if (entry is DirectoryInfo sub && entry.LinkTarget is null)
            {
                subdirectories.Add(sub);
            }
            else
            {
                unlinks.Add(engine.UnlinkAsync(entry.FullName, directory: false, cancellationToken).AsTask());
            }
        }

        try
        {
            await Task.WhenAll(unlinks).ConfigureAwait(false);
        }
        catch (IoUringException e)
        {
            throw ForErrno(e, directory.FullName, isDirectory: false);
        }

        foreach (DirectoryInfo sub in subdirectories)
        {
            await DeleteDirectoryAsync(engine, sub.FullName, recursive: true, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>True when <paramref name="path"/> names a regular file (or anything but a directory), after following links.</summary>
    private static async ValueTask<bool> IsFileAsync(IoUringEngine engine, string path, CancellationToken cancellationToken)
    {
        try
        {
            Statx stat = await engine.StatAsync(path, followSymlinks: false, cancellationToken).ConfigureAwait(false);
            return (stat.Mode & 0xF000) != 0x4000;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return false;
        }
    }

    private static string FullPath(string path, string paramName)
    {
        ArgumentNullException.ThrowIfNull(path, paramName);
        if (path.Length == 0)
        {
            throw new ArgumentException("The value cannot be an empty string.", paramName);
        }

        if (path.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("Null character in path.", paramName);
        }

        return Path.GetFullPath(path);
    }

    private static bool ParentExists(string full) =>
        Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(full)) is not string parent || Directory.Exists(parent);

    /// <summary>What <see cref="File"/> and <see cref="Directory"/> throw for <paramref name="e"/>'s errno on <paramref name="fullPath"/>.</summary>
    private static Exception ForErrno(IoUringException e, string fullPath, bool isDirectory) => e.Errno switch
    {
        Errno.ENOENT when isDirectory => new DirectoryNotFoundException($"Could not find a part of the path '{fullPath}'.", e),
        Errno.ENOENT => new FileNotFoundException($"Could not find file '{fullPath}'.", fullPath, e),
        Errno.ENOTDIR => new DirectoryNotFoundException($"Could not find a part of the path '{fullPath}'.", e),
        Errno.EACCES or Errno.EPERM or Errno.EBADF => new UnauthorizedAccessException(IoErrors.AccessDenied(fullPath), e),
        Errno.ENAMETOOLONG => new PathTooLongException($"The path '{fullPath}' is too long, or a component of the specified path is too long.", e),
        Errno.EEXIST => new IoUringException(e.Errno, $"The file '{fullPath}' already exists."),
        _ => new IoUringException(e.Errno, $"{Marshal.GetPInvokeErrorMessage(e.Errno)} : '{fullPath}'"),
    };
}
