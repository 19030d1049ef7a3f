namespace IoUring;

/// <summary><c>IOSQE_*</c>: per-request flags in <c>io_uring_sqe.flags</c>.</summary>
[Flags]
public enum SqeFlags : byte
{
    /// <summary>No flags.</summary>
    None = 0,
    /// <summary><c>fd</c> is an index into the registered file table.</summary>
    FixedFile = 1 << 0,
    /// <summary>Start only after all earlier requests completed.</summary>
    IoDrain = 1 << 1,
    /// <summary>The next SQE starts only after this one succeeds; a failure cancels the rest of the chain.</summary>
    IoLink = 1 << 2,
    /// <summary>Like <see cref="IoLink"/>, but the chain continues whatever this request's result.</summary>
    IoHardLink = 1 << 3,
    /// <summary>Always issue from the async worker pool.</summary>
    Async = 1 << 4,
    /// <summary>Pick a buffer from the group in <c>buf_group</c>.</summary>
    BufferSelect = 1 << 5,
    /// <summary>Post no CQE if the request succeeds.</summary>
    CqeSkipSuccess = 1 << 6,
}
