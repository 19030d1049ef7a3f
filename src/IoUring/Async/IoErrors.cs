using System.Runtime.InteropServices;
using IoUring.Interop;
using Microsoft.Win32.SafeHandles;

namespace IoUring;

/// <summary>
/// Turns a failed engine operation's errno into the exception the .NET API it stands in for throws in the same
/// situation (<see cref="File.OpenHandle"/>, <see cref="RandomAccess"/>, <see cref="System.Net.Sockets.Socket"/>), with
/// the same messages, and an <see cref="IoUringException"/> carrying the errno inside where .NET's type has no room for it.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>ECANCELED</c> after the caller's token was cancelled: <see cref="OperationCanceledException"/> for that token.</item>
/// <item><c>ECANCELED</c> because the engine was disposed: <see cref="ObjectDisposedException"/>.</item>
/// <item>Opening or stat-ing a path (named by its full path, like .NET): <see cref="FileNotFoundException"/>, or
/// <see cref="DirectoryNotFoundException"/> when a directory of the path is missing or is a file;
/// <see cref="UnauthorizedAccessException"/> for <c>EACCES</c>, <c>EPERM</c> and a directory opened for writing
/// (<c>EISDIR</c>); <see cref="PathTooLongException"/>; for <c>EEXIST</c> an <see cref="IoUringException"/> with
/// .NET's "The file '…' already exists." message.</item>
/// <item>Reading or writing a file (a <see cref="SafeFileHandle"/> or a <see cref="UringFile"/>): <c>EBADF</c>, <c>EACCES</c>
/// and <c>EPERM</c> become <see cref="UnauthorizedAccessException"/> as in <see cref="RandomAccess"/> (a file not opened for
/// that access); the message names the file when it is known.</item>
/// <item>Socket requests: <see cref="UringSocketException"/> (a <see cref="System.Net.Sockets.SocketException"/>).</item>
/// <item>Everything else: <see cref="IoUringException"/> (an <see cref="IOException"/>, as .NET throws there) with
/// <see cref="IoUringException.Errno"/> and a message naming the operation, the file, the errno and its text.</item>
/// </list>
/// </remarks>
internal static class IoErrors
{
    /// <summary>Builds the exception for a failed operation.</summary>
    /// <param name="errno">The positive errno.</param>
    /// <param name="kind">The request.</param>
    /// <param name="path">The path the request opened or stat-ed, or the path of the file it read or wrote, or null.</param>
    /// <param name="handle">The handle the request used, or null; read (never written) to describe the file.</param>
    /// <param name="token">The caller's token.</param>
    /// <param name="engineDisposing">True once the engine is stopping.</param>
    /// <returns>The exception to throw.</returns>
    public static Exception ForOperation(int errno, OpKind kind, string? path, SafeHandle? handle, CancellationToken token, bool engineDisposing)
    {
        if (errno == Errno.ECANCELED)
        {
            if (token.IsCancellationRequested)
            {
                return new OperationCanceledException(token);
            }

            if (engineDisposing)
            {
                return new ObjectDisposedException(nameof(IoUringEngine), "The io_uring engine was disposed while the operation was pending; it was cancelled.");
            }
        }

        string op = Name(kind);
        if (kind is OpKind.Connect or OpKind.Send or OpKind.SendV or OpKind.Recv or OpKind.Shutdown or OpKind.Accept or OpKind.SendMsg or OpKind.RecvMsg)
        {
            // Socket requests fail like System.Net.Sockets does: a SocketException (with the errno kept).
            return new UringSocketException(errno, op);
        }

        if (kind is OpKind.RenameAt or OpKind.UnlinkAt or OpKind.MkdirAt or OpKind.SymlinkAt or OpKind.LinkAt)
        {
            // The path is already the request's description (both paths, quoted); UringFileSystem turns the errno
            // into what System.IO.File and Directory throw, which depends on the call.
            return IoUringException.FromErrno(errno, path is null ? op : $"{op} {path}");
        }

        if (kind is OpKind.OpenAt or OpKind.Statx && path is not null)
        {
            return ForPath(errno, kind, FullPath(path));
        }

        bool fileIo = kind is OpKind.Read or OpKind.Write or OpKind.ReadV or OpKind.WriteV or OpKind.Fsync or OpKind.Fallocate or OpKind.Ftruncate;
        FileFacts facts = fileIo ? Describe(handle, errno == Errno.EINVAL) : default;
        string? name = path is not null ? FullPath(path) : facts.Path;
        IoUringException inner = IoUringException.FromErrno(errno, name is null ? op : $"{op} '{name}'", Hint(errno, kind, facts.Direct));
        if (fileIo && (handle is SafeFileHandle || path is not null) && errno is Errno.EBADF or Errno.EACCES or Errno.EPERM)
        {
            // RandomAccess on a handle not opened for this access (EBADF), or a file the process may not touch.
            return new UnauthorizedAccessException(AccessDenied(name), inner);
        }

        return inner;
    }

    /// <summary>The exception .NET's <see cref="File.OpenHandle"/> throws for a failed open (or stat) of <paramref name="fullPath"/>.</summary>
    private static Exception ForPath(int errno, OpKind kind, string fullPath)
    {
        IoUringException inner = IoUringException.FromErrno(errno, $"{Name(kind)} '{fullPath}'", Hint(errno, kind, direct: false));
        switch (errno)
        {
            case Errno.ENOENT:
                // Like .NET: the file is missing if its directory exists, otherwise a part of the path is.
                return ParentDirectoryExists(fullPath)
                    ? new FileNotFoundException($"Could not find file '{fullPath}'.", fullPath, inner)
                    : new DirectoryNotFoundException($"Could not find a part of the path '{fullPath}'.", inner);
            case Errno.ENOTDIR:
                return new DirectoryNotFoundException($"Could not find a part of the path '{fullPath}'.", inner);
            case Errno.EACCES:
            case Errno.EPERM:
            case Errno.EISDIR when kind == OpKind.OpenAt:
                return new UnauthorizedAccessException(AccessDenied(fullPath), inner);
            case Errno.ENAMETOOLONG:
                return new PathTooLongException($"The path '{fullPath}' is too long, or a component of the specified path is too long.", inner);
            case Errno.EEXIST:
                // .NET throws a plain IOException with this message and the errno as HResult; IoUringException is one.
                return new IoUringException(errno, $"The file '{fullPath}' already exists.");
            default:
                return inner;
        }
    }

    /// <summary>.NET's message for <see cref="UnauthorizedAccessException"/> from file I/O.</summary>
    internal static string AccessDenied(string? fullPath) =>
        fullPath is null ? "Access to the path is denied." : $"Access to the path '{fullPath}' is denied.";

    /// <summary>The full path for a message, or the path as given when it cannot be resolved.</summary>
    private static string FullPath(string path)
    {
        try
        {
            return System.IO.Path.GetFullPath(path);
        }
        catch (ArgumentException)
        {
            return path;
        }
    }

    private static bool ParentDirectoryExists(string fullPath)
    {
        string? parent = System.IO.Path.GetDirectoryName(System.IO.Path.TrimEndingDirectorySeparator(fullPath));
        return parent is null || Directory.Exists(parent);
    }

    /// <summary>What the error message may say about the file behind a handle: its path and whether it is <c>O_DIRECT</c>.</summary>
    private readonly record struct FileFacts(string? Path, bool Direct);

    /// <summary>
    /// Describes the file behind <paramref name="handle"/> from <c>/proc/self/fd</c> and <c>/proc/self/fdinfo</c>, only
    /// on the error path. The handle is referenced while it is read, so its descriptor cannot be closed and reused
    /// meanwhile; a closed handle describes nothing.
    /// </summary>
    private static FileFacts Describe(SafeHandle? handle, bool wantFlags)
    {
        if (handle is null || handle.IsClosed || handle.IsInvalid)
        {
            return default;
        }

        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            int fd = (int)handle.DangerousGetHandle();
            string? path = null;
            try
            {
                string? target = new FileInfo($"/proc/self/fd/{fd}").LinkTarget;
                path = target is not null && target.StartsWith('/') ? target : null;
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }

            return new FileFacts(path, wantFlags && IsDirect(fd));
        }
        catch (ObjectDisposedException)
        {
            return default;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>True when descriptor <paramref name="fd"/> was opened with <c>O_DIRECT</c> (the <c>flags:</c> line of its fdinfo, octal).</summary>
    private static bool IsDirect(int fd)
    {
        try
        {
            foreach (string line in File.ReadLines($"/proc/self/fdinfo/{fd}"))
            {
                if (line.StartsWith("flags:", StringComparison.Ordinal))
                {
                    long flags = Convert.ToInt64(line.AsSpan(6).Trim().ToString(), 8);
                    return (flags & OpenFlags.ODirect) != 0;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException)
        {
        }

        return false;
    }

    /// <summary>The system call a request stands for, as error messages name it.</summary>
    internal static string Name(OpKind kind) => kind switch
    {
        OpKind.Read => "read",
        OpKind.Write => "write",
        OpKind.ReadV => "readv",
        OpKind.WriteV or OpKind.SendV => "writev",
        OpKind.Fsync => "fsync",
        OpKind.Fallocate => "fallocate",
        OpKind.Ftruncate => "ftruncate",
        OpKind.OpenAt => "openat",
        OpKind.Close => "close",
        OpKind.Statx => "statx",
        OpKind.Fadvise => "fadvise",
        OpKind.InstallFixedFile or OpKind.RemoveFixedFile => "files_update",
        OpKind.Connect => "connect",
        OpKind.Send => "send",
        OpKind.Recv => "recv",
        OpKind.Shutdown => "shutdown",
        OpKind.Accept => "accept",
        OpKind.RenameAt => "renameat",
        OpKind.UnlinkAt => "unlinkat",
        OpKind.MkdirAt => "mkdirat",
        OpKind.SymlinkAt => "symlinkat",
        OpKind.LinkAt => "linkat",
        OpKind.SendMsg => "sendmsg",
        OpKind.RecvMsg => "recvmsg",
        _ => "nop",
    };

    private static string? Hint(int errno, OpKind kind, bool direct) => errno switch
    {
        Errno.EBADF when kind is OpKind.Read or OpKind.ReadV => "The file was not opened for reading",
        Errno.EBADF when kind is OpKind.Write or OpKind.WriteV or OpKind.Fallocate or OpKind.Ftruncate => "The file was not opened for writing",
        Errno.EINVAL when direct && kind is OpKind.Read or OpKind.Write or OpKind.ReadV or OpKind.WriteV =>
            "The file was opened with O_DIRECT: the buffer address, length and file offset must be aligned to the device's logical block size",
        Errno.EINVAL when kind is OpKind.Ftruncate => "The file was not opened for writing, or the length is too large",
        Errno.ENOSPC => "The device is full",
        Errno.EISDIR => "The path is a directory",
        Errno.EOPNOTSUPP when kind == OpKind.Fallocate => "The file system does not support fallocate",
        _ => null,
    };
}

/// <summary>
/// An operation's owner that is a file with a path and a handle (a <see cref="UringFile"/>): the engine keeps it for
/// a failed request so the error can name the file, as .NET's file APIs do.
/// </summary>
internal interface IFileErrorSource
{
    /// <summary>The file's full path, or null when it is not known.</summary>
    string? Path { get; }

    /// <summary>The file's handle.</summary>
    SafeFileHandle Handle { get; }
}
