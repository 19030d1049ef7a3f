
namespace IoUring;

// Directory-entry requests (5.11-5.15): rename, unlink, mkdir, symlink, link, with the path lookups in the kernel, off
// the calling thread. One declaration per kind validates its paths and issues through IssueEntry, whose one prepare
// function preps the SQE by kind. Relative paths resolve from the working directory (AT_FDCWD).
public sealed partial class IoUringEngine
{
    /// <summary><c>RENAME_NOREPLACE</c>: fail with <c>EEXIST</c> instead of replacing an existing target.</summary>
    public const uint RenameNoReplace = 1;

    /// <summary><c>RENAME_EXCHANGE</c>: swap the two paths atomically (both must exist).</summary>
    public const uint RenameExchange = 2;

    private const int AtRemoveDir = 0x200;
    private const int AtSymlinkFollow = 0x400;

    /// <summary>The mode used by <see cref="MakeDirectoryAsync"/> by default: 0777 before the umask, like <c>mkdir(1)</c> and <see cref="Directory.CreateDirectory(string)"/>.</summary>
    public const UnixFileMode DefaultDirectoryMode = (UnixFileMode)0x1FF;

    /// <summary>A request naming one or two paths, with flags (or a mode).</summary>
    private readonly record struct EntryRequest(string Path, string? Other, int Flags);

    /// <summary>Renames <paramref name="oldPath"/> to <paramref name="newPath"/> (<c>IORING_OP_RENAMEAT</c>, 5.11, like <c>renameat2(2)</c>).</summary>
    /// <param name="oldPath">The existing entry (file, directory or link).</param>
    /// <param name="newPath">Its new path; an existing file there is replaced unless <paramref name="flags"/> has <see cref="RenameNoReplace"/>.</param>
    /// <param name="flags">0, <see cref="RenameNoReplace"/> or <see cref="RenameExchange"/>.</param>
    /// <param name="cancellationToken">Cancels the request (before it reaches the kernel; a rename itself is never half done).</param>
    /// <returns>A task that completes when the entry has moved.</returns>
    /// <exception cref="ArgumentException">A path is null, empty or contains a null character.</exception>
    /// <exception cref="IoUringException">The kernel refused it; <see cref="IoUringException.Errno"/> says why (<c>ENOENT</c>, <c>EEXIST</c>, <c>EXDEV</c> across file systems, ...).</exception>
    public ValueTask RenameAsync(string oldPath, string newPath, uint flags = 0, CancellationToken cancellationToken = default)
    {
        ValidatePath(oldPath);
        ValidatePath(newPath);
        return IssueEntry(OpKind.RenameAt, new EntryRequest(oldPath, newPath, (int)flags), cancellationToken);
    }

    /// <summary>Removes the entry at <paramref name="path"/> (<c>IORING_OP_UNLINKAT</c>, 5.11, like <c>unlinkat(2)</c>).</summary>
    /// <param name="path">A file or link (or, with <paramref name="directory"/>, an empty directory).</param>
    /// <param name="directory">Remove an empty directory (<c>AT_REMOVEDIR</c>, like <c>rmdir(2)</c>).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>A task that completes when the entry is gone.</returns>
    /// <exception cref="IoUringException"><c>ENOENT</c>, <c>EISDIR</c>, <c>ENOTEMPTY</c>, ... in <see cref="IoUringException.Errno"/>.</exception>
    public ValueTask UnlinkAsync(string path, bool directory = false, CancellationToken cancellationToken = default)
    {
        ValidatePath(path);
        return IssueEntry(OpKind.UnlinkAt, new EntryRequest(path, null, directory ? AtRemoveDir : 0), cancellationToken);
    }

    /// <summary>Creates the directory <paramref name="path"/> (<c>IORING_OP_MKDIRAT</c>, 5.15, like <c>mkdirat(2)</c>); its parent must exist.</summary>
    /// <param name="path">The new directory.</param>
    /// <param name="mode">Its permissions before the umask.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>A task that completes when the directory exists.</returns>
    /// <exception cref="IoUringException"><c>EEXIST</c> (something is there already), <c>ENOENT</c> (no parent), ... in <see cref="IoUringException.Errno"/>.</exception>
    public ValueTask MakeDirectoryAsync(string path, UnixFileMode mode = DefaultDirectoryMode, CancellationToken cancellationToken = default)
    {
        ValidatePath(path);
        return IssueEntry(OpKind.MkdirAt, new EntryRequest(path, null, (int)mode), cancellationToken);
    }

    /// <summary>Creates a symbolic link at <paramref name="linkPath"/> pointing to <paramref name="target"/> (<c>IORING_OP_SYMLINKAT</c>, 5.15).</summary>
    /// <param name="target">What the link points to, stored as given (it need not exist; a relative target resolves from the link's directory).</param>
    /// <param name="linkPath">The new link.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>A task that completes when the link exists.</returns>
    /// <exception cref="IoUringException"><c>EEXIST</c>, <c>ENOENT</c>, ... in <see cref="IoUringException.Errno"/>.</exception>
    public ValueTask SymlinkAsync(string target, string linkPath, CancellationToken cancellationToken = default)
    {
        ValidatePath(target);
        ValidatePath(linkPath);
        return IssueEntry(OpKind.SymlinkAt, new EntryRequest(linkPath, target, 0), cancellationToken);
    }

    /// <summary>Creates a hard link <paramref name="newPath"/> to the file at <paramref name="existingPath"/> (<c>IORING_OP_LINKAT</c>, 5.15).</summary>
    /// <param name="existingPath">The existing file.</param>
    /// <param name="newPath">The new name.</param>
    /// <param name="followSymlinks">When <paramref name="existingPath"/> is a symbolic link, link its target (<c>AT_SYMLINK_FOLLOW</c>) rather than the link itself.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>A task that completes when the link exists.</returns>
    /// <exception cref="IoUringException"><c>EEXIST</c>, <c>ENOENT</c>, <c>EXDEV</c>, <c>EPERM</c> (a directory), ... in <see cref="IoUringException.Errno"/>.</exception>
    public ValueTask LinkAsync(string existingPath, string newPath, bool followSymlinks = false, CancellationToken cancellationToken = default)
    {
        ValidatePath(existingPath);
        ValidatePath(newPath);
        return IssueEntry(OpKind.LinkAt, new EntryRequest(existingPath, newPath, followSymlinks ? AtSymlinkFollow : 0), cancellationToken);
    }

    /// <summary>Issues the directory-entry request <paramref name="kind"/>; the paths were validated by the caller.</summary>
    private ValueTask IssueEntry(OpKind kind, in EntryRequest request, CancellationToken cancellationToken) =>
        Issue(kind, request, static (IoUringEngine e, IoOperation op, in EntryRequest r) => PrepareEntry(op, r), owner: null, cancellationToken).AsValueTask();

    /// <summary>Preps the SQE of a directory-entry request by its kind, naming its path(s) for the error message.</summary>
    private static void PrepareEntry(IoOperation op, in EntryRequest r)
    {
        switch (op.Kind)
        {
            case OpKind.RenameAt:
                op.Path = $"'{r.Path}' to '{r.Other}'";
                op.Template.PrepRenameAt(Sqe.AtFdCwd, op.Pin(NulTerminated(r.Path)), Sqe.AtFdCwd, op.PinExtra(NulTerminated(r.Other!)), (uint)r.Flags);
                break;
            case OpKind.UnlinkAt:
                op.Path = $"'{r.Path}'";
                op.Template.PrepUnlinkAt(Sqe.AtFdCwd, op.Pin(NulTerminated(r.Path)), r.Flags);
                break;
            case OpKind.MkdirAt:
                op.Path = $"'{r.Path}'";
                op.Template.PrepMkdirAt(Sqe.AtFdCwd, op.Pin(NulTerminated(r.Path)), (uint)r.Flags);
                break;
            case OpKind.SymlinkAt:
                op.Path = $"'{r.Path}' -> '{r.Other}'";
                op.Template.PrepSymlinkAt(op.Pin(NulTerminated(r.Other!)), Sqe.AtFdCwd, op.PinExtra(NulTerminated(r.Path)));
                break;
            case OpKind.LinkAt:
                op.Path = $"'{r.Path}' to '{r.Other}'";
                op.Template.PrepLinkAt(Sqe.AtFdCwd, op.Pin(NulTerminated(r.Path)), Sqe.AtFdCwd, op.PinExtra(NulTerminated(r.Other!)), r.Flags);
                break;
            default:
                throw new System.Diagnostics.UnreachableException($"{op.Kind} is not a directory-entry request.");
        }
    }
}
