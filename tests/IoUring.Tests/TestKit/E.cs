namespace IoUring.Tests;

/// <summary>
/// Linux errno values the tests expect (positive, as <see cref="Cqe.Errno"/> reports them). The tests keep their own
/// table rather than the library's, so a wrong constant in the library cannot make its own test agree with it.
/// </summary>
internal static class E
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int ENXIO = 6;
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;
    public const int EACCES = 13;
    public const int EFAULT = 14;
    public const int EBUSY = 16;
    public const int EEXIST = 17;
    public const int EXDEV = 18;
    public const int EISDIR = 21;
    public const int EINVAL = 22;
    public const int ENFILE = 23;
    public const int EMFILE = 24;
    public const int ESPIPE = 29;
    public const int ENOSYS = 38;
    public const int ETIME = 62;
    public const int ENOBUFS = 105;
    public const int EALREADY = 114;
    public const int ECANCELED = 125;
}
