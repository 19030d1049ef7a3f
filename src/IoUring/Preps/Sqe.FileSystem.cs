namespace IoUring;

// Preps for path and descriptor requests. Paths are NUL-terminated UTF-8 the kernel reads at submission.
public partial struct Sqe
{
    /// <summary>The <c>AT_FDCWD</c> directory fd: resolve relative paths from the working directory.</summary>
    public const int AtFdCwd = -100;

    /// <summary><c>openat(dfd, path, flags, mode)</c>; the CQE result is the new fd. (liburing <c>io_uring_prep_openat</c>; Linux 5.6.)</summary>
    /// <param name="dirFd">Directory fd or <see cref="AtFdCwd"/>.</param>
    /// <param name="path">Address of a NUL-terminated UTF-8 path, valid until submission.</param>
    /// <param name="flags"><c>O_*</c> flags.</param>
    /// <param name="mode">Permissions for a created file.</param>
    public void PrepOpenAt(int dirFd, nint path, int flags, uint mode)
    {
        PrepRw(Opcode.OpenAt, dirFd, (ulong)path, mode, 0);
        OpenFlags = (uint)flags;
    }

    /// <summary>
    /// <c>openat</c> into direct-descriptor slot <paramref name="fileIndex"/> (or <see cref="SqeConstants.FileIndexAlloc"/>)
    /// of the registered file table. The CQE result is 0, or the slot picked with <see cref="SqeConstants.FileIndexAlloc"/>.
    /// (liburing <c>io_uring_prep_openat_direct</c>; Linux 5.15.)
    /// </summary>
    /// <param name="dirFd">Directory fd or <see cref="AtFdCwd"/>.</param>
    /// <param name="path">Address of a NUL-terminated UTF-8 path.</param>
    /// <param name="flags"><c>O_*</c> flags, without <c>O_CLOEXEC</c> (refused with <c>-EINVAL</c> for a direct descriptor).</param>
    /// <param name="mode">Permissions.</param>
    /// <param name="fileIndex">Registered-file slot, or <see cref="SqeConstants.FileIndexAlloc"/>.</param>
    public void PrepOpenAtDirect(int dirFd, nint path, int flags, uint mode, uint fileIndex)
    {
        PrepOpenAt(dirFd, path, flags, mode);
        FileIndex = fileIndex == SqeConstants.FileIndexAlloc ? fileIndex : fileIndex + 1;
    }

    /// <summary><c>openat2(dfd, path, how)</c>; the CQE result is the new fd. <see cref="Ring.PrepOpenAt2(int, nint, in OpenHow)"/> keeps <paramref name="how"/> for you. (liburing <c>io_uring_prep_openat2</c>; Linux 5.6.)</summary>
    /// <param name="dirFd">Directory fd or <see cref="AtFdCwd"/>.</param>
    /// <param name="path">Address of a NUL-terminated UTF-8 path.</param>
    /// <param name="how">Address of an <see cref="OpenHow"/>, valid until submission.</param>
    public void PrepOpenAt2(int dirFd, nint path, nint how) =>
        PrepRw(Opcode.OpenAt2, dirFd, (ulong)path, (uint)System.Runtime.CompilerServices.Unsafe.SizeOf<OpenHow>(), (ulong)how);

    /// <summary>
    /// <c>openat2</c> into direct-descriptor slot <paramref name="fileIndex"/> (or <see cref="SqeConstants.FileIndexAlloc"/>);
    /// the CQE result is 0, or the slot picked. <see cref="OpenHow.Flags"/> must not contain <c>O_CLOEXEC</c>.
    /// (liburing <c>io_uring_prep_openat2_direct</c>; Linux 5.15.)
    /// </summary>
    /// <param name="dirFd">Directory fd or <see cref="AtFdCwd"/>.</param>
    /// <param name="path">Address of a NUL-terminated UTF-8 path.</param>
    /// <param name="how">Address of an <see cref="OpenHow"/>, valid until submission.</param>
    /// <param name="fileIndex">Registered-file slot, or <see cref="SqeConstants.FileIndexAlloc"/>.</param>
    public void PrepOpenAt2Direct(int dirFd, nint path, nint how, uint fileIndex)
    {
        PrepOpenAt2(dirFd, path, how);
        FileIndex = fileIndex == SqeConstants.FileIndexAlloc ? fileIndex : fileIndex + 1;
    }

    /// <summary><c>close(fd)</c>. (liburing <c>io_uring_prep_close</c>; Linux 5.6.)</summary>
    /// <param name="fd">The descriptor to close.</param>
    public void PrepClose(int fd) => PrepRw(Opcode.Close, fd, 0, 0, 0);

    /// <summary>Closes direct-descriptor slot <paramref name="fileIndex"/>. (liburing <c>io_uring_prep_close_direct</c>; Linux 5.15.)</summary>
    /// <param name="fileIndex">The registered-file slot.</param>
    public void PrepCloseDirect(uint fileIndex)
    {
        PrepClose(0);
        FileIndex = fileIndex + 1;
    }

    /// <summary><c>statx(dfd, path, flags, mask, statxbuf)</c>. (liburing <c>io_uring_prep_statx</c>; Linux 5.6.)</summary>
    /// <param name="dirFd">Directory fd or <see cref="AtFdCwd"/>.</param>
    /// <param name="path">Address of a NUL-terminated UTF-8 path.</param>
    /// <param name="flags"><c>AT_*</c> flags.</param>
    /// <param name="mask"><c>STATX_*</c> fields wanted.</param>
    /// <param name="statx">Address of a <see cref="Statx"/> the kernel fills before the CQE.</param>
    public void PrepStatx(int dirFd, nint path, int flags, uint mask, nint statx)
    {
        PrepRw(Opcode.Statx, dirFd, (ulong)path, mask, (ulong)statx);
        StatxFlags = (uint)flags;
    }

    /// <summary><c>renameat2(oldDir, oldPath, newDir, newPath, flags)</c>. (liburing <c>io_uring_prep_renameat</c>; Linux 5.11.)</summary>
    /// <param name="oldDirFd">Old directory fd.</param>
    /// <param name="oldPath">Old path address.</param>
    /// <param name="newDirFd">New directory fd.</param>
    /// <param name="newPath">New path address.</param>
    /// <param name="flags"><c>RENAME_*</c>.</param>
    public void PrepRenameAt(int oldDirFd, nint oldPath, int newDirFd, nint newPath, uint flags = 0)
    {
        PrepRw(Opcode.RenameAt, oldDirFd, (ulong)oldPath, (uint)newDirFd, (ulong)newPath);
        RenameFlags = flags;
    }

    /// <summary><c>unlinkat(dir, path, flags)</c>; <c>AT_REMOVEDIR</c> (0x200) removes a directory. (liburing <c>io_uring_prep_unlinkat</c>; Linux 5.11.)</summary>
    /// <param name="dirFd">Directory fd.</param>
    /// <param name="path">Path address.</param>
    /// <param name="flags"><c>AT_REMOVEDIR</c> or 0.</param>
    public void PrepUnlinkAt(int dirFd, nint path, int flags = 0)
    {
        PrepRw(Opcode.UnlinkAt, dirFd, (ulong)path, 0, 0);
        UnlinkFlags = (uint)flags;
    }

    /// <summary><c>mkdirat(dir, path, mode)</c>. (liburing <c>io_uring_prep_mkdirat</c>; Linux 5.15.)</summary>
    /// <param name="dirFd">Directory fd.</param>
    /// <param name="path">Path address.</param>
    /// <param name="mode">Permissions.</param>
    public void PrepMkdirAt(int dirFd, nint path, uint mode) => PrepRw(Opcode.MkdirAt, dirFd, (ulong)path, mode, 0);

    /// <summary><c>symlinkat(target, newDir, linkPath)</c>. (liburing <c>io_uring_prep_symlinkat</c>; Linux 5.15.)</summary>
    /// <param name="target">Target path address.</param>
    /// <param name="newDirFd">Directory fd of the link.</param>
    /// <param name="linkPath">Link path address.</param>
    public void PrepSymlinkAt(nint target, int newDirFd, nint linkPath) =>
        PrepRw(Opcode.SymlinkAt, newDirFd, (ulong)target, 0, (ulong)linkPath);

    /// <summary><c>linkat(oldDir, oldPath, newDir, newPath, flags)</c>. (liburing <c>io_uring_prep_linkat</c>; Linux 5.15.)</summary>
    /// <param name="oldDirFd">Old directory fd.</param>
    /// <param name="oldPath">Old path address.</param>
    /// <param name="newDirFd">New directory fd.</param>
    /// <param name="newPath">New path address.</param>
    /// <param name="flags"><c>AT_*</c>.</param>
    public void PrepLinkAt(int oldDirFd, nint oldPath, int newDirFd, nint newPath, int flags = 0)
    {
        PrepRw(Opcode.LinkAt, oldDirFd, (ulong)oldPath, (uint)newDirFd, (ulong)newPath);
        HardlinkFlags = (uint)flags;
    }

    /// <summary>
    /// Updates registered files from the SQ: <paramref name="count"/> fds at <paramref name="fds"/> into slots from
    /// <paramref name="offset"/> (-1 clears a slot, <see cref="SqeConstants.RegisterFilesSkip"/> keeps it). The CQE
    /// result is the number of slots updated.
    /// (liburing <c>io_uring_prep_files_update</c>; Linux 5.6.)
    /// </summary>
    /// <param name="fds">Address of an int array: read at execution, and written when allocating, so keep it until the CQE.</param>
    /// <param name="count">Number of fds.</param>
    /// <param name="offset">First slot, or -1 (<c>IORING_FILE_INDEX_ALLOC</c>) to put each fd in a free slot and write the slot indices back into the array.</param>
    public void PrepFilesUpdate(nint fds, uint count, int offset) =>
        PrepRw(Opcode.FilesUpdate, -1, (ulong)fds, count, (ulong)(uint)offset);

    /// <summary><c>pipe2(fds, flags)</c> (6.16): the kernel writes the read and write fds into the two ints at <paramref name="fds"/>; the CQE result is 0. (liburing <c>io_uring_prep_pipe</c>.)</summary>
    /// <param name="fds">Address of two ints, valid until the CQE.</param>
    /// <param name="flags"><c>O_CLOEXEC</c>, <c>O_NONBLOCK</c>, <c>O_DIRECT</c>.</param>
    public void PrepPipe(nint fds, int flags = 0)
    {
        PrepRw(Opcode.Pipe, 0, (ulong)fds, 0, 0);
        // pipe_flags shares the 32-bit flags union with rw_flags.
        RwFlags = flags;
    }

    /// <summary>
    /// <c>pipe2</c> into direct descriptors (6.16): the read end goes to slot <paramref name="fileIndex"/> and the write end to
    /// the next one, or both to free slots with <see cref="SqeConstants.FileIndexAlloc"/>, in which case the kernel writes
    /// the two slot indices into <paramref name="fds"/>.
    /// (liburing <c>io_uring_prep_pipe_direct</c>.)
    /// </summary>
    /// <param name="fds">Address of two ints, valid until the CQE.</param>
    /// <param name="flags"><c>O_NONBLOCK</c>, <c>O_DIRECT</c>; <c>O_CLOEXEC</c> is refused.</param>
    /// <param name="fileIndex">First registered-file slot, or <see cref="SqeConstants.FileIndexAlloc"/>.</param>
    public void PrepPipeDirect(nint fds, int flags, uint fileIndex)
    {
        PrepPipe(fds, flags);
        FileIndex = fileIndex == SqeConstants.FileIndexAlloc ? fileIndex : fileIndex + 1;
    }

    /// <summary>Installs direct descriptor <paramref name="fileIndex"/> as a normal fd (6.8); the CQE result is the fd. (liburing <c>io_uring_prep_fixed_fd_install</c>.)</summary>
    /// <param name="fileIndex">The registered-file slot.</param>
    /// <param name="flags">0 for an <c>O_CLOEXEC</c> fd, or <see cref="SqeConstants.FixedFdNoCloexec"/>.</param>
    public void PrepFixedFdInstall(int fileIndex, uint flags = 0)
    {
        PrepRw(Opcode.FixedFdInstall, fileIndex, 0, 0, 0);
        Flags |= SqeFlags.FixedFile;
        // install_fd_flags shares the 32-bit flags union with rw_flags.
        RwFlags = (int)flags;
    }
}
