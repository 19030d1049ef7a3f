using System.Runtime.InteropServices;

namespace IoUring;

/// <summary>An io_uring system call or request failed. <see cref="Errno"/> carries the kernel's error number.</summary>
public class IoUringException : IOException
{
    /// <summary>Creates the exception.</summary>
    public IoUringException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public IoUringException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public IoUringException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for an errno.</summary>
    /// <param name="errno">The positive errno.</param>
    /// <param name="message">The message.</param>
    public IoUringException(int errno, string message)
        : base(message)
    {
        Errno = errno;
        HResult = errno;
    }

    /// <summary>The positive errno of the failure (for example 9 for <c>EBADF</c>), or 0 when none applies.</summary>
    public int Errno { get; }

    /// <summary>The C library's text for <see cref="Errno"/>.</summary>
    public string ErrnoText => Errno == 0 ? string.Empty : Marshal.GetPInvokeErrorMessage(Errno);

    /// <summary>Builds an exception whose message names the operation, the errno and its text.</summary>
    /// <param name="errno">The positive errno.</param>
    /// <param name="operation">What failed, e.g. <c>"io_uring_enter"</c> or <c>"read"</c>.</param>
    /// <param name="hint">Optional advice appended to the message.</param>
    /// <returns>The exception.</returns>
    public static IoUringException FromErrno(int errno, string operation, string? hint = null)
    {
        string text = $"{operation} failed: {ErrnoName(errno)} ({errno}): {Marshal.GetPInvokeErrorMessage(errno)}";
        if (hint is not null)
        {
            text += ". " + hint;
        }

        return new IoUringException(errno, text);
    }

    /// <summary>The symbolic name of a Linux errno, e.g. <c>EBADF</c> for 9 or <c>EADDRINUSE</c> for 98.</summary>
    /// <param name="errno">The positive errno.</param>
    /// <returns>The name (<c>asm-generic/errno-base.h</c> and <c>errno.h</c>, 1 to 133), or <c>errno N</c> for a number Linux does not define.</returns>
    public static string ErrnoName(int errno) =>
        (uint)errno < (uint)s_errnoNames.Length && s_errnoNames[errno] is string name ? name : "errno " + errno;

    /// <summary>Linux errno names by number; the numbers are the same on every architecture .NET runs Linux on (asm-generic).</summary>
    private static readonly string?[] s_errnoNames =
    [
        null, "EPERM", "ENOENT", "ESRCH", "EINTR", "EIO", "ENXIO", "E2BIG", "ENOEXEC", "EBADF", "ECHILD", "EAGAIN",
        "ENOMEM", "EACCES", "EFAULT", "ENOTBLK", "EBUSY", "EEXIST", "EXDEV", "ENODEV", "ENOTDIR", "EISDIR", "EINVAL",
        "ENFILE", "EMFILE", "ENOTTY", "ETXTBSY", "EFBIG", "ENOSPC", "ESPIPE", "EROFS", "EMLINK", "EPIPE", "EDOM",
        "ERANGE", "EDEADLK", "ENAMETOOLONG", "ENOLCK", "ENOSYS", "ENOTEMPTY", "ELOOP", null, "ENOMSG", "EIDRM",
        "ECHRNG", "EL2NSYNC", "EL3HLT", "EL3RST", "ELNRNG", "EUNATCH", "ENOCSI", "EL2HLT", "EBADE", "EBADR", "EXFULL",
        "ENOANO", "EBADRQC", "EBADSLT", null, "EBFONT", "ENOSTR", "ENODATA", "ETIME", "ENOSR", "ENONET", "ENOPKG",
        "EREMOTE", "ENOLINK", "EADV", "ESRMNT", "ECOMM", "EPROTO", "EMULTIHOP", "EDOTDOT", "EBADMSG", "EOVERFLOW",
        "ENOTUNIQ", "EBADFD", "EREMCHG", "ELIBACC", "ELIBBAD", "ELIBSCN", "ELIBMAX", "ELIBEXEC", "EILSEQ", "ERESTART",
        "ESTRPIPE", "EUSERS", "ENOTSOCK", "EDESTADDRREQ", "EMSGSIZE", "EPROTOTYPE", "ENOPROTOOPT", "EPROTONOSUPPORT",
        "ESOCKTNOSUPPORT", "EOPNOTSUPP", "EPFNOSUPPORT", "EAFNOSUPPORT", "EADDRINUSE", "EADDRNOTAVAIL", "ENETDOWN",
        "ENETUNREACH", "ENETRESET", "ECONNABORTED", "ECONNRESET", "ENOBUFS", "EISCONN", "ENOTCONN", "ESHUTDOWN",
        "ETOOMANYREFS", "ETIMEDOUT", "ECONNREFUSED", "EHOSTDOWN", "EHOSTUNREACH", "EALREADY", "EINPROGRESS", "ESTALE",
        "EUCLEAN", "ENOTNAM", "ENAVAIL", "EISNAM", "EREMOTEIO", "EDQUOT", "ENOMEDIUM", "EMEDIUMTYPE", "ECANCELED",
        "ENOKEY", "EKEYEXPIRED", "EKEYREVOKED", "EKEYREJECTED", "EOWNERDEAD", "ENOTRECOVERABLE", "ERFKILL",
        "EHWPOISON",
    ];
}
