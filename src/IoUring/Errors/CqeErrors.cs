namespace IoUring;

/// <summary>
/// Turns a failed completion into an exception. <see cref="Cqe"/> is the kernel's struct and knows nothing of
/// exceptions (Interop sits below Errors); this extension gives it liburing's "check the result" step.
/// </summary>
public static class CqeErrors
{
    /// <summary>Throws <see cref="IoUringException"/> when the request failed; otherwise returns <see cref="Cqe.Res"/>.</summary>
    /// <param name="cqe">The completion.</param>
    /// <param name="operation">A name for the operation, used in the message.</param>
    /// <returns>The non-negative result.</returns>
    /// <exception cref="IoUringException"><see cref="Cqe.Res"/> is a negative errno.</exception>
    public static int ThrowIfError(this in Cqe cqe, string operation = "io_uring request")
    {
        if (cqe.Res < 0)
        {
            throw IoUringException.FromErrno(-cqe.Res, operation);
        }

        return cqe.Res;
    }
}
