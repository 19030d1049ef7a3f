namespace IoUring;

/// <summary>
/// A ring could not be created. <see cref="Reason"/> says why in plain terms and the message says what to do;
/// <see cref="IoUringException.Errno"/> is the errno <c>io_uring_setup(2)</c> returned.
/// </summary>
public sealed class IoUringSetupException : IoUringException
{
    /// <summary>Creates the exception.</summary>
    public IoUringSetupException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public IoUringSetupException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public IoUringSetupException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a classified setup failure.</summary>
    /// <param name="errno">The positive errno from <c>io_uring_setup(2)</c>.</param>
    /// <param name="reason">The classified reason.</param>
    /// <param name="message">The message.</param>
    public IoUringSetupException(int errno, SetupFailureReason reason, string message)
        : base(errno, message)
    {
        Reason = reason;
    }

    /// <summary>Why setup failed.</summary>
    public SetupFailureReason Reason { get; }
}
