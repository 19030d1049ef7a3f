namespace IoUring;

// Preps for extended attributes (5.19). Names and paths are NUL-terminated UTF-8 strings; they and the value buffer
// must stay valid until the CQE (the kernel copies them when the request runs, which may be after submission).
public partial struct Sqe
{
    /// <summary>
    /// <c>fsetxattr(fd, name, value, length, flags)</c> (5.19; liburing <c>io_uring_prep_fsetxattr</c>). The CQE result is 0.
    /// </summary>
    /// <param name="fd">File descriptor.</param>
    /// <param name="name">Address of the attribute name, e.g. <c>"user.note"</c>, valid until the CQE.</param>
    /// <param name="value">Address of the value bytes, valid until the CQE.</param>
    /// <param name="length">Value length in bytes.</param>
    /// <param name="flags"><see cref="XattrFlags"/>.</param>
    public void PrepFSetXattr(int fd, nint name, nint value, uint length, XattrFlags flags = IoUring.XattrFlags.None)
    {
        PrepRw(Opcode.FSetXattr, fd, (ulong)name, length, (ulong)value);
        XattrFlags = (uint)flags;
    }

    /// <summary>
    /// <c>setxattr(path, name, value, length, flags)</c> (5.19; liburing <c>io_uring_prep_setxattr</c>). The CQE result is 0.
    /// </summary>
    /// <param name="path">Address of the file's path, valid until the CQE.</param>
    /// <param name="name">Address of the attribute name.</param>
    /// <param name="value">Address of the value bytes.</param>
    /// <param name="length">Value length in bytes.</param>
    /// <param name="flags"><see cref="XattrFlags"/>.</param>
    public void PrepSetXattr(nint path, nint name, nint value, uint length, XattrFlags flags = IoUring.XattrFlags.None)
    {
        PrepRw(Opcode.SetXattr, 0, (ulong)name, length, (ulong)value);
        Addr3 = (ulong)path;
        XattrFlags = (uint)flags;
    }

    /// <summary>
    /// <c>fgetxattr(fd, name, value, length)</c> (5.19; liburing <c>io_uring_prep_fgetxattr</c>). The CQE result is the
    /// value's length; with <paramref name="length"/> 0 only the length is returned, and a too-small buffer gives <c>-ERANGE</c>.
    /// </summary>
    /// <param name="fd">File descriptor.</param>
    /// <param name="name">Address of the attribute name.</param>
    /// <param name="value">Address of the buffer the kernel fills, valid until the CQE.</param>
    /// <param name="length">Buffer length in bytes.</param>
    public void PrepFGetXattr(int fd, nint name, nint value, uint length) =>
        PrepRw(Opcode.FGetXattr, fd, (ulong)name, length, (ulong)value);

    /// <summary>
    /// <c>getxattr(path, name, value, length)</c> (5.19; liburing <c>io_uring_prep_getxattr</c>). The CQE result is the
    /// value's length; a missing attribute gives <c>-ENODATA</c>.
    /// </summary>
    /// <param name="path">Address of the file's path.</param>
    /// <param name="name">Address of the attribute name.</param>
    /// <param name="value">Address of the buffer the kernel fills.</param>
    /// <param name="length">Buffer length in bytes.</param>
    public void PrepGetXattr(nint path, nint name, nint value, uint length)
    {
        PrepRw(Opcode.GetXattr, 0, (ulong)name, length, (ulong)value);
        Addr3 = (ulong)path;
    }
}

/// <summary><c>XATTR_*</c>: flags of <see cref="Sqe.PrepSetXattr"/> and <see cref="Sqe.PrepFSetXattr"/>.</summary>
[Flags]
public enum XattrFlags : uint
{
    /// <summary>Create or replace.</summary>
    None = 0,
    /// <summary><c>XATTR_CREATE</c>: fail with <c>-EEXIST</c> if the attribute exists.</summary>
    Create = 1,
    /// <summary><c>XATTR_REPLACE</c>: fail with <c>-ENODATA</c> if it does not.</summary>
    Replace = 2,
}
