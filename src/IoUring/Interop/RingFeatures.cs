namespace IoUring;

/// <summary><c>IORING_FEAT_*</c>: what the kernel reported in <c>io_uring_params.features</c> at setup.</summary>
[Flags]
public enum RingFeatures : uint
{
    /// <summary>No features reported.</summary>
    None = 0,
    /// <summary>SQ and CQ rings share one mmap (5.4).</summary>
    SingleMmap = 1u << 0,
    /// <summary>Completions are never dropped when the CQ is full; they wait in an overflow list (5.5).</summary>
    NoDrop = 1u << 1,
    /// <summary>Data for a request is consumed at submission time (5.5).</summary>
    SubmitStable = 1u << 2,
    /// <summary>Offset -1 means the current file position (5.6).</summary>
    RwCurPos = 1u << 3,
    /// <summary>Requests run with the submitter's credentials (5.6).</summary>
    CurPersonality = 1u << 4,
    /// <summary>Internal poll instead of async workers for pollable files (5.7).</summary>
    FastPoll = 1u << 5,
    /// <summary>32-bit poll events (5.9).</summary>
    Poll32Bits = 1u << 6,
    /// <summary>SQPOLL works with non-registered files (5.11).</summary>
    SqPollNonFixed = 1u << 7,
    /// <summary><c>IORING_ENTER_EXT_ARG</c> is supported: waits with a timeout (5.11).</summary>
    ExtArg = 1u << 8,
    /// <summary>Async workers are native threads (5.12).</summary>
    NativeWorkers = 1u << 9,
    /// <summary>Resource tags (5.13).</summary>
    RsrcTags = 1u << 10,
    /// <summary><c>IOSQE_CQE_SKIP_SUCCESS</c> (5.17).</summary>
    CqeSkip = 1u << 11,
    /// <summary>Linked requests resolve files in order (5.17).</summary>
    LinkedFile = 1u << 12,
    /// <summary>Register the ring fd through a registered ring (6.3).</summary>
    RegRegRing = 1u << 13,
    /// <summary>Bundled send/recv (6.10).</summary>
    RecvSendBundle = 1u << 14,
    /// <summary>Minimum wait timeout (6.12).</summary>
    MinTimeout = 1u << 15,
    /// <summary>Read/write attributes (6.14).</summary>
    RwAttr = 1u << 16,
    /// <summary><c>IORING_ENTER_NO_IOWAIT</c> (6.15).</summary>
    NoIoWait = 1u << 17,
}
