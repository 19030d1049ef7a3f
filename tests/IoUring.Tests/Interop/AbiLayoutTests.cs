using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using IoUring.Interop;

namespace IoUring.Tests.Interop;

/// <summary>
/// Compares every managed mirror of the kernel ABI with what gcc sees in the system's uapi headers
/// (<c>native/abi_dump.c</c>): struct sizes, field offsets and sizes including union members, and constant values.
/// Managed items newer than the header are fine; header items with no managed twin fail unless listed in
/// <see cref="s_fieldsNotMirrored"/> or <see cref="s_constantsNotMirrored"/> with the reason.
/// </summary>
public sealed class AbiLayoutTests
{
    // ---- structs: C name -> managed type ----
    private static readonly Dictionary<string, Type> s_structs = new(StringComparer.Ordinal)
    {
        ["io_uring_sqe"] = typeof(Sqe),
        ["io_uring_cqe"] = typeof(Cqe),
        ["io_sqring_offsets"] = typeof(SqRingOffsets),
        ["io_cqring_offsets"] = typeof(CqRingOffsets),
        ["io_uring_params"] = typeof(IoUringParams),
        ["io_uring_getevents_arg"] = typeof(GeteventsArg),
        ["io_uring_probe"] = typeof(ProbeHeader),
        ["io_uring_probe_op"] = typeof(ProbeOp),
        ["io_uring_rsrc_register"] = typeof(RsrcRegister),
        ["io_uring_rsrc_update"] = typeof(RsrcUpdate),
        ["io_uring_rsrc_update2"] = typeof(RsrcUpdate2),
        ["io_uring_files_update"] = typeof(RsrcUpdate),
        ["io_uring_buf"] = typeof(BufRingEntry),
        // The buffer ring's header overlays its first entry: the ring tail is entry 0's resv.
        ["io_uring_buf_ring"] = typeof(BufRingEntry),
        ["io_uring_buf_reg"] = typeof(BufReg),
        ["io_uring_sync_cancel_reg"] = typeof(SyncCancelReg),
        ["__kernel_timespec"] = typeof(KernelTimespec),
        ["open_how"] = typeof(OpenHow),
        ["statx_timestamp"] = typeof(StatxTimestamp),
        ["statx"] = typeof(Statx),
        ["iovec"] = typeof(IoVec),
        ["msghdr"] = typeof(MsgHdr),
        ["io_uring_restriction"] = typeof(RestrictionEntry),
        ["io_uring_file_index_range"] = typeof(FileIndexRange),
        ["io_uring_recvmsg_out"] = typeof(RecvMsgOutHeader),
        ["io_uring_buf_status"] = typeof(BufStatus),
        ["io_uring_napi"] = typeof(NapiReg),
        ["io_uring_clone_buffers"] = typeof(CloneBuffersReg),
        ["io_uring_region_desc"] = typeof(RegionDesc),
        ["io_uring_mem_region_reg"] = typeof(MemRegionReg),
        ["io_uring_reg_wait"] = typeof(RegWait),
        ["io_uring_zcrx_rqe"] = typeof(ZcrxRqe),
        ["io_uring_zcrx_cqe"] = typeof(ZcrxCqe),
        ["io_uring_zcrx_offsets"] = typeof(ZcrxOffsets),
        ["io_uring_zcrx_area_reg"] = typeof(ZcrxAreaReg),
        ["io_uring_zcrx_ifq_reg"] = typeof(ZcrxIfqReg),
        ["futex_waitv"] = typeof(FutexWaitV),
        // x86-64 layout (packed, 12 bytes); EpollAbi computes the 16-byte layout of other architectures.
        ["epoll_event"] = typeof(EpollEventPacked),
        ["siginfo_t"] = typeof(WaitIdInfo),
    };

    // ---- fields: "struct.field" -> managed field(s) of the struct's managed type ----
    // A C array may map to several consecutive managed fields that together cover it exactly. A C name whose layout
    // changed between header versions lists one alternative per layout.
    private static readonly Dictionary<string, string[][]> s_fields = new(StringComparer.Ordinal)
    {
        ["io_uring_sqe.opcode"] = [["Opcode"]],
        ["io_uring_sqe.flags"] = [["Flags"]],
        ["io_uring_sqe.ioprio"] = [["IoPrio"]],
        ["io_uring_sqe.fd"] = [["Fd"]],
        ["io_uring_sqe.off"] = [["Off"]],
        ["io_uring_sqe.addr2"] = [["Addr2"]],
        ["io_uring_sqe.cmd_op"] = [["CmdOp"]],
        ["io_uring_sqe.addr"] = [["Addr"]],
        ["io_uring_sqe.splice_off_in"] = [["SpliceOffIn"]],
        ["io_uring_sqe.level"] = [["Level"]],
        ["io_uring_sqe.optname"] = [["OptName"]],
        ["io_uring_sqe.len"] = [["Len"]],
        ["io_uring_sqe.rw_flags"] = [["RwFlags"]],
        ["io_uring_sqe.fsync_flags"] = [["FsyncFlags"]],
        ["io_uring_sqe.poll32_events"] = [["Poll32Events"]],
        ["io_uring_sqe.sync_range_flags"] = [["SyncRangeFlags"]],
        ["io_uring_sqe.msg_flags"] = [["MsgFlags"]],
        ["io_uring_sqe.timeout_flags"] = [["TimeoutFlags"]],
        ["io_uring_sqe.accept_flags"] = [["AcceptFlags"]],
        ["io_uring_sqe.cancel_flags"] = [["CancelFlags"]],
        ["io_uring_sqe.open_flags"] = [["OpenFlags"]],
        ["io_uring_sqe.statx_flags"] = [["StatxFlags"]],
        ["io_uring_sqe.fadvise_advice"] = [["FadviseAdvice"]],
        ["io_uring_sqe.splice_flags"] = [["SpliceFlags"]],
        ["io_uring_sqe.rename_flags"] = [["RenameFlags"]],
        ["io_uring_sqe.unlink_flags"] = [["UnlinkFlags"]],
        ["io_uring_sqe.hardlink_flags"] = [["HardlinkFlags"]],
        ["io_uring_sqe.xattr_flags"] = [["XattrFlags"]],
        ["io_uring_sqe.msg_ring_flags"] = [["MsgRingFlags"]],
        ["io_uring_sqe.uring_cmd_flags"] = [["UringCmdFlags"]],
        ["io_uring_sqe.user_data"] = [["UserData"]],
        ["io_uring_sqe.buf_index"] = [["BufIndex"]],
        ["io_uring_sqe.buf_group"] = [["BufGroup"]],
        ["io_uring_sqe.personality"] = [["Personality"]],
        ["io_uring_sqe.splice_fd_in"] = [["SpliceFdIn"]],
        ["io_uring_sqe.file_index"] = [["FileIndex"]],
        ["io_uring_sqe.optlen"] = [["OptLen"]],
        ["io_uring_sqe.addr_len"] = [["AddrLen"]],
        ["io_uring_sqe.addr3"] = [["Addr3"]],
        ["io_uring_sqe.optval"] = [["OptVal"]],
        ["io_uring_sqe.__pad2"] = [["Pad2"]],

        ["io_uring_cqe.user_data"] = [["UserData"]],
        ["io_uring_cqe.res"] = [["Res"]],
        ["io_uring_cqe.flags"] = [["Flags"]],

        ["io_sqring_offsets.head"] = [["Head"]],
        ["io_sqring_offsets.tail"] = [["Tail"]],
        ["io_sqring_offsets.ring_mask"] = [["RingMask"]],
        ["io_sqring_offsets.ring_entries"] = [["RingEntries"]],
        ["io_sqring_offsets.flags"] = [["Flags"]],
        ["io_sqring_offsets.dropped"] = [["Dropped"]],
        ["io_sqring_offsets.array"] = [["Array"]],
        ["io_sqring_offsets.resv1"] = [["Resv1"]],
        ["io_sqring_offsets.resv2"] = [["UserAddr"]], // renamed user_addr in 6.5
        ["io_sqring_offsets.user_addr"] = [["UserAddr"]],

        ["io_cqring_offsets.head"] = [["Head"]],
        ["io_cqring_offsets.tail"] = [["Tail"]],
        ["io_cqring_offsets.ring_mask"] = [["RingMask"]],
        ["io_cqring_offsets.ring_entries"] = [["RingEntries"]],
        ["io_cqring_offsets.overflow"] = [["Overflow"]],
        ["io_cqring_offsets.cqes"] = [["Cqes"]],
        ["io_cqring_offsets.flags"] = [["Flags"]],
        ["io_cqring_offsets.resv1"] = [["Resv1"]],
        ["io_cqring_offsets.resv2"] = [["UserAddr"]],
        ["io_cqring_offsets.user_addr"] = [["UserAddr"]],

        ["io_uring_params.sq_entries"] = [["SqEntries"]],
        ["io_uring_params.cq_entries"] = [["CqEntries"]],
        ["io_uring_params.flags"] = [["Flags"]],
        ["io_uring_params.sq_thread_cpu"] = [["SqThreadCpu"]],
        ["io_uring_params.sq_thread_idle"] = [["SqThreadIdle"]],
        ["io_uring_params.features"] = [["Features"]],
        ["io_uring_params.wq_fd"] = [["WqFd"]],
        ["io_uring_params.resv"] = [["Resv0", "Resv1", "Resv2"]],
        ["io_uring_params.sq_off"] = [["SqOff"]],
        ["io_uring_params.cq_off"] = [["CqOff"]],

        ["io_uring_getevents_arg.sigmask"] = [["Sigmask"]],
        ["io_uring_getevents_arg.sigmask_sz"] = [["SigmaskSz"]],
        ["io_uring_getevents_arg.pad"] = [["MinWaitUsec"]], // renamed min_wait_usec in 6.12
        ["io_uring_getevents_arg.min_wait_usec"] = [["MinWaitUsec"]],
        ["io_uring_getevents_arg.ts"] = [["Ts"]],

        ["io_uring_probe.last_op"] = [["LastOp"]],
        ["io_uring_probe.ops_len"] = [["OpsLen"]],
        ["io_uring_probe.resv"] = [["Resv"]],
        ["io_uring_probe.resv2"] = [["Resv2a", "Resv2b", "Resv2c"]],

        ["io_uring_probe_op.op"] = [["Op"]],
        ["io_uring_probe_op.resv"] = [["Resv"]],
        ["io_uring_probe_op.flags"] = [["Flags"]],
        ["io_uring_probe_op.resv2"] = [["Resv2"]],

        ["io_uring_rsrc_register.nr"] = [["Nr"]],
        ["io_uring_rsrc_register.flags"] = [["Flags"]],
        ["io_uring_rsrc_register.resv2"] = [["Resv2"]],
        ["io_uring_rsrc_register.data"] = [["Data"]],
        ["io_uring_rsrc_register.tags"] = [["Tags"]],

        ["io_uring_rsrc_update.offset"] = [["Offset"]],
        ["io_uring_rsrc_update.resv"] = [["Resv"]],
        ["io_uring_rsrc_update.data"] = [["Data"]],

        ["io_uring_rsrc_update2.offset"] = [["Offset"]],
        ["io_uring_rsrc_update2.resv"] = [["Resv"]],
        ["io_uring_rsrc_update2.data"] = [["Data"]],
        ["io_uring_rsrc_update2.tags"] = [["Tags"]],
        ["io_uring_rsrc_update2.nr"] = [["Nr"]],
        ["io_uring_rsrc_update2.resv2"] = [["Resv2"]],

        ["io_uring_files_update.offset"] = [["Offset"]],
        ["io_uring_files_update.resv"] = [["Resv"]],
        ["io_uring_files_update.fds"] = [["Data"]],

        ["io_uring_buf.addr"] = [["Addr"]],
        ["io_uring_buf.len"] = [["Len"]],
        ["io_uring_buf.bid"] = [["Bid"]],
        ["io_uring_buf.resv"] = [["Resv"]],

        ["io_uring_buf_ring.resv1"] = [["Addr"]],
        ["io_uring_buf_ring.resv2"] = [["Len"]],
        ["io_uring_buf_ring.resv3"] = [["Bid"]],
        ["io_uring_buf_ring.tail"] = [["Resv"]],

        ["io_uring_buf_reg.ring_addr"] = [["RingAddr"]],
        ["io_uring_buf_reg.ring_entries"] = [["RingEntries"]],
        ["io_uring_buf_reg.bgid"] = [["Bgid"]],
        ["io_uring_buf_reg.pad"] = [["Flags"]], // renamed flags in 6.4
        ["io_uring_buf_reg.flags"] = [["Flags"]],
        ["io_uring_buf_reg.resv"] = [["Resv0", "Resv1", "Resv2"]],

        ["io_uring_sync_cancel_reg.addr"] = [["Addr"]],
        ["io_uring_sync_cancel_reg.fd"] = [["Fd"]],
        ["io_uring_sync_cancel_reg.flags"] = [["Flags"]],
        ["io_uring_sync_cancel_reg.timeout"] = [["Timeout"]],
        // Up to 6.6: __u64 pad[4]. Later: __u8 opcode; __u8 pad[7]; __u64 pad2[3].
        ["io_uring_sync_cancel_reg.pad"] = [["Opcode", "Pad0", "Pad1", "Pad2", "Pad3", "Pad4", "Pad5"], ["Pad0", "Pad1", "Pad2"]],
        ["io_uring_sync_cancel_reg.opcode"] = [["Opcode"]],
        ["io_uring_sync_cancel_reg.pad2"] = [["Pad3", "Pad4", "Pad5"]],

        ["__kernel_timespec.tv_sec"] = [["Seconds"]],
        ["__kernel_timespec.tv_nsec"] = [["Nanoseconds"]],

        ["open_how.flags"] = [["Flags"]],
        ["open_how.mode"] = [["Mode"]],
        ["open_how.resolve"] = [["Resolve"]],

        ["statx_timestamp.tv_sec"] = [["Seconds"]],
        ["statx_timestamp.tv_nsec"] = [["Nanoseconds"]],
        ["statx_timestamp.__reserved"] = [["Reserved"]],

        ["statx.stx_mask"] = [["Mask"]],
        ["statx.stx_blksize"] = [["BlockSize"]],
        ["statx.stx_attributes"] = [["Attributes"]],
        ["statx.stx_nlink"] = [["LinkCount"]],
        ["statx.stx_uid"] = [["Uid"]],
        ["statx.stx_gid"] = [["Gid"]],
        ["statx.stx_mode"] = [["Mode"]],
        ["statx.stx_ino"] = [["Inode"]],
        ["statx.stx_size"] = [["FileSize"]],
        ["statx.stx_blocks"] = [["Blocks"]],
        ["statx.stx_attributes_mask"] = [["AttributesMask"]],
        ["statx.stx_atime"] = [["AccessTime"]],
        ["statx.stx_btime"] = [["BirthTime"]],
        ["statx.stx_ctime"] = [["ChangeTime"]],
        ["statx.stx_mtime"] = [["ModifyTime"]],
        ["statx.stx_rdev_major"] = [["RdevMajor"]],
        ["statx.stx_rdev_minor"] = [["RdevMinor"]],
        ["statx.stx_dev_major"] = [["DevMajor"]],
        ["statx.stx_dev_minor"] = [["DevMinor"]],
        ["statx.stx_mnt_id"] = [["MountId"]],
        ["statx.stx_dio_mem_align"] = [["DioMemAlign"]],
        ["statx.stx_dio_offset_align"] = [["DioOffsetAlign"]],

        ["iovec.iov_base"] = [["Base"]],
        ["iovec.iov_len"] = [["Length"]],

        ["msghdr.msg_name"] = [["Name"]],
        ["msghdr.msg_namelen"] = [["NameLength"]],
        ["msghdr.msg_iov"] = [["Iov"]],
        ["msghdr.msg_iovlen"] = [["IovLength"]],
        ["msghdr.msg_control"] = [["Control"]],
        ["msghdr.msg_controllen"] = [["ControlLength"]],
        ["msghdr.msg_flags"] = [["Flags"]],

        ["io_uring_sqe.waitid_flags"] = [["WaitIdFlags"]],
        ["io_uring_sqe.futex_flags"] = [["FutexFlags"]],
        ["io_uring_sqe.zcrx_ifq_idx"] = [["ZcrxIfqIdx"]],

        ["io_uring_restriction.opcode"] = [["Opcode"]],
        ["io_uring_restriction.register_op"] = [["Value"]],
        ["io_uring_restriction.sqe_op"] = [["Value"]],
        ["io_uring_restriction.sqe_flags"] = [["Value"]],
        ["io_uring_restriction.resv"] = [["Resv"]],
        ["io_uring_restriction.resv2"] = [["Resv2a", "Resv2b", "Resv2c"]],

        ["io_uring_file_index_range.off"] = [["Off"]],
        ["io_uring_file_index_range.len"] = [["Len"]],
        ["io_uring_file_index_range.resv"] = [["Resv"]],

        ["io_uring_recvmsg_out.namelen"] = [["NameLen"]],
        ["io_uring_recvmsg_out.controllen"] = [["ControlLen"]],
        ["io_uring_recvmsg_out.payloadlen"] = [["PayloadLen"]],
        ["io_uring_recvmsg_out.flags"] = [["Flags"]],

        ["io_uring_buf_status.buf_group"] = [["BufGroup"]],
        ["io_uring_buf_status.head"] = [["Head"]],
        ["io_uring_buf_status.resv"] = [["Resv0", "Resv1", "Resv2", "Resv3"]],

        ["io_uring_napi.busy_poll_to"] = [["BusyPollTo"]],
        ["io_uring_napi.prefer_busy_poll"] = [["PreferBusyPoll"]],
        ["io_uring_napi.opcode"] = [["Opcode"]],
        // 6.9-6.12: __u8 pad[3]; __u64 resv. 6.13+: opcode, __u8 pad[2], op_param, __u32 resv.
        ["io_uring_napi.pad"] = [["Pad"], ["Opcode", "Pad"]],
        ["io_uring_napi.op_param"] = [["OpParam"]],
        ["io_uring_napi.resv"] = [["Resv"], ["OpParam", "Resv"]],

        ["io_uring_clone_buffers.src_fd"] = [["SrcFd"]],
        ["io_uring_clone_buffers.flags"] = [["Flags"]],
        ["io_uring_clone_buffers.src_off"] = [["SrcOff"]],
        ["io_uring_clone_buffers.dst_off"] = [["DstOff"]],
        ["io_uring_clone_buffers.nr"] = [["Nr"]],
        ["io_uring_clone_buffers.pad"] = [["Pad0", "Pad1", "Pad2"]],

        ["io_uring_region_desc.user_addr"] = [["UserAddr"]],
        ["io_uring_region_desc.size"] = [["Size"]],
        ["io_uring_region_desc.flags"] = [["Flags"]],
        ["io_uring_region_desc.id"] = [["Id"]],
        ["io_uring_region_desc.mmap_offset"] = [["MmapOffset"]],
        ["io_uring_region_desc.__resv"] = [["Resv0", "Resv1", "Resv2", "Resv3"]],

        ["io_uring_mem_region_reg.region_uptr"] = [["RegionUptr"]],
        ["io_uring_mem_region_reg.flags"] = [["Flags"]],
        ["io_uring_mem_region_reg.__resv"] = [["Resv0", "Resv1"]],

        ["io_uring_reg_wait.ts"] = [["Ts"]],
        ["io_uring_reg_wait.min_wait_usec"] = [["MinWaitUsec"]],
        ["io_uring_reg_wait.flags"] = [["Flags"]],
        ["io_uring_reg_wait.sigmask"] = [["Sigmask"]],
        ["io_uring_reg_wait.sigmask_sz"] = [["SigmaskSz"]],
        ["io_uring_reg_wait.pad"] = [["Pad0", "Pad1", "Pad2"]],
        ["io_uring_reg_wait.pad2"] = [["Pad3", "Pad4"]],

        ["io_uring_zcrx_rqe.off"] = [["Off"]],
        ["io_uring_zcrx_rqe.len"] = [["Len"]],
        ["io_uring_zcrx_rqe.__pad"] = [["Pad"]],

        ["io_uring_zcrx_cqe.off"] = [["Off"]],
        ["io_uring_zcrx_cqe.__pad"] = [["Pad"]],

        ["io_uring_zcrx_offsets.head"] = [["Head"]],
        ["io_uring_zcrx_offsets.tail"] = [["Tail"]],
        ["io_uring_zcrx_offsets.rqes"] = [["Rqes"]],
        ["io_uring_zcrx_offsets.__resv2"] = [["Resv2"]],
        ["io_uring_zcrx_offsets.__resv"] = [["Resv0", "Resv1"]],

        ["io_uring_zcrx_area_reg.addr"] = [["Addr"]],
        ["io_uring_zcrx_area_reg.len"] = [["Len"]],
        ["io_uring_zcrx_area_reg.rq_area_token"] = [["RqAreaToken"]],
        ["io_uring_zcrx_area_reg.flags"] = [["Flags"]],
        ["io_uring_zcrx_area_reg.dmabuf_fd"] = [["DmabufFd"]],
        ["io_uring_zcrx_area_reg.__resv2"] = [["Resv0", "Resv1"]],

        ["io_uring_zcrx_ifq_reg.if_idx"] = [["IfIdx"]],
        ["io_uring_zcrx_ifq_reg.if_rxq"] = [["IfRxq"]],
        ["io_uring_zcrx_ifq_reg.rq_entries"] = [["RqEntries"]],
        ["io_uring_zcrx_ifq_reg.flags"] = [["Flags"]],
        ["io_uring_zcrx_ifq_reg.area_ptr"] = [["AreaPtr"]],
        ["io_uring_zcrx_ifq_reg.region_ptr"] = [["RegionPtr"]],
        ["io_uring_zcrx_ifq_reg.offsets"] = [["Offsets"]],
        ["io_uring_zcrx_ifq_reg.zcrx_id"] = [["ZcrxId"]],
        ["io_uring_zcrx_ifq_reg.__resv2"] = [["RxBufLen"]], // named rx_buf_len in 6.17
        ["io_uring_zcrx_ifq_reg.rx_buf_len"] = [["RxBufLen"]],
        ["io_uring_zcrx_ifq_reg.__resv"] = [["Resv0", "Resv1", "Resv2"]],

        ["futex_waitv.val"] = [["Value"]],
        ["futex_waitv.uaddr"] = [["Address"]],
        ["futex_waitv.flags"] = [["Flags"]],
        ["futex_waitv.__reserved"] = [["Reserved"]],

        ["epoll_event.events"] = [["Events"]],
        ["epoll_event.data"] = [["Data"]],

        ["siginfo_t.si_signo"] = [["Signal"]],
        ["siginfo_t.si_errno"] = [["Errno"]],
        ["siginfo_t.si_code"] = [["Code"]],
        ["siginfo_t.si_pid"] = [["ProcessId"]],
        ["siginfo_t.si_uid"] = [["UserId"]],
        ["siginfo_t.si_status"] = [["Status"]],
    };

    // ---- header fields deliberately without a managed twin, and why ----
    private static readonly Dictionary<string, string> s_fieldsNotMirrored = new(StringComparer.Ordinal)
    {
        ["io_uring_sqe.__pad1"] = "reserved upper half of the cmd_op slot; Off/Addr2 cover the bytes",
        ["io_uring_sqe.poll_events"] = "16-bit compatibility alias of poll32_events (same offset)",
        ["io_uring_sqe.__pad3"] = "reserved upper half of the addr_len slot; FileIndex covers the bytes",
        ["io_uring_sqe.cmd"] = "flexible array: the 80-byte SQE128 command area, addressed past the 64-byte struct",
        ["io_uring_sqe.install_fd_flags"] = "shares offset 28 with RwFlags, through which PrepFixedFdInstall writes it",
        ["io_uring_sqe.nop_flags"] = "newer than 6.1, no prep yet: shares offset 28 with RwFlags",
        ["io_uring_cqe.big_cqe"] = "flexible array: the extra 16 bytes of a CQE32 ring, read past the 16-byte struct",
        ["io_uring_probe.ops"] = "flexible array: read as ProbeOp entries after the ProbeHeader",
        ["io_uring_buf_ring.bufs"] = "flexible array: the ring's entries are BufRingEntry values",
        ["statx.__spare0"] = "reserved padding after stx_mode",
        ["statx.__spare3"] = "reserved tail; the managed Statx keeps the full 256-byte size",
        ["statx.stx_subvol"] = "newer than 6.1: in the reserved tail of the managed Statx",
        ["statx.stx_atomic_write_unit_min"] = "newer than 6.1: in the reserved tail of the managed Statx",
        ["statx.stx_atomic_write_unit_max"] = "newer than 6.1: in the reserved tail of the managed Statx",
        ["statx.stx_atomic_write_segments_max"] = "newer than 6.1: in the reserved tail of the managed Statx",
    };

    // ---- constants: C name -> managed value ----
    private static readonly Dictionary<string, object> s_constants = new(StringComparer.Ordinal)
    {
        ["IORING_OP_NOP"] = Opcode.Nop,
        ["IORING_OP_READV"] = Opcode.Readv,
        ["IORING_OP_WRITEV"] = Opcode.Writev,
        ["IORING_OP_FSYNC"] = Opcode.Fsync,
        ["IORING_OP_READ_FIXED"] = Opcode.ReadFixed,
        ["IORING_OP_WRITE_FIXED"] = Opcode.WriteFixed,
        ["IORING_OP_POLL_ADD"] = Opcode.PollAdd,
        ["IORING_OP_POLL_REMOVE"] = Opcode.PollRemove,
        ["IORING_OP_SYNC_FILE_RANGE"] = Opcode.SyncFileRange,
        ["IORING_OP_SENDMSG"] = Opcode.SendMsg,
        ["IORING_OP_RECVMSG"] = Opcode.RecvMsg,
        ["IORING_OP_TIMEOUT"] = Opcode.Timeout,
        ["IORING_OP_TIMEOUT_REMOVE"] = Opcode.TimeoutRemove,
        ["IORING_OP_ACCEPT"] = Opcode.Accept,
        ["IORING_OP_ASYNC_CANCEL"] = Opcode.AsyncCancel,
        ["IORING_OP_LINK_TIMEOUT"] = Opcode.LinkTimeout,
        ["IORING_OP_CONNECT"] = Opcode.Connect,
        ["IORING_OP_FALLOCATE"] = Opcode.Fallocate,
        ["IORING_OP_OPENAT"] = Opcode.OpenAt,
        ["IORING_OP_CLOSE"] = Opcode.Close,
        ["IORING_OP_FILES_UPDATE"] = Opcode.FilesUpdate,
        ["IORING_OP_STATX"] = Opcode.Statx,
        ["IORING_OP_READ"] = Opcode.Read,
        ["IORING_OP_WRITE"] = Opcode.Write,
        ["IORING_OP_FADVISE"] = Opcode.Fadvise,
        ["IORING_OP_MADVISE"] = Opcode.Madvise,
        ["IORING_OP_SEND"] = Opcode.Send,
        ["IORING_OP_RECV"] = Opcode.Recv,
        ["IORING_OP_OPENAT2"] = Opcode.OpenAt2,
        ["IORING_OP_EPOLL_CTL"] = Opcode.EpollCtl,
        ["IORING_OP_SPLICE"] = Opcode.Splice,
        ["IORING_OP_PROVIDE_BUFFERS"] = Opcode.ProvideBuffers,
        ["IORING_OP_REMOVE_BUFFERS"] = Opcode.RemoveBuffers,
        ["IORING_OP_TEE"] = Opcode.Tee,
        ["IORING_OP_SHUTDOWN"] = Opcode.Shutdown,
        ["IORING_OP_RENAMEAT"] = Opcode.RenameAt,
        ["IORING_OP_UNLINKAT"] = Opcode.UnlinkAt,
        ["IORING_OP_MKDIRAT"] = Opcode.MkdirAt,
        ["IORING_OP_SYMLINKAT"] = Opcode.SymlinkAt,
        ["IORING_OP_LINKAT"] = Opcode.LinkAt,
        ["IORING_OP_MSG_RING"] = Opcode.MsgRing,
        ["IORING_OP_FSETXATTR"] = Opcode.FSetXattr,
        ["IORING_OP_SETXATTR"] = Opcode.SetXattr,
        ["IORING_OP_FGETXATTR"] = Opcode.FGetXattr,
        ["IORING_OP_GETXATTR"] = Opcode.GetXattr,
        ["IORING_OP_SOCKET"] = Opcode.Socket,
        ["IORING_OP_URING_CMD"] = Opcode.UringCmd,
        ["IORING_OP_SEND_ZC"] = Opcode.SendZc,
        ["IORING_OP_SENDMSG_ZC"] = Opcode.SendMsgZc,
        ["IORING_OP_READ_MULTISHOT"] = Opcode.ReadMultishot,
        ["IORING_OP_WAITID"] = Opcode.WaitId,
        ["IORING_OP_FUTEX_WAIT"] = Opcode.FutexWait,
        ["IORING_OP_FUTEX_WAKE"] = Opcode.FutexWake,
        ["IORING_OP_FUTEX_WAITV"] = Opcode.FutexWaitV,
        ["IORING_OP_FIXED_FD_INSTALL"] = Opcode.FixedFdInstall,
        ["IORING_OP_FTRUNCATE"] = Opcode.Ftruncate,
        ["IORING_OP_BIND"] = Opcode.Bind,
        ["IORING_OP_LISTEN"] = Opcode.Listen,
        ["IORING_OP_RECV_ZC"] = Opcode.RecvZc,
        ["IORING_OP_EPOLL_WAIT"] = Opcode.EpollWait,
        ["IORING_OP_READV_FIXED"] = Opcode.ReadvFixed,
        ["IORING_OP_WRITEV_FIXED"] = Opcode.WritevFixed,
        ["IORING_OP_PIPE"] = Opcode.Pipe,

        ["IOSQE_FIXED_FILE"] = SqeFlags.FixedFile,
        ["IOSQE_IO_DRAIN"] = SqeFlags.IoDrain,
        ["IOSQE_IO_LINK"] = SqeFlags.IoLink,
        ["IOSQE_IO_HARDLINK"] = SqeFlags.IoHardLink,
        ["IOSQE_ASYNC"] = SqeFlags.Async,
        ["IOSQE_BUFFER_SELECT"] = SqeFlags.BufferSelect,
        ["IOSQE_CQE_SKIP_SUCCESS"] = SqeFlags.CqeSkipSuccess,

        ["IORING_SETUP_IOPOLL"] = SetupFlags.IoPoll,
        ["IORING_SETUP_SQPOLL"] = SetupFlags.SqPoll,
        ["IORING_SETUP_SQ_AFF"] = SetupFlags.SqAff,
        ["IORING_SETUP_CQSIZE"] = SetupFlags.CqSize,
        ["IORING_SETUP_CLAMP"] = SetupFlags.Clamp,
        ["IORING_SETUP_ATTACH_WQ"] = SetupFlags.AttachWq,
        ["IORING_SETUP_R_DISABLED"] = SetupFlags.RDisabled,
        ["IORING_SETUP_SUBMIT_ALL"] = SetupFlags.SubmitAll,
        ["IORING_SETUP_COOP_TASKRUN"] = SetupFlags.CoopTaskRun,
        ["IORING_SETUP_TASKRUN_FLAG"] = SetupFlags.TaskRunFlag,
        ["IORING_SETUP_SQE128"] = SetupFlags.Sqe128,
        ["IORING_SETUP_CQE32"] = SetupFlags.Cqe32,
        ["IORING_SETUP_SINGLE_ISSUER"] = SetupFlags.SingleIssuer,
        ["IORING_SETUP_DEFER_TASKRUN"] = SetupFlags.DeferTaskRun,
        ["IORING_SETUP_NO_MMAP"] = SetupFlags.NoMmap,
        ["IORING_SETUP_REGISTERED_FD_ONLY"] = SetupFlags.RegisteredFdOnly,
        ["IORING_SETUP_NO_SQARRAY"] = SetupFlags.NoSqArray,
        ["IORING_SETUP_HYBRID_IOPOLL"] = SetupFlags.HybridIoPoll,

        ["IORING_ENTER_GETEVENTS"] = EnterFlags.GetEvents,
        ["IORING_ENTER_SQ_WAKEUP"] = EnterFlags.SqWakeup,
        ["IORING_ENTER_SQ_WAIT"] = EnterFlags.SqWait,
        ["IORING_ENTER_EXT_ARG"] = EnterFlags.ExtArg,
        ["IORING_ENTER_REGISTERED_RING"] = EnterFlags.RegisteredRing,
        ["IORING_ENTER_ABS_TIMER"] = EnterFlags.AbsTimer,
        ["IORING_ENTER_EXT_ARG_REG"] = EnterFlags.ExtArgReg,
        ["IORING_ENTER_NO_IOWAIT"] = EnterFlags.NoIoWait,

        ["IORING_FEAT_SINGLE_MMAP"] = RingFeatures.SingleMmap,
        ["IORING_FEAT_NODROP"] = RingFeatures.NoDrop,
        ["IORING_FEAT_SUBMIT_STABLE"] = RingFeatures.SubmitStable,
        ["IORING_FEAT_RW_CUR_POS"] = RingFeatures.RwCurPos,
        ["IORING_FEAT_CUR_PERSONALITY"] = RingFeatures.CurPersonality,
        ["IORING_FEAT_FAST_POLL"] = RingFeatures.FastPoll,
        ["IORING_FEAT_POLL_32BITS"] = RingFeatures.Poll32Bits,
        ["IORING_FEAT_SQPOLL_NONFIXED"] = RingFeatures.SqPollNonFixed,
        ["IORING_FEAT_EXT_ARG"] = RingFeatures.ExtArg,
        ["IORING_FEAT_NATIVE_WORKERS"] = RingFeatures.NativeWorkers,
        ["IORING_FEAT_RSRC_TAGS"] = RingFeatures.RsrcTags,
        ["IORING_FEAT_CQE_SKIP"] = RingFeatures.CqeSkip,
        ["IORING_FEAT_LINKED_FILE"] = RingFeatures.LinkedFile,
        ["IORING_FEAT_REG_REG_RING"] = RingFeatures.RegRegRing,
        ["IORING_FEAT_RECVSEND_BUNDLE"] = RingFeatures.RecvSendBundle,
        ["IORING_FEAT_MIN_TIMEOUT"] = RingFeatures.MinTimeout,
        ["IORING_FEAT_RW_ATTR"] = RingFeatures.RwAttr,
        ["IORING_FEAT_NO_IOWAIT"] = RingFeatures.NoIoWait,

        ["IORING_CQE_F_BUFFER"] = CqeFlags.Buffer,
        ["IORING_CQE_F_MORE"] = CqeFlags.More,
        ["IORING_CQE_F_SOCK_NONEMPTY"] = CqeFlags.SockNonEmpty,
        ["IORING_CQE_F_NOTIF"] = CqeFlags.Notif,
        ["IORING_CQE_F_BUF_MORE"] = CqeFlags.BufMore,
        ["IORING_CQE_BUFFER_SHIFT"] = SqeConstants.CqeBufferShift,

        ["IORING_SQ_NEED_WAKEUP"] = SqRingFlags.NeedWakeup,
        ["IORING_SQ_CQ_OVERFLOW"] = SqRingFlags.CqOverflow,
        ["IORING_SQ_TASKRUN"] = SqRingFlags.TaskRun,
        ["IORING_CQ_EVENTFD_DISABLED"] = CqRingFlags.EventFdDisabled,

        ["IORING_TIMEOUT_ABS"] = TimeoutFlags.Abs,
        ["IORING_TIMEOUT_UPDATE"] = TimeoutFlags.Update,
        ["IORING_TIMEOUT_BOOTTIME"] = TimeoutFlags.BootTime,
        ["IORING_TIMEOUT_REALTIME"] = TimeoutFlags.RealTime,
        ["IORING_LINK_TIMEOUT_UPDATE"] = TimeoutFlags.LinkUpdate,
        ["IORING_TIMEOUT_ETIME_SUCCESS"] = TimeoutFlags.EtimeSuccess,
        ["IORING_TIMEOUT_MULTISHOT"] = TimeoutFlags.Multishot,

        ["IORING_ASYNC_CANCEL_ALL"] = AsyncCancelFlags.All,
        ["IORING_ASYNC_CANCEL_FD"] = AsyncCancelFlags.Fd,
        ["IORING_ASYNC_CANCEL_ANY"] = AsyncCancelFlags.Any,
        ["IORING_ASYNC_CANCEL_FD_FIXED"] = AsyncCancelFlags.FdFixed,
        ["IORING_ASYNC_CANCEL_USERDATA"] = AsyncCancelFlags.UserData,
        ["IORING_ASYNC_CANCEL_OP"] = AsyncCancelFlags.Op,

        ["IORING_POLL_ADD_MULTI"] = PollFlags.AddMulti,
        ["IORING_POLL_UPDATE_EVENTS"] = PollFlags.UpdateEvents,
        ["IORING_POLL_UPDATE_USER_DATA"] = PollFlags.UpdateUserData,
        ["IORING_POLL_ADD_LEVEL"] = PollFlags.AddLevel,

        ["IORING_RECVSEND_POLL_FIRST"] = RecvSendFlags.PollFirst,
        ["IORING_RECV_MULTISHOT"] = RecvSendFlags.RecvMultishot,
        ["IORING_RECVSEND_FIXED_BUF"] = RecvSendFlags.FixedBuf,
        ["IORING_SEND_ZC_REPORT_USAGE"] = RecvSendFlags.SendZcReportUsage,
        ["IORING_RECVSEND_BUNDLE"] = RecvSendFlags.Bundle,

        ["IORING_ACCEPT_MULTISHOT"] = AcceptFlags.Multishot,
        ["IORING_ACCEPT_DONTWAIT"] = AcceptFlags.DontWait,
        ["IORING_ACCEPT_POLL_FIRST"] = AcceptFlags.PollFirst,

        ["IORING_FSYNC_DATASYNC"] = FsyncFlags.DataSync,
        ["IORING_MSG_DATA"] = MsgRingCommand.Data,
        ["IORING_MSG_SEND_FD"] = MsgRingCommand.SendFd,
        ["IORING_MSG_RING_CQE_SKIP"] = MsgRingFlags.CqeSkip,
        ["IORING_MSG_RING_FLAGS_PASS"] = MsgRingFlags.FlagsPass,

        ["IORING_FILE_INDEX_ALLOC"] = SqeConstants.FileIndexAlloc,
        ["IORING_REGISTER_FILES_SKIP"] = SqeConstants.RegisterFilesSkip,
        ["SPLICE_F_FD_IN_FIXED"] = SqeConstants.SpliceFdInFixed,
        ["IO_URING_OP_SUPPORTED"] = ProbeOp.Supported,
        ["IORING_RSRC_REGISTER_SPARSE"] = RsrcRegister.FlagSparse,

        ["IORING_OFF_SQ_RING"] = MmapOffsets.SqRing,
        ["IORING_OFF_CQ_RING"] = MmapOffsets.CqRing,
        ["IORING_OFF_SQES"] = MmapOffsets.Sqes,

        ["IORING_REGISTER_BUFFERS"] = RegisterOpcode.RegisterBuffers,
        ["IORING_UNREGISTER_BUFFERS"] = RegisterOpcode.UnregisterBuffers,
        ["IORING_REGISTER_FILES"] = RegisterOpcode.RegisterFiles,
        ["IORING_UNREGISTER_FILES"] = RegisterOpcode.UnregisterFiles,
        ["IORING_REGISTER_EVENTFD"] = RegisterOpcode.RegisterEventFd,
        ["IORING_UNREGISTER_EVENTFD"] = RegisterOpcode.UnregisterEventFd,
        ["IORING_REGISTER_FILES_UPDATE"] = RegisterOpcode.RegisterFilesUpdate,
        ["IORING_REGISTER_EVENTFD_ASYNC"] = RegisterOpcode.RegisterEventFdAsync,
        ["IORING_REGISTER_PROBE"] = RegisterOpcode.RegisterProbe,
        ["IORING_REGISTER_PERSONALITY"] = RegisterOpcode.RegisterPersonality,
        ["IORING_UNREGISTER_PERSONALITY"] = RegisterOpcode.UnregisterPersonality,
        ["IORING_REGISTER_RESTRICTIONS"] = RegisterOpcode.RegisterRestrictions,
        ["IORING_REGISTER_ENABLE_RINGS"] = RegisterOpcode.RegisterEnableRings,
        ["IORING_REGISTER_FILES2"] = RegisterOpcode.RegisterFiles2,
        ["IORING_REGISTER_FILES_UPDATE2"] = RegisterOpcode.RegisterFilesUpdate2,
        ["IORING_REGISTER_BUFFERS2"] = RegisterOpcode.RegisterBuffers2,
        ["IORING_REGISTER_BUFFERS_UPDATE"] = RegisterOpcode.RegisterBuffersUpdate,
        ["IORING_REGISTER_IOWQ_AFF"] = RegisterOpcode.RegisterIoWqAff,
        ["IORING_UNREGISTER_IOWQ_AFF"] = RegisterOpcode.UnregisterIoWqAff,
        ["IORING_REGISTER_IOWQ_MAX_WORKERS"] = RegisterOpcode.RegisterIoWqMaxWorkers,
        ["IORING_REGISTER_RING_FDS"] = RegisterOpcode.RegisterRingFds,
        ["IORING_UNREGISTER_RING_FDS"] = RegisterOpcode.UnregisterRingFds,
        ["IORING_REGISTER_PBUF_RING"] = RegisterOpcode.RegisterPbufRing,
        ["IORING_UNREGISTER_PBUF_RING"] = RegisterOpcode.UnregisterPbufRing,
        ["IORING_REGISTER_SYNC_CANCEL"] = RegisterOpcode.RegisterSyncCancel,
        ["IORING_REGISTER_FILE_ALLOC_RANGE"] = RegisterOpcode.RegisterFileAllocRange,
        ["IORING_REGISTER_PBUF_STATUS"] = RegisterOpcode.RegisterPbufStatus,
        ["IORING_REGISTER_NAPI"] = RegisterOpcode.RegisterNapi,
        ["IORING_UNREGISTER_NAPI"] = RegisterOpcode.UnregisterNapi,
        ["IORING_REGISTER_CLOCK"] = RegisterOpcode.RegisterClock,
        ["IORING_REGISTER_CLONE_BUFFERS"] = RegisterOpcode.RegisterCloneBuffers,
        ["IORING_REGISTER_SEND_MSG_RING"] = RegisterOpcode.RegisterSendMsgRing,
        ["IORING_REGISTER_ZCRX_IFQ"] = RegisterOpcode.RegisterZcrxIfq,
        ["IORING_REGISTER_RESIZE_RINGS"] = RegisterOpcode.RegisterResizeRings,
        ["IORING_REGISTER_MEM_REGION"] = RegisterOpcode.RegisterMemRegion,
        ["IORING_REGISTER_USE_REGISTERED_RING"] = RegisterOpcode.UseRegisteredRing,

        ["IORING_RESTRICTION_REGISTER_OP"] = RestrictionEntry.RegisterOp,
        ["IORING_RESTRICTION_SQE_OP"] = RestrictionEntry.SqeOp,
        ["IORING_RESTRICTION_SQE_FLAGS_ALLOWED"] = RestrictionEntry.SqeFlagsAllowed,
        ["IORING_RESTRICTION_SQE_FLAGS_REQUIRED"] = RestrictionEntry.SqeFlagsRequired,
        ["SOCKET_URING_OP_SIOCINQ"] = SocketCommand.InQueue,
        ["SOCKET_URING_OP_SIOCOUTQ"] = SocketCommand.OutQueue,
        ["SOCKET_URING_OP_GETSOCKOPT"] = SocketCommand.GetSockOpt,
        ["SOCKET_URING_OP_SETSOCKOPT"] = SocketCommand.SetSockOpt,
        ["EPOLL_CTL_ADD"] = EpollOp.Add,
        ["EPOLL_CTL_DEL"] = EpollOp.Delete,
        ["EPOLL_CTL_MOD"] = EpollOp.Modify,
        ["P_ALL"] = WaitIdType.All,
        ["P_PID"] = WaitIdType.Pid,
        ["P_PGID"] = WaitIdType.ProcessGroup,
        ["WEXITED"] = WaitIdOptions.Exited,
        ["WNOHANG"] = WaitIdOptions.NoHang,
        ["WNOWAIT"] = WaitIdOptions.NoWait,
        ["CLD_EXITED"] = WaitIdCode.Exited,
    };

    private static readonly Dictionary<string, string> s_constantsNotMirrored = new(StringComparer.Ordinal)
    {
        ["IORING_OP_LAST"] = "sentinel: one past the highest opcode of the header, not an operation",
        ["IORING_RESTRICTION_LAST"] = "sentinel: one past the highest restriction opcode",
        ["IORING_REGISTER_LAST"] = "sentinel: one past the highest register opcode of the header",
        ["IORING_TIMEOUT_CLOCK_MASK"] = "derived mask (BootTime | RealTime)",
        ["IORING_TIMEOUT_UPDATE_MASK"] = "derived mask (Update | LinkUpdate)",
        ["IORING_OFF_MMAP_MASK"] = "kernel-side decoding mask of mmap offsets; user code never needs it",
        ["IORING_OFF_PBUF_RING"] = "kernel-allocated buffer rings (IOU_PBUF_RING_MMAP) are not supported by BufferRing",
        ["IORING_OFF_PBUF_SHIFT"] = "kernel-allocated buffer rings (IOU_PBUF_RING_MMAP) are not supported by BufferRing",
        ["IORING_NOTIF_USAGE_ZC_COPIED"] = "a cqe.res bit of zero-copy notifications, not a request flag; no managed helper reads it yet",
        ["IORING_URING_CMD_FIXED"] = "a driver command on a registered buffer: set Sqe.UringCmdFlags and BufIndex after PrepUringCmd",
        ["IORING_SETUP_CQE_MIXED"] = "newer than the managed SetupFlags; no RingOptions for mixed CQE sizes",
        ["IORING_SETUP_SQE_MIXED"] = "newer than the managed SetupFlags; no RingOptions for mixed SQE sizes",
    };

    [Fact]
    public void Every_struct_size_and_field_matches_the_kernel_header()
    {
        AbiDump dump = AbiDump.Load();
        var problems = new List<string>();

        foreach ((string name, int size) in dump.StructSizes)
        {
            if (!s_structs.TryGetValue(name, out Type? type))
            {
                problems.Add($"struct {name} (size {size}) has no managed twin in the table");
                continue;
            }

            int managed = SizeOf(type);
            if (managed != size)
            {
                problems.Add($"struct {name}: sizeof is {size} in C but {managed} for {type.Name}");
            }
        }

        foreach (string name in s_structs.Keys.Where(n => !dump.StructSizes.ContainsKey(n)))
        {
            problems.Add($"struct {name} is in the table but abi_dump did not print it");
        }

        foreach (CField f in dump.Fields)
        {
            if (s_fieldsNotMirrored.ContainsKey(f.Key))
            {
                continue;
            }

            if (!s_structs.TryGetValue(f.Struct, out Type? type))
            {
                continue; // reported above
            }

            if (!s_fields.TryGetValue(f.Key, out string[][]? alternatives))
            {
                problems.Add($"{f.Key} (offset {f.Offset}, size {f.Size}) has no managed twin in {type.Name} and is not listed as intentionally not mirrored");
                continue;
            }

            List<string> mismatches = [];
            foreach (string[] alternative in alternatives)
            {
                string? mismatch = CompareField(f, type, alternative);
                if (mismatch is null)
                {
                    mismatches.Clear();
                    break;
                }

                mismatches.Add(mismatch);
            }

            problems.AddRange(mismatches);
        }

        CField tail = dump.Fields.Single(f => f.Key == "io_uring_buf_ring.tail");
        if (tail.Offset != BufRingEntry.TailOffset)
        {
            problems.Add($"io_uring_buf_ring.tail is at {tail.Offset} but BufRingEntry.TailOffset is {BufRingEntry.TailOffset}");
        }

        Assert.True(problems.Count == 0,
            $"ABI layout differs from the uapi headers {dump.Header} in {problems.Count} place(s):\n  " + string.Join("\n  ", problems));
    }

    [Fact]
    public void Every_constant_matches_the_kernel_header()
    {
        AbiDump dump = AbiDump.Load();
        var problems = new List<string>();
        foreach ((string name, long value) in dump.Constants)
        {
            if (s_constantsNotMirrored.ContainsKey(name))
            {
                continue;
            }

            if (!s_constants.TryGetValue(name, out object? managed))
            {
                problems.Add($"{name} = {value} (0x{value:X}) has no managed twin and is not listed as intentionally not mirrored");
                continue;
            }

            long m = Convert.ToInt64(managed, System.Globalization.CultureInfo.InvariantCulture);
            if (m != value)
            {
                problems.Add($"{name} is {value} (0x{value:X}) in C but {Describe(managed)} is {m} (0x{m:X})");
            }
        }

        Assert.True(problems.Count == 0,
            $"Constants differ from the uapi headers {dump.Header} in {problems.Count} place(s):\n  " + string.Join("\n  ", problems));
    }

    [Fact]
    public void The_mapping_tables_name_real_managed_fields_and_cover_every_managed_field()
    {
        var problems = new List<string>();
        foreach ((string key, string[][] alternatives) in s_fields)
        {
            string cStruct = key[..key.IndexOf('.', StringComparison.Ordinal)];
            if (!s_structs.TryGetValue(cStruct, out Type? type))
            {
                problems.Add($"{key}: struct {cStruct} is not in the struct table");
                continue;
            }

            foreach (string name in alternatives.SelectMany(a => a))
            {
                if (type.GetField(name, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic) is null)
                {
                    problems.Add($"{key} -> {type.Name}.{name}: no such field");
                }
            }
        }

        foreach (string key in s_fieldsNotMirrored.Keys.Where(s_fields.ContainsKey))
        {
            problems.Add($"{key} is both mapped and listed as not mirrored");
        }

        foreach (Type type in s_structs.Values.Distinct())
        {
            var mapped = s_structs.Where(kv => kv.Value == type)
                .SelectMany(kv => s_fields.Where(f => f.Key.StartsWith(kv.Key + ".", StringComparison.Ordinal)))
                .SelectMany(f => f.Value.SelectMany(a => a))
                .ToHashSet(StringComparer.Ordinal);
            foreach (FieldInfo field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
            {
                if (!mapped.Contains(field.Name))
                {
                    problems.Add($"{type.Name}.{field.Name} is not tied to any C field in the table");
                }
            }

            // Blittable: the marshalled layout that Marshal.OffsetOf reports is the layout the kernel sees.
            if (Marshal.SizeOf(type) != SizeOf(type))
            {
                problems.Add($"{type.Name} is not blittable: Marshal.SizeOf {Marshal.SizeOf(type)} != Unsafe.SizeOf {SizeOf(type)}");
            }
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void Every_managed_enum_member_is_tied_to_a_kernel_constant()
    {
        Type[] mirrored =
        [
            typeof(Opcode), typeof(SqeFlags), typeof(SetupFlags), typeof(EnterFlags), typeof(RingFeatures),
            typeof(CqeFlags), typeof(SqRingFlags), typeof(CqRingFlags), typeof(TimeoutFlags), typeof(AsyncCancelFlags),
            typeof(PollFlags), typeof(RecvSendFlags), typeof(AcceptFlags), typeof(FsyncFlags), typeof(MsgRingCommand),
            typeof(MsgRingFlags), typeof(RegisterOpcode), typeof(SocketCommand), typeof(EpollOp),
        ];
        var tied = s_constants.Values.OfType<Enum>().ToHashSet();
        var problems = new List<string>();
        foreach (Type t in mirrored)
        {
            foreach (Enum member in Enum.GetValues(t).Cast<Enum>())
            {
                bool zeroDefault = Convert.ToInt64(member, System.Globalization.CultureInfo.InvariantCulture) == 0 && member.ToString() == "None";
                if (!zeroDefault && !tied.Contains(member))
                {
                    problems.Add($"{t.Name}.{member} is not tied to a kernel constant name in the table");
                }
            }
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    private static string? CompareField(CField c, Type type, string[] names)
    {
        int first = -1;
        int end = -1;
        foreach (string name in names)
        {
            FieldInfo field = type.GetField(name, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
                ?? throw new InvalidOperationException($"{type.Name}.{name} does not exist (see the table test)");
            int offset = (int)Marshal.OffsetOf(type, name);
            int size = SizeOf(field.FieldType);
            if (first < 0)
            {
                first = offset;
            }
            else if (offset != end)
            {
                return $"{c.Key}: {type.Name}.{name} at {offset} does not follow the previous field ending at {end}";
            }

            end = offset + size;
        }

        string managed = names.Length == 1 ? $"{type.Name}.{names[0]}" : $"{type.Name}.{{{string.Join(", ", names)}}}";
        return first == c.Offset && end - first == c.Size
            ? null
            : $"{c.Key}: offset {c.Offset} size {c.Size} in C, but {managed} is at {first} size {end - first}";
    }

    private static string Describe(object managed) => managed is Enum e ? $"{e.GetType().Name}.{e}" : $"managed constant {managed}";

    private static int SizeOf(Type t) =>
        (int)typeof(Unsafe).GetMethod(nameof(Unsafe.SizeOf))!.MakeGenericMethod(t).Invoke(null, null)!;
}
