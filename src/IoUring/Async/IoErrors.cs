using IoUring.Interop;

namespace IoUring;

/// <summary>Turns a failed engine operation's errno into the exception its caller expects.</summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>ECANCELED</c> after the caller's token was cancelled: <see cref="OperationCanceledException"/> for that token.</item>
/// <item><c>ECANCELED</c> because the engine was disposed: <see cref="ObjectDisposedException"/>.</item>
/// <item>Opening or stat-ing a path: the exception <see cref="File"/> APIs throw (<see cref="FileNotFoundException"/>,
/// <see cref="DirectoryNotFoundException"/>, <see cref="UnauthorizedAccessException"/>, <see cref="PathTooLongException"/>),
/// with an <see cref="IoUringException"/> carrying the errno as the inner exception.</item>
/// <item>Everything else: <see cref="IoUringException"/> (an <see cref="IOException"/>) with <see cref="IoUringException.Errno"/>
/// and a message naming the operation, the errno and its text.</item>
/// </list>
/// </remarks>
internal static class IoErrors
{
    public static Exception ForOperation(int errno, OpKind kind, string? path, CancellationToken token, bool engineDisposing)
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
        if (kind is OpKind.Connect or OpKind.Send or OpKind.Recv or OpKind.Shutdown or OpKind.Accept)
        {
            // Socket requests fail like System.Net.Sockets does: a SocketException (with the errno kept).
            return new UringSocketException(errno, op);
        }

        IoUringException inner = IoUringException.FromErrno(errno, path is null ? op : $"{op} '{path}'", Hint(errno, kind));
        if (kind is OpKind.OpenAt or OpKind.Statx && path is not null)
        {
            switch (errno)
            {
                case Errno.ENOENT:
                    return new FileNotFoundException($"Could not find file '{path}'.", path, inner);
                case ENOTDIR:
                    return new DirectoryNotFoundException($"Could not find a part of the path '{path}'.", inner);
                case Errno.EACCES:
                case Errno.EPERM:
                    return new UnauthorizedAccessException($"Access to the path '{path}' is denied.", inner);
                case ENAMETOOLONG:
                    return new PathTooLongException($"The path '{path}' is too long.", inner);
            }
        }

        return inner;
    }

    private const int ENOTDIR = 20;
    private const int EISDIR = 21;
    private const int ENAMETOOLONG = 36;

    private static string Name(OpKind kind) => kind switch
    {
        OpKind.Read => "read",
        OpKind.Write => "write",
        OpKind.ReadV => "readv",
        OpKind.WriteV => "writev",
        OpKind.Fsync => "fsync",
        OpKind.Fallocate => "fallocate",
        OpKind.Ftruncate => "ftruncate",
        OpKind.OpenAt => "openat",
        OpKind.Close => "close",
        OpKind.Statx => "statx",
        OpKind.Connect => "connect",
        OpKind.Send => "send",
        OpKind.Recv => "recv",
        OpKind.Shutdown => "shutdown",
        OpKind.Accept => "accept",
        _ => "nop",
    };

    private static string? Hint(int errno, OpKind kind) => errno switch
    {
        Errno.EBADF when kind is OpKind.Read or OpKind.ReadV => "The file was not opened for reading",
        Errno.EBADF when kind is OpKind.Write or OpKind.WriteV or OpKind.Fallocate or OpKind.Ftruncate => "The file was not opened for writing",
        Errno.EINVAL when kind is OpKind.Read or OpKind.Write or OpKind.ReadV or OpKind.WriteV =>
            "With O_DIRECT, the buffer address, length and file offset must be aligned to the device's logical block size",
        Errno.ENOSPC => "The device is full",
        EISDIR => "The path is a directory",
        Errno.EOPNOTSUPP when kind == OpKind.Fallocate => "The file system does not support fallocate",
        _ => null,
    };
}
