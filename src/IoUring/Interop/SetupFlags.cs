namespace IoUring;

/// <summary><c>IORING_SETUP_*</c>: flags passed to <c>io_uring_setup(2)</c> in <c>io_uring_params.flags</c>.</summary>
[Flags]
public enum SetupFlags : uint
{
    /// <summary>No flags.</summary>
    None = 0,
    /// <summary>Busy-poll for completions (O_DIRECT on polled block devices only) (5.1).</summary>
    IoPoll = 1u << 0,
    /// <summary>A kernel thread polls the SQ, so submission needs no syscall (5.1).</summary>
    SqPoll = 1u << 1,
    /// <summary><c>sq_thread_cpu</c> is valid: pin the SQPOLL thread (5.1).</summary>
    SqAff = 1u << 2,
    /// <summary><c>cq_entries</c> is valid: the caller sizes the CQ (5.5).</summary>
    CqSize = 1u << 3,
    /// <summary>Clamp entries to the maximum instead of failing (5.6).</summary>
    Clamp = 1u << 4,
    /// <summary>Share the async worker pool of the ring in <c>wq_fd</c> (5.6).</summary>
    AttachWq = 1u << 5,
    /// <summary>Start disabled; enable with <c>IORING_REGISTER_ENABLE_RINGS</c> (5.10).</summary>
    RDisabled = 1u << 6,
    /// <summary>Keep submitting the batch after an SQE fails (5.18).</summary>
    SubmitAll = 1u << 7,
    /// <summary>Do not interrupt the submitter to run completions (5.19).</summary>
    CoopTaskRun = 1u << 8,
    /// <summary>Set <c>IORING_SQ_TASKRUN</c> when completion work is pending (5.19).</summary>
    TaskRunFlag = 1u << 9,
    /// <summary>SQEs are 128 bytes (5.19).</summary>
    Sqe128 = 1u << 10,
    /// <summary>CQEs are 32 bytes (5.19).</summary>
    Cqe32 = 1u << 11,
    /// <summary>Only one task submits (6.0).</summary>
    SingleIssuer = 1u << 12,
    /// <summary>Run completion work only when the issuer waits for events (6.1).</summary>
    DeferTaskRun = 1u << 13,
    /// <summary>Rings are in memory the application provides (6.5).</summary>
    NoMmap = 1u << 14,
    /// <summary>The ring fd is registered only; no normal fd is returned (6.5).</summary>
    RegisteredFdOnly = 1u << 15,
    /// <summary>No SQ index array: SQEs are consumed in ring order (6.6).</summary>
    NoSqArray = 1u << 16,
    /// <summary>Hybrid IO polling (6.13).</summary>
    HybridIoPoll = 1u << 17,
}
