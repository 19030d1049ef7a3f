namespace IoUring;

/// <summary>
/// A blocking wait was asked for while the completion queue is empty and no submitted request is still owed a
/// completion, so the wait could never return. This is io_uring's classic first deadlock; the usual cause is
/// preparing SQEs and forgetting <see cref="Ring.Submit"/>. Set <see cref="Ring.ExpectExternalCompletions"/>
/// when completions arrive from elsewhere (for example <see cref="Opcode.MsgRing"/> from another ring).
/// </summary>
public sealed class WaitWouldBlockForeverException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public WaitWouldBlockForeverException()
        : base("Waiting for a completion with nothing in flight would block forever.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public WaitWouldBlockForeverException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public WaitWouldBlockForeverException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
