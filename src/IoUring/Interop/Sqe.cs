using System.Runtime.InteropServices;

namespace IoUring;

/// <summary>
/// A submission queue entry: <c>struct io_uring_sqe</c>, 64 bytes, byte for byte as in the kernel header.
/// Union members share an offset; each is named as in the header so the ABI test can compare them.
/// Obtain one with <see cref="Ring.GetSqe"/> (it comes zeroed) and fill it with a <c>Prep*</c> method.
/// </summary>
/// <remarks>
/// Addresses (<see cref="Addr"/>, <see cref="Addr2"/>, <see cref="Addr3"/>) are raw pointers the kernel dereferences.
/// Data the kernel only reads at submission (paths, timespecs, iovec arrays, <c>open_how</c>) must stay valid
/// until the kernel has consumed the SQE: when <see cref="Ring.Submit"/> returns for a normal ring, but later for a
/// <see cref="RingOptions.SqPoll"/> ring, whose kernel thread consumes SQEs on its own schedule (keep such data until
/// the CQE there). Buffers the kernel reads or writes must stay valid and unmoved until the request's final CQE has
/// been reaped.
/// </remarks>
[StructLayout(LayoutKind.Explicit, Size = Size)]
public partial struct Sqe
{
    /// <summary>Size of an SQE in bytes (an SQE128 ring has twice this per entry).</summary>
    public const int Size = 64;

    /// <summary><c>opcode</c>: the operation.</summary>
    [FieldOffset(0)] public Opcode Opcode;
    /// <summary><c>flags</c>: <c>IOSQE_*</c>.</summary>
    [FieldOffset(1)] public SqeFlags Flags;
    /// <summary><c>ioprio</c>: I/O priority, or per-op flags for send/recv/accept.</summary>
    [FieldOffset(2)] public ushort IoPrio;
    /// <summary><c>fd</c>: file descriptor, or registered file index with <see cref="SqeFlags.FixedFile"/>.</summary>
    [FieldOffset(4)] public int Fd;

    /// <summary><c>off</c>: file offset.</summary>
    [FieldOffset(8)] public ulong Off;
    /// <summary><c>addr2</c>: second address (union with <see cref="Off"/>).</summary>
    [FieldOffset(8)] public ulong Addr2;
    /// <summary><c>cmd_op</c>: uring_cmd sub-command (union with <see cref="Off"/>).</summary>
    [FieldOffset(8)] public uint CmdOp;

    /// <summary><c>addr</c>: buffer, iovec array, path or argument pointer.</summary>
    [FieldOffset(16)] public ulong Addr;
    /// <summary><c>splice_off_in</c> (union with <see cref="Addr"/>).</summary>
    [FieldOffset(16)] public ulong SpliceOffIn;
    /// <summary><c>level</c>: socket option level (union with <see cref="Addr"/>).</summary>
    [FieldOffset(16)] public uint Level;
    /// <summary><c>optname</c>: socket option name.</summary>
    [FieldOffset(20)] public uint OptName;

    /// <summary><c>len</c>: buffer length or iovec count.</summary>
    [FieldOffset(24)] public uint Len;

    /// <summary><c>rw_flags</c>: <c>RWF_*</c> for reads and writes.</summary>
    [FieldOffset(28)] public int RwFlags;
    /// <summary><c>fsync_flags</c>.</summary>
    [FieldOffset(28)] public FsyncFlags FsyncFlags;
    /// <summary><c>poll32_events</c>.</summary>
    [FieldOffset(28)] public uint Poll32Events;
    /// <summary><c>sync_range_flags</c>.</summary>
    [FieldOffset(28)] public uint SyncRangeFlags;
    /// <summary><c>msg_flags</c>: <c>MSG_*</c> for send/recv.</summary>
    [FieldOffset(28)] public uint MsgFlags;
    /// <summary><c>timeout_flags</c>.</summary>
    [FieldOffset(28)] public TimeoutFlags TimeoutFlags;
    /// <summary><c>accept_flags</c>: <c>SOCK_*</c> for accept4.</summary>
    [FieldOffset(28)] public uint AcceptFlags;
    /// <summary><c>cancel_flags</c>.</summary>
    [FieldOffset(28)] public AsyncCancelFlags CancelFlags;
    /// <summary><c>open_flags</c>: <c>O_*</c>.</summary>
    [FieldOffset(28)] public uint OpenFlags;
    /// <summary><c>statx_flags</c>: <c>AT_*</c>.</summary>
    [FieldOffset(28)] public uint StatxFlags;
    /// <summary><c>fadvise_advice</c>.</summary>
    [FieldOffset(28)] public uint FadviseAdvice;
    /// <summary><c>splice_flags</c>.</summary>
    [FieldOffset(28)] public uint SpliceFlags;
    /// <summary><c>rename_flags</c>.</summary>
    [FieldOffset(28)] public uint RenameFlags;
    /// <summary><c>unlink_flags</c>.</summary>
    [FieldOffset(28)] public uint UnlinkFlags;
    /// <summary><c>hardlink_flags</c>.</summary>
    [FieldOffset(28)] public uint HardlinkFlags;
    /// <summary><c>msg_ring_flags</c>.</summary>
    [FieldOffset(28)] public MsgRingFlags MsgRingFlags;
    /// <summary><c>xattr_flags</c>: <c>XATTR_*</c> for the xattr opcodes.</summary>
    [FieldOffset(28)] public uint XattrFlags;
    /// <summary><c>uring_cmd_flags</c>: <c>IORING_URING_CMD_*</c> for <see cref="Opcode.UringCmd"/>.</summary>
    [FieldOffset(28)] public uint UringCmdFlags;
    /// <summary><c>waitid_flags</c>: reserved flags of <see cref="Opcode.WaitId"/> (must be 0).</summary>
    [FieldOffset(28)] public uint WaitIdFlags;
    /// <summary><c>futex_flags</c>: flags of <see cref="Opcode.FutexWaitV"/> (must be 0; each entry carries its own).</summary>
    [FieldOffset(28)] public uint FutexFlags;

    /// <summary><c>user_data</c>: returned unchanged in the CQE.</summary>
    [FieldOffset(32)] public ulong UserData;

    /// <summary><c>buf_index</c>: registered buffer index.</summary>
    [FieldOffset(40)] public ushort BufIndex;
    /// <summary><c>buf_group</c>: provided buffer group (union with <see cref="BufIndex"/>).</summary>
    [FieldOffset(40)] public ushort BufGroup;
    /// <summary><c>personality</c>: registered credentials id.</summary>
    [FieldOffset(42)] public ushort Personality;

    /// <summary><c>splice_fd_in</c>.</summary>
    [FieldOffset(44)] public int SpliceFdIn;
    /// <summary><c>file_index</c>: direct-descriptor slot + 1, or <see cref="SqeConstants.FileIndexAlloc"/>.</summary>
    [FieldOffset(44)] public uint FileIndex;
    /// <summary><c>optlen</c>: socket option length.</summary>
    [FieldOffset(44)] public uint OptLen;
    /// <summary><c>zcrx_ifq_idx</c>: the zero-copy receive queue of <see cref="Opcode.RecvZc"/>.</summary>
    [FieldOffset(44)] public uint ZcrxIfqIdx;
    /// <summary><c>addr_len</c>: socket address length for send_zc/send to an address.</summary>
    [FieldOffset(44)] public ushort AddrLen;

    /// <summary><c>addr3</c>: third address.</summary>
    [FieldOffset(48)] public ulong Addr3;
    /// <summary><c>optval</c>: socket option value pointer (union with <see cref="Addr3"/>).</summary>
    [FieldOffset(48)] public ulong OptVal;

    /// <summary><c>__pad2[0]</c>: reserved, must be zero.</summary>
    [FieldOffset(56)] public ulong Pad2;
}
