namespace IoUring;

/// <summary><c>IORING_TIMEOUT_*</c>: flags of <see cref="Opcode.Timeout"/>, <see cref="Opcode.TimeoutRemove"/> and <see cref="Opcode.LinkTimeout"/>.</summary>
[Flags]
public enum TimeoutFlags : uint
{
    /// <summary>Relative timeout on the monotonic clock.</summary>
    None = 0,
    /// <summary>The timespec is absolute.</summary>
    Abs = 1u << 0,
    /// <summary>With <see cref="Opcode.TimeoutRemove"/>: update the timeout instead of removing it.</summary>
    Update = 1u << 1,
    /// <summary>Use <c>CLOCK_BOOTTIME</c>.</summary>
    BootTime = 1u << 2,
    /// <summary>Use <c>CLOCK_REALTIME</c>.</summary>
    RealTime = 1u << 3,
    /// <summary>Update a linked timeout.</summary>
    LinkUpdate = 1u << 4,
    /// <summary>Complete with 0 instead of <c>-ETIME</c> when the timeout fires.</summary>
    EtimeSuccess = 1u << 5,
    /// <summary>Fire repeatedly (6.4).</summary>
    Multishot = 1u << 6,
}

/// <summary><c>IORING_ASYNC_CANCEL_*</c>: what an <see cref="Opcode.AsyncCancel"/> matches.</summary>
[Flags]
public enum AsyncCancelFlags : uint
{
    /// <summary>Cancel the first request whose user data matches.</summary>
    None = 0,
    /// <summary>Cancel every matching request, not only the first.</summary>
    All = 1u << 0,
    /// <summary>Match on file descriptor instead of user data.</summary>
    Fd = 1u << 1,
    /// <summary>Match any request.</summary>
    Any = 1u << 2,
    /// <summary>The fd is a registered file index.</summary>
    FdFixed = 1u << 3,
    /// <summary>Match on user data (explicit form of the default, 6.6).</summary>
    UserData = 1u << 4,
    /// <summary>Match on opcode (6.6).</summary>
    Op = 1u << 5,
}

/// <summary><c>IORING_POLL_*</c>: poll flags carried in <c>len</c>.</summary>
[Flags]
public enum PollFlags : uint
{
    /// <summary>One-shot poll.</summary>
    None = 0,
    /// <summary>Multishot poll: a CQE each time the file becomes ready.</summary>
    AddMulti = 1u << 0,
    /// <summary>Update the events of an existing poll.</summary>
    UpdateEvents = 1u << 1,
    /// <summary>Update the user data of an existing poll.</summary>
    UpdateUserData = 1u << 2,
    /// <summary>Level-triggered poll.</summary>
    AddLevel = 1u << 3,
}

/// <summary><c>IORING_RECVSEND_*</c> and <c>IORING_RECV_*</c>: send/recv flags carried in <c>ioprio</c>.</summary>
[Flags]
public enum RecvSendFlags : ushort
{
    /// <summary>No flags.</summary>
    None = 0,
    /// <summary>Poll before the first attempt.</summary>
    PollFirst = 1 << 0,
    /// <summary>Multishot receive from provided buffers.</summary>
    RecvMultishot = 1 << 1,
    /// <summary>Use the registered buffer in <c>buf_index</c>.</summary>
    FixedBuf = 1 << 2,
    /// <summary>Report whether a zero-copy send actually copied.</summary>
    SendZcReportUsage = 1 << 3,
    /// <summary>Bundle several provided buffers in one completion (6.10).</summary>
    Bundle = 1 << 4,
}

/// <summary><c>IORING_ACCEPT_*</c>: accept flags carried in <c>ioprio</c>.</summary>
[Flags]
public enum AcceptFlags : ushort
{
    /// <summary>One-shot accept.</summary>
    None = 0,
    /// <summary>A CQE for every accepted connection.</summary>
    Multishot = 1 << 0,
    /// <summary>Fail with <c>-EAGAIN</c> instead of waiting (6.10).</summary>
    DontWait = 1 << 1,
    /// <summary>Poll before the first attempt (6.10).</summary>
    PollFirst = 1 << 2,
}

/// <summary><c>IORING_FSYNC_*</c>: fsync flags.</summary>
[Flags]
public enum FsyncFlags : uint
{
    /// <summary>Full <c>fsync</c>.</summary>
    None = 0,
    /// <summary><c>fdatasync</c> semantics.</summary>
    DataSync = 1u << 0,
}

/// <summary><c>RWF_*</c>: per-request flags of reads and writes (as for <c>preadv2</c>/<c>pwritev2</c>), carried in <c>rw_flags</c>.</summary>
[Flags]
public enum ReadWriteFlags
{
    /// <summary>No flags.</summary>
    None = 0,
    /// <summary><c>RWF_HIPRI</c>: high-priority request; polled if the ring uses <see cref="SetupFlags.IoPoll"/>.</summary>
    HiPri = 0x1,
    /// <summary><c>RWF_DSYNC</c>: per-write <c>O_DSYNC</c>.</summary>
    DSync = 0x2,
    /// <summary><c>RWF_SYNC</c>: per-write <c>O_SYNC</c>.</summary>
    Sync = 0x4,
    /// <summary><c>RWF_NOWAIT</c>: fail with <c>-EAGAIN</c> instead of blocking (for example when data is not cached).</summary>
    NoWait = 0x8,
    /// <summary><c>RWF_APPEND</c>: per-write <c>O_APPEND</c>; the offset is ignored and data goes to the end of the file.</summary>
    Append = 0x10,
    /// <summary><c>RWF_NOAPPEND</c>: ignore the file's <c>O_APPEND</c> for this write (6.9).</summary>
    NoAppend = 0x20,
    /// <summary><c>RWF_ATOMIC</c>: write all or nothing, within the device's atomic-write limits (6.11).</summary>
    Atomic = 0x40,
    /// <summary><c>RWF_DONTCACHE</c>: uncached buffered I/O, dropped from the page cache after completion (6.14).</summary>
    DontCache = 0x80,
}

/// <summary><c>FUTEX2_*</c>: futex size and flags of <see cref="Opcode.FutexWait"/> and <see cref="Opcode.FutexWake"/> (carried in <c>fd</c>).</summary>
[Flags]
public enum Futex2Flags : uint
{
    /// <summary><c>FUTEX2_SIZE_U8</c>: an 8-bit futex.</summary>
    SizeU8 = 0x00,
    /// <summary><c>FUTEX2_SIZE_U16</c>: a 16-bit futex.</summary>
    SizeU16 = 0x01,
    /// <summary><c>FUTEX2_SIZE_U32</c>: a 32-bit futex (the classic size, and the one every kernel supports).</summary>
    SizeU32 = 0x02,
    /// <summary><c>FUTEX2_SIZE_U64</c>: a 64-bit futex.</summary>
    SizeU64 = 0x03,
    /// <summary><c>FUTEX2_NUMA</c>: NUMA-aware futex.</summary>
    Numa = 0x04,
    /// <summary><c>FUTEX2_PRIVATE</c>: the futex is private to this process (faster; no shared-memory lookup).</summary>
    Private = 128,
}

/// <summary><c>IORING_MSG_*</c>: the command of an <see cref="Opcode.MsgRing"/> (in <c>addr</c>).</summary>
public enum MsgRingCommand : ulong
{
    /// <summary>Post a CQE with the given result and user data on the target ring.</summary>
    Data = 0,
    /// <summary>Pass a direct descriptor to the target ring.</summary>
    SendFd = 1,
}

/// <summary><c>IORING_MSG_RING_*</c>: flags of <see cref="Opcode.MsgRing"/>.</summary>
[Flags]
public enum MsgRingFlags : uint
{
    /// <summary>No flags.</summary>
    None = 0,
    /// <summary>Post no CQE on the target ring (with <see cref="MsgRingCommand.SendFd"/>).</summary>
    CqeSkip = 1u << 0,
    /// <summary>Pass <c>file_index</c> as the target CQE's flags.</summary>
    FlagsPass = 1u << 1,
}

/// <summary>Special values used in SQE fields.</summary>
public static class SqeConstants
{
    /// <summary><c>IORING_FILE_INDEX_ALLOC</c>: let the kernel pick a free direct-descriptor slot.</summary>
    public const uint FileIndexAlloc = uint.MaxValue;

    /// <summary><c>IORING_REGISTER_FILES_SKIP</c>: leave this registered-file slot unchanged in an update.</summary>
    public const int RegisterFilesSkip = -2;

    /// <summary><c>SPLICE_F_FD_IN_FIXED</c>: the splice input fd is a registered file index.</summary>
    public const uint SpliceFdInFixed = 1u << 31;

    /// <summary><c>FUTEX_BITSET_MATCH_ANY</c>: a futex mask that matches every waiter.</summary>
    public const ulong FutexBitsetMatchAny = 0xFFFF_FFFF;

    /// <summary><c>IORING_FIXED_FD_NO_CLOEXEC</c>: install a direct descriptor without <c>O_CLOEXEC</c>.</summary>
    public const uint FixedFdNoCloexec = 1;

    /// <summary><c>IORING_CQE_BUFFER_SHIFT</c>: the buffer id sits in the upper 16 bits of <c>cqe.flags</c>.</summary>
    public const int CqeBufferShift = 16;
}
