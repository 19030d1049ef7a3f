namespace IoUring;

/// <summary>
/// Operation codes of <c>enum io_uring_op</c> (<c>include/uapi/linux/io_uring.h</c>), in kernel order.
/// Whether the running kernel supports one is answered by <see cref="Probe.IsSupported(Opcode)"/>.
/// </summary>
public enum Opcode : byte
{
    /// <summary>No operation; completes with result 0 (5.1).</summary>
    Nop = 0,
    /// <summary>Vectored read, <c>preadv2</c> (5.1).</summary>
    Readv = 1,
    /// <summary>Vectored write, <c>pwritev2</c> (5.1).</summary>
    Writev = 2,
    /// <summary><c>fsync</c>/<c>fdatasync</c> (5.1).</summary>
    Fsync = 3,
    /// <summary>Read into a registered buffer (5.1).</summary>
    ReadFixed = 4,
    /// <summary>Write from a registered buffer (5.1).</summary>
    WriteFixed = 5,
    /// <summary>One-shot or multishot poll (5.1).</summary>
    PollAdd = 6,
    /// <summary>Remove or update a poll request (5.1).</summary>
    PollRemove = 7,
    /// <summary><c>sync_file_range</c> (5.2).</summary>
    SyncFileRange = 8,
    /// <summary><c>sendmsg</c> (5.3).</summary>
    SendMsg = 9,
    /// <summary><c>recvmsg</c> (5.3).</summary>
    RecvMsg = 10,
    /// <summary>Timeout (5.4).</summary>
    Timeout = 11,
    /// <summary>Remove or update a timeout (5.5).</summary>
    TimeoutRemove = 12,
    /// <summary><c>accept4</c> (5.5).</summary>
    Accept = 13,
    /// <summary>Cancel an in-flight request (5.5).</summary>
    AsyncCancel = 14,
    /// <summary>Timeout linked to the previous request (5.5).</summary>
    LinkTimeout = 15,
    /// <summary><c>connect</c> (5.5).</summary>
    Connect = 16,
    /// <summary><c>fallocate</c> (5.6).</summary>
    Fallocate = 17,
    /// <summary><c>openat</c> (5.6).</summary>
    OpenAt = 18,
    /// <summary><c>close</c> (5.6).</summary>
    Close = 19,
    /// <summary>Update registered files from the SQ (5.6).</summary>
    FilesUpdate = 20,
    /// <summary><c>statx</c> (5.6).</summary>
    Statx = 21,
    /// <summary><c>pread</c> (5.6).</summary>
    Read = 22,
    /// <summary><c>pwrite</c> (5.6).</summary>
    Write = 23,
    /// <summary><c>posix_fadvise</c> (5.6).</summary>
    Fadvise = 24,
    /// <summary><c>madvise</c> (5.6).</summary>
    Madvise = 25,
    /// <summary><c>send</c> (5.6).</summary>
    Send = 26,
    /// <summary><c>recv</c> (5.6).</summary>
    Recv = 27,
    /// <summary><c>openat2</c> (5.6).</summary>
    OpenAt2 = 28,
    /// <summary><c>epoll_ctl</c> (5.6).</summary>
    EpollCtl = 29,
    /// <summary><c>splice</c> (5.7).</summary>
    Splice = 30,
    /// <summary>Provide buffers to a group (5.7).</summary>
    ProvideBuffers = 31,
    /// <summary>Remove buffers from a group (5.7).</summary>
    RemoveBuffers = 32,
    /// <summary><c>tee</c> (5.8).</summary>
    Tee = 33,
    /// <summary><c>shutdown</c> (5.11).</summary>
    Shutdown = 34,
    /// <summary><c>renameat2</c> (5.11).</summary>
    RenameAt = 35,
    /// <summary><c>unlinkat</c> (5.11).</summary>
    UnlinkAt = 36,
    /// <summary><c>mkdirat</c> (5.15).</summary>
    MkdirAt = 37,
    /// <summary><c>symlinkat</c> (5.15).</summary>
    SymlinkAt = 38,
    /// <summary><c>linkat</c> (5.15).</summary>
    LinkAt = 39,
    /// <summary>Post a CQE or pass a direct descriptor to another ring (5.18).</summary>
    MsgRing = 40,
    /// <summary><c>fsetxattr</c> (5.19).</summary>
    FSetXattr = 41,
    /// <summary><c>setxattr</c> (5.19).</summary>
    SetXattr = 42,
    /// <summary><c>fgetxattr</c> (5.19).</summary>
    FGetXattr = 43,
    /// <summary><c>getxattr</c> (5.19).</summary>
    GetXattr = 44,
    /// <summary><c>socket</c> (5.19).</summary>
    Socket = 45,
    /// <summary>Driver pass-through command (5.19).</summary>
    UringCmd = 46,
    /// <summary>Zero-copy <c>send</c> (6.0).</summary>
    SendZc = 47,
    /// <summary>Zero-copy <c>sendmsg</c> (6.1).</summary>
    SendMsgZc = 48,
    /// <summary>Multishot read from provided buffers (6.7).</summary>
    ReadMultishot = 49,
    /// <summary><c>waitid</c> (6.7).</summary>
    WaitId = 50,
    /// <summary>Futex wait (6.7).</summary>
    FutexWait = 51,
    /// <summary>Futex wake (6.7).</summary>
    FutexWake = 52,
    /// <summary>Vectored futex wait (6.7).</summary>
    FutexWaitV = 53,
    /// <summary>Install a direct descriptor as a regular one (6.8).</summary>
    FixedFdInstall = 54,
    /// <summary><c>ftruncate</c> (6.9).</summary>
    Ftruncate = 55,
    /// <summary><c>bind</c> (6.11).</summary>
    Bind = 56,
    /// <summary><c>listen</c> (6.11).</summary>
    Listen = 57,
    /// <summary>Zero-copy receive (6.15).</summary>
    RecvZc = 58,
    /// <summary><c>epoll_wait</c> (6.15).</summary>
    EpollWait = 59,
    /// <summary>Vectored read into registered buffers (6.15).</summary>
    ReadvFixed = 60,
    /// <summary>Vectored write from registered buffers (6.15).</summary>
    WritevFixed = 61,
    /// <summary><c>pipe2</c> (6.16).</summary>
    Pipe = 62,
}
