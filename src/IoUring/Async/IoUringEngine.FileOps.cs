using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using IoUring.Interop;
using Microsoft.Win32.SafeHandles;

namespace IoUring;

// File requests: one declaration per kind, each an Issue call with its own prepare function.
public sealed partial class IoUringEngine
{
    /// <summary>Most iovecs one scatter/gather request may carry (<c>IOV_MAX</c>).</summary>
    public const int MaxIoVecs = 1024;

    /// <summary>The mode used by <see cref="OpenAsync"/> for new files: 0666 before the umask, like <see cref="File.Create(string)"/>.</summary>
    public const UnixFileMode DefaultCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite;

    private const int FallocKeepSize = 1;
    private const int AtSymlinkNoFollow = 0x100;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxAll = 0xfff;

    private static readonly Lazy<bool> s_hasFtruncate = new(() => Probe.Current.IsSupported(Opcode.Ftruncate));

    /// <summary>One buffer at a file offset (read, write).</summary>
    private readonly record struct BufferRequest(SafeHandle Handle, ReadOnlyMemory<byte> Buffer, long Offset, int FixedSlot);

    /// <summary>Several buffers at a file offset (readv, writev).</summary>
    private readonly record struct VectorRequest(SafeHandle Handle, IReadOnlyList<Memory<byte>>? Read, IReadOnlyList<ReadOnlyMemory<byte>>? Write, long Offset, int FixedSlot);

    /// <summary>A request on a file that carries numbers only (fsync, fallocate, ftruncate).</summary>
    private readonly record struct FileRequest(SafeHandle Handle, long Offset, long Length, int Flags, int FixedSlot);

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

    /// <summary>
    /// Like <see cref="ReadAsync(SafeHandle, Memory{byte}, long, CancellationToken)"/>, with a deadline the kernel
    /// enforces: the read is submitted linked to an <c>IORING_OP_LINK_TIMEOUT</c> (5.5), so no timer object exists per
    /// request, and when <paramref name="timeout"/> passes first the kernel cancels the read.
    /// </summary>
    /// <param name="handle">An open file, pipe or socket handle.</param>
    /// <param name="buffer">Where to read to; pinned until the read completes.</param>
    /// <param name="fileOffset">The file offset; -1 for a non-seekable file.</param>
    /// <param name="timeout">How long the read may take from this call; <see cref="Timeout.InfiniteTimeSpan"/> for no limit.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The number of bytes read.</returns>
    /// <exception cref="TimeoutException">The timeout passed first; the read was cancelled and its buffer is free again.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (other than infinite).</exception>
    public ValueTask<int> ReadAsync(SafeHandle handle, Memory<byte> buffer, long fileOffset, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        ReadAsync(handle, buffer, fileOffset, owner: null, cancellationToken, deadline: RequestDeadline.After(timeout));

    internal ValueTask<int> ReadAsync(SafeHandle handle, Memory<byte> buffer, long fileOffset, IOperationOwner? owner, CancellationToken cancellationToken, int fixedSlot = -1, RequestDeadline deadline = default)
    {
        ArgumentNullException.ThrowIfNull(handle);
        ValidateOffset(fileOffset);
        return IssueReadOrWrite(OpKind.Read, handle, buffer, fileOffset, owner, cancellationToken, fixedSlot, deadline).AsInt32();
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

    /// <summary>
    /// Like <see cref="WriteAsync(SafeHandle, ReadOnlyMemory{byte}, long, CancellationToken)"/>, with a deadline the
    /// kernel enforces (<c>IORING_OP_LINK_TIMEOUT</c>, 5.5): the write and every resubmission after a short write keep
    /// the deadline of this call.
    /// </summary>
    /// <param name="handle">An open file, pipe or socket handle.</param>
    /// <param name="buffer">What to write; pinned until the write completes.</param>
    /// <param name="fileOffset">The file offset; -1 for a non-seekable file.</param>
    /// <param name="timeout">How long the write may take from this call; <see cref="Timeout.InfiniteTimeSpan"/> for no limit.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when every byte has been written.</returns>
    /// <exception cref="TimeoutException">The timeout passed first; bytes already written stay written.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (other than infinite).</exception>
    public ValueTask WriteAsync(SafeHandle handle, ReadOnlyMemory<byte> buffer, long fileOffset, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        WriteAsync(handle, buffer, fileOffset, owner: null, cancellationToken, deadline: RequestDeadline.After(timeout));

    internal ValueTask WriteAsync(SafeHandle handle, ReadOnlyMemory<byte> buffer, long fileOffset, IOperationOwner? owner, CancellationToken cancellationToken, int fixedSlot = -1, RequestDeadline deadline = default)
    {
        ArgumentNullException.ThrowIfNull(handle);
        ValidateOffset(fileOffset);
        if (buffer.IsEmpty && !cancellationToken.IsCancellationRequested)
        {
            ObjectDisposedException.ThrowIf(handle.IsClosed, handle);
            return ValueTask.CompletedTask;
        }

        return IssueReadOrWrite(OpKind.Write, handle, buffer, fileOffset, owner, cancellationToken, fixedSlot, deadline).AsValueTask();
    }

    /// <summary>The one-buffer read (<paramref name="kind"/> <see cref="OpKind.Read"/>) or write (<see cref="OpKind.Write"/>) the two methods above issue.</summary>
    private Issued IssueReadOrWrite(OpKind kind, SafeHandle handle, ReadOnlyMemory<byte> buffer, long fileOffset, IOperationOwner? owner, CancellationToken cancellationToken, int fixedSlot, RequestDeadline deadline) =>
        Issue(
            kind,
            new BufferRequest(handle, buffer, fileOffset, fixedSlot),
            static (IoUringEngine e, IoOperation op, in BufferRequest r) => e.PrepReadOrWrite(op, write: op.Kind == OpKind.Write, op.AddFileRef(r.Handle, r.FixedSlot), op.Pin(r.Buffer), r.Buffer, r.Offset),
            owner,
            cancellationToken,
            deadline);

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
        ValidateIoVecCount(buffers.Count, "read", nameof(buffers));
        return Issue(
            OpKind.ReadV,
            new VectorRequest(handle, buffers, null, fileOffset, fixedSlot),
            static (IoUringEngine e, IoOperation op, in VectorRequest r) =>
            {
                int fd = op.AddFileRef(r.Handle, r.FixedSlot);
                IReadOnlyList<Memory<byte>> buffers = r.Read!;
                IoVec[] iov = op.EnsureIoVecs(buffers.Count);
                for (int i = 0; i < buffers.Count; i++)
                {
                    Memory<byte> b = buffers[i];
                    iov[i] = new IoVec(op.PinExtra(b), (nuint)b.Length);
                }

                op.Template.PrepReadv(fd, op.PinIoVecs(), (uint)buffers.Count, (ulong)r.Offset);
            },
            owner,
            cancellationToken).AsInt64();
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
        ValidateIoVecCount(buffers.Count, "written", nameof(buffers));
        if (TotalLength(buffers) == 0 && !cancellationToken.IsCancellationRequested)
        {
            ObjectDisposedException.ThrowIf(handle.IsClosed, handle);
            return ValueTask.CompletedTask;
        }

        return Issue(
            OpKind.WriteV,
            new VectorRequest(handle, null, buffers, fileOffset, fixedSlot),
            static (IoUringEngine e, IoOperation op, in VectorRequest r) => op.PrepGatherWrite(op.AddFileRef(r.Handle, r.FixedSlot), r.Write!, (ulong)r.Offset),
            owner,
            cancellationToken).AsValueTask();
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
        return Issue(
            OpKind.Fsync,
            new FileRequest(handle, 0, 0, dataOnly ? (int)FsyncFlags.DataSync : 0, fixedSlot),
            static (IoUringEngine e, IoOperation op, in FileRequest r) => op.Template.PrepFsync(op.AddFileRef(r.Handle, r.FixedSlot), (FsyncFlags)r.Flags),
            owner,
            cancellationToken).AsValueTask();
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
        return Issue(
            OpKind.Fallocate,
            new FileRequest(handle, offset, length, keepSize ? FallocKeepSize : 0, fixedSlot),
            static (IoUringEngine e, IoOperation op, in FileRequest r) => op.Template.PrepFallocate(op.AddFileRef(r.Handle, r.FixedSlot), r.Flags, (ulong)r.Offset, (ulong)r.Length),
            owner,
            cancellationToken).AsValueTask();
    }

    /// <summary>
    /// Advises the kernel about a file range (<c>IORING_OP_FADVISE</c>, liburing <c>io_uring_prep_fadvise</c>, Linux 5.6),
    /// as <c>posix_fadvise</c>: <c>POSIX_FADV_WILLNEED</c> starts reading the range into the page cache without waiting
    /// for it. Internal: the file streams' read-ahead.
    /// </summary>
    internal ValueTask AdviseAsync(SafeHandle handle, long offset, uint length, int advice, IOperationOwner? owner, CancellationToken cancellationToken, int fixedSlot = -1)
    {
        ArgumentNullException.ThrowIfNull(handle);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        return Issue(
            OpKind.Fadvise,
            new FileRequest(handle, offset, length, advice, fixedSlot),
            static (IoUringEngine e, IoOperation op, in FileRequest r) => op.Template.PrepFadvise(op.AddFileRef(r.Handle, r.FixedSlot), (ulong)r.Offset, (uint)r.Length, r.Flags),
            owner,
            cancellationToken).AsValueTask();
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
        if (!s_hasFtruncate.Value && !cancellationToken.IsCancellationRequested)
        {
            // Kernels before 6.9 have no IORING_OP_FTRUNCATE: truncate on the calling thread, with the same
            // ObjectDisposedException as the ring path once the engine is shutting down.
            ThrowIfDisposing();
            RandomAccess.SetLength(handle, length);
            return ValueTask.CompletedTask;
        }

        return Issue(
            OpKind.Ftruncate,
            new FileRequest(handle, 0, length, 0, fixedSlot),
            static (IoUringEngine e, IoOperation op, in FileRequest r) => op.Template.PrepFtruncate(op.AddFileRef(r.Handle, r.FixedSlot), (ulong)r.Length),
            owner,
            cancellationToken).AsValueTask();
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
        long fd = await Issue(
            OpKind.OpenAt,
            new PathRequest(path, flags | Libc.O_CLOEXEC, (int)mode, null),
            static (IoUringEngine e, IoOperation op, in PathRequest r) =>
            {
                op.Path = r.Path;
                op.Template.PrepOpenAt(Sqe.AtFdCwd, op.Pin(NulTerminated(r.Path!)), r.Flags, (uint)r.Mode);
            },
            owner: null,
            cancellationToken).AsInt64().ConfigureAwait(false);
        return new SafeFileHandle((nint)fd, ownsHandle: true);
    }

    /// <summary>A request naming a path (open, stat): flags and mode for an open, the result buffer of a stat.</summary>
    private readonly record struct PathRequest(string? Path, int Flags, int Mode, SafeHandle? Handle, byte[]? Result = null);

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
    public ValueTask<Statx> StatAsync(SafeHandle handle, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handle);
        return StatCoreAsync(new PathRequest(null, 0, 0, handle), cancellationToken);
    }

    /// <summary>Reads the metadata of the file at <paramref name="path"/> (<c>statx</c>).</summary>
    /// <param name="path">The path.</param>
    /// <param name="followSymlinks">False to describe a symbolic link itself (<c>AT_SYMLINK_NOFOLLOW</c>).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The file's <see cref="Statx"/>.</returns>
    /// <exception cref="FileNotFoundException">Nothing exists at <paramref name="path"/>.</exception>
    public ValueTask<Statx> StatAsync(string path, bool followSymlinks = true, CancellationToken cancellationToken = default)
    {
        ValidatePath(path);
        return StatCoreAsync(new PathRequest(path, followSymlinks ? 0 : AtSymlinkNoFollow, 0, null), cancellationToken);
    }

    private async ValueTask<Statx> StatCoreAsync(PathRequest request, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        byte[] result = new byte[Marshal.SizeOf<Statx>()];
        _ = await Issue(
            OpKind.Statx,
            request with { Result = result },
            static (IoUringEngine e, IoOperation op, in PathRequest r) =>
            {
                int dirFd = Sqe.AtFdCwd;
                int flags = r.Flags;
                if (r.Handle is not null)
                {
                    dirFd = op.AddHandleRef(r.Handle);
                    flags |= AtEmptyPath;
                }

                op.Path = r.Path;
                nint pathAddress = op.Pin(NulTerminated(r.Path ?? string.Empty));
                op.Template.PrepStatx(dirFd, pathAddress, flags, StatxAll, op.PinExtra(r.Result!));
            },
            owner: null,
            cancellationToken).AsInt64().ConfigureAwait(false);
        return MemoryMarshal.Read<Statx>(result);
    }

    /// <summary>A request that does nothing in the kernel (<c>IORING_OP_NOP</c>): measures the engine's own cost per operation.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the NOP's CQE is reaped.</returns>
    public ValueTask NopAsync(CancellationToken cancellationToken = default) =>
        Issue(OpKind.Nop, 0, static (IoUringEngine e, IoOperation op, in int _) => op.Template.PrepNop(), owner: null, cancellationToken).AsValueTask();

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

    private static void ValidateIoVecCount(int count, string verb, string paramName)
    {
        if (count > MaxIoVecs)
        {
            throw new ArgumentException($"At most {MaxIoVecs} buffers can be {verb} in one request; got {count}.", paramName);
        }
    }

    private static long TotalLength(IReadOnlyList<ReadOnlyMemory<byte>> buffers)
    {
        long total = 0;
        for (int i = 0; i < buffers.Count; i++)
        {
            total += buffers[i].Length;
        }

        return total;
    }
}
