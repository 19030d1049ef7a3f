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
    public static string ErrnoName(int errno) => Interop.Errno.Name(errno);
}
