namespace IoUring;

/// <summary>
/// <see cref="Ring.GetSqe"/> found no free SQE: every slot holds a request not yet consumed by the kernel.
/// Call <see cref="Ring.Submit"/> (and, with SQPOLL, let the poller catch up) before getting more, or check
/// <see cref="Ring.SqSpaceLeft"/> first.
/// </summary>
public sealed class SubmissionQueueFullException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public SubmissionQueueFullException()
        : base("The submission queue is full.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public SubmissionQueueFullException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public SubmissionQueueFullException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
