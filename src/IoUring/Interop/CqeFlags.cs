namespace IoUring;

/// <summary><c>IORING_CQE_F_*</c>: flags in <c>io_uring_cqe.flags</c>. The upper 16 bits carry a buffer id.</summary>
[Flags]
public enum CqeFlags : uint
{
    /// <summary>No flags.</summary>
    None = 0,
    /// <summary>The upper 16 bits are the id of the provided buffer used.</summary>
    Buffer = 1u << 0,
    /// <summary>More CQEs will follow for this request (multishot, or a zero-copy notification).</summary>
    More = 1u << 1,
    /// <summary>The socket has more data to read.</summary>
    SockNonEmpty = 1u << 2,
    /// <summary>This is a zero-copy notification: the buffer may be reused.</summary>
    Notif = 1u << 3,
    /// <summary>The provided buffer was only partly consumed (incremental buffer rings, 6.12).</summary>
    BufMore = 1u << 4,
}

/// <summary><c>IORING_SQ_*</c>: flags the kernel sets in the SQ ring's <c>flags</c> word.</summary>
[Flags]
public enum SqRingFlags : uint
{
    /// <summary>No flags.</summary>
    None = 0,
    /// <summary>The SQPOLL thread sleeps; wake it with <see cref="EnterFlags.SqWakeup"/>.</summary>
    NeedWakeup = 1u << 0,
    /// <summary>Completions are waiting in the overflow list; enter with <see cref="EnterFlags.GetEvents"/> to flush them.</summary>
    CqOverflow = 1u << 1,
    /// <summary>Completion task work is pending; enter with <see cref="EnterFlags.GetEvents"/> to run it.</summary>
    TaskRun = 1u << 2,
}

/// <summary><c>IORING_CQ_*</c>: flags the application sets in the CQ ring's <c>flags</c> word.</summary>
[Flags]
public enum CqRingFlags : uint
{
    /// <summary>No flags.</summary>
    None = 0,
    /// <summary>Do not signal a registered eventfd.</summary>
    EventFdDisabled = 1u << 0,
}
