/*
 * abi_dump: prints the layout of every kernel ABI struct the IoUring library mirrors, and the value of every
 * constant it mirrors, as seen by the C compiler through the system's uapi headers. The ABI test
 * (tests/IoUring.Tests/Interop/AbiLayoutTests.cs) compiles this, runs it, and compares each line with the managed
 * structs and enums.
 *
 * Output, one item per line:
 *   header <major>.<minor>.<sublevel>
 *   struct <name> size <bytes>
 *   struct <name>.<field> offset <bytes> size <bytes>      (size 0 for a flexible array member)
 *   const <NAME> <signed decimal value>
 *
 * Written against the 6.1 uapi headers (Debian 12). Fields and enumerators that newer headers add are guarded by
 * #ifdef on a macro added in the same kernel change where one exists, otherwise by LINUX_VERSION_CODE, so this
 * builds against older and newer headers alike. Version guards err late: naming a later version than strictly
 * needed only means the item is not printed with that header, never a build failure.
 *
 * Build: gcc -O0 -Wall -Wextra -Werror -o abi_dump abi_dump.c
 */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <linux/futex.h>
#include <linux/io_uring.h>
#include <linux/openat2.h>
#include <linux/stat.h>
#include <linux/time_types.h>
#include <linux/version.h>

#define AT_LEAST(a, b) (LINUX_VERSION_CODE >= KERNEL_VERSION(a, b, 0))

/*
 * Structs newer than the oldest header this builds against, declared here exactly as include/uapi/linux/io_uring.h
 * of Linux 6.18 declares them, and used only when the system header predates them. With an older header the dump
 * then reports the layout gcc computes for the 6.18 declaration, so the managed mirrors are still checked for size,
 * padding and alignment; with a newer header the kernel's own declaration is used.
 */
#if !AT_LEAST(6, 8)
struct io_uring_buf_status {
	__u32 buf_group;
	__u32 head;
	__u32 resv[8];
};
#endif
#if !AT_LEAST(6, 13)
struct io_uring_napi {
	__u32 busy_poll_to;
	__u8 prefer_busy_poll;
	__u8 opcode;
	__u8 pad[2];
	__u32 op_param;
	__u32 resv;
};
struct io_uring_clone_buffers {
	__u32 src_fd;
	__u32 flags;
	__u32 src_off;
	__u32 dst_off;
	__u32 nr;
	__u32 pad[3];
};
struct io_uring_region_desc {
	__u64 user_addr;
	__u64 size;
	__u32 flags;
	__u32 id;
	__u64 mmap_offset;
	__u64 __resv[4];
};
struct io_uring_mem_region_reg {
	__u64 region_uptr;
	__u64 flags;
	__u64 __resv[2];
};
struct io_uring_reg_wait {
	struct __kernel_timespec ts;
	__u32 min_wait_usec;
	__u32 flags;
	__u64 sigmask;
	__u32 sigmask_sz;
	__u32 pad[3];
	__u64 pad2[2];
};
#endif
#if !AT_LEAST(6, 15)
struct io_uring_zcrx_rqe {
	__u64 off;
	__u32 len;
	__u32 __pad;
};
struct io_uring_zcrx_cqe {
	__u64 off;
	__u64 __pad;
};
struct io_uring_zcrx_offsets {
	__u32 head;
	__u32 tail;
	__u32 rqes;
	__u32 __resv2;
	__u64 __resv[2];
};
struct io_uring_zcrx_area_reg {
	__u64 addr;
	__u64 len;
	__u64 rq_area_token;
	__u32 flags;
	__u32 dmabuf_fd;
	__u64 __resv2[2];
};
struct io_uring_zcrx_ifq_reg {
	__u32 if_idx;
	__u32 if_rxq;
	__u32 rq_entries;
	__u32 flags;
	__u64 area_ptr;
	__u64 region_ptr;
	struct io_uring_zcrx_offsets offsets;
	__u32 zcrx_id;
	__u32 __resv2;
	__u64 __resv[3];
};
#endif

#define STRUCT(s) printf("struct %s size %zu\n", #s, sizeof(struct s))
#define FIELD(s, f) \
	printf("struct %s.%s offset %zu size %zu\n", #s, #f, offsetof(struct s, f), sizeof(((struct s *)0)->f))
#define FLEX(s, f) printf("struct %s.%s offset %zu size 0\n", #s, #f, offsetof(struct s, f))
#define CONST(c) printf("const %s %lld\n", #c, (long long)(c))

static void dump_sqe(void)
{
	STRUCT(io_uring_sqe);
	FIELD(io_uring_sqe, opcode);
	FIELD(io_uring_sqe, flags);
	FIELD(io_uring_sqe, ioprio);
	FIELD(io_uring_sqe, fd);
	/* union at 8 */
	FIELD(io_uring_sqe, off);
	FIELD(io_uring_sqe, addr2);
	FIELD(io_uring_sqe, cmd_op);
	FIELD(io_uring_sqe, __pad1);
	/* union at 16 */
	FIELD(io_uring_sqe, addr);
	FIELD(io_uring_sqe, splice_off_in);
#if AT_LEAST(6, 8)
	FIELD(io_uring_sqe, level);
	FIELD(io_uring_sqe, optname);
#endif
	FIELD(io_uring_sqe, len);
	/* union at 28 */
	FIELD(io_uring_sqe, rw_flags);
	FIELD(io_uring_sqe, fsync_flags);
	FIELD(io_uring_sqe, poll_events);
	FIELD(io_uring_sqe, poll32_events);
	FIELD(io_uring_sqe, sync_range_flags);
	FIELD(io_uring_sqe, msg_flags);
	FIELD(io_uring_sqe, timeout_flags);
	FIELD(io_uring_sqe, accept_flags);
	FIELD(io_uring_sqe, cancel_flags);
	FIELD(io_uring_sqe, open_flags);
	FIELD(io_uring_sqe, statx_flags);
	FIELD(io_uring_sqe, fadvise_advice);
	FIELD(io_uring_sqe, splice_flags);
	FIELD(io_uring_sqe, rename_flags);
	FIELD(io_uring_sqe, unlink_flags);
	FIELD(io_uring_sqe, hardlink_flags);
	FIELD(io_uring_sqe, xattr_flags);
	FIELD(io_uring_sqe, msg_ring_flags);
	FIELD(io_uring_sqe, uring_cmd_flags);
#if AT_LEAST(6, 8)
	FIELD(io_uring_sqe, waitid_flags);
	FIELD(io_uring_sqe, futex_flags);
#endif
#ifdef IORING_FIXED_FD_NO_CLOEXEC
	FIELD(io_uring_sqe, install_fd_flags);
#endif
#ifdef IORING_NOP_INJECT_RESULT
	FIELD(io_uring_sqe, nop_flags);
#endif
	FIELD(io_uring_sqe, user_data);
	/* packed union at 40 */
	FIELD(io_uring_sqe, buf_index);
	FIELD(io_uring_sqe, buf_group);
	FIELD(io_uring_sqe, personality);
	/* union at 44 */
	FIELD(io_uring_sqe, splice_fd_in);
	FIELD(io_uring_sqe, file_index);
#if AT_LEAST(6, 8)
	FIELD(io_uring_sqe, optlen);
#endif
	FIELD(io_uring_sqe, addr_len);
	FIELD(io_uring_sqe, __pad3);
	/* union at 48 */
	FIELD(io_uring_sqe, addr3);
	FIELD(io_uring_sqe, __pad2);
#if AT_LEAST(6, 8)
	FIELD(io_uring_sqe, optval);
#endif
	FIELD(io_uring_sqe, cmd);
}

static void dump_rings(void)
{
	STRUCT(io_uring_cqe);
	FIELD(io_uring_cqe, user_data);
	FIELD(io_uring_cqe, res);
	FIELD(io_uring_cqe, flags);
	FLEX(io_uring_cqe, big_cqe);

	STRUCT(io_sqring_offsets);
	FIELD(io_sqring_offsets, head);
	FIELD(io_sqring_offsets, tail);
	FIELD(io_sqring_offsets, ring_mask);
	FIELD(io_sqring_offsets, ring_entries);
	FIELD(io_sqring_offsets, flags);
	FIELD(io_sqring_offsets, dropped);
	FIELD(io_sqring_offsets, array);
	FIELD(io_sqring_offsets, resv1);
#ifdef IORING_SETUP_NO_MMAP
	FIELD(io_sqring_offsets, user_addr);
#else
	FIELD(io_sqring_offsets, resv2);
#endif

	STRUCT(io_cqring_offsets);
	FIELD(io_cqring_offsets, head);
	FIELD(io_cqring_offsets, tail);
	FIELD(io_cqring_offsets, ring_mask);
	FIELD(io_cqring_offsets, ring_entries);
	FIELD(io_cqring_offsets, overflow);
	FIELD(io_cqring_offsets, cqes);
	FIELD(io_cqring_offsets, flags);
	FIELD(io_cqring_offsets, resv1);
#ifdef IORING_SETUP_NO_MMAP
	FIELD(io_cqring_offsets, user_addr);
#else
	FIELD(io_cqring_offsets, resv2);
#endif

	STRUCT(io_uring_params);
	FIELD(io_uring_params, sq_entries);
	FIELD(io_uring_params, cq_entries);
	FIELD(io_uring_params, flags);
	FIELD(io_uring_params, sq_thread_cpu);
	FIELD(io_uring_params, sq_thread_idle);
	FIELD(io_uring_params, features);
	FIELD(io_uring_params, wq_fd);
	FIELD(io_uring_params, resv);
	FIELD(io_uring_params, sq_off);
	FIELD(io_uring_params, cq_off);

	STRUCT(io_uring_getevents_arg);
	FIELD(io_uring_getevents_arg, sigmask);
	FIELD(io_uring_getevents_arg, sigmask_sz);
#ifdef IORING_FEAT_MIN_TIMEOUT /* added together */
	FIELD(io_uring_getevents_arg, min_wait_usec);
#else
	FIELD(io_uring_getevents_arg, pad);
#endif
	FIELD(io_uring_getevents_arg, ts);
}

static void dump_registration(void)
{
	STRUCT(io_uring_probe);
	FIELD(io_uring_probe, last_op);
	FIELD(io_uring_probe, ops_len);
	FIELD(io_uring_probe, resv);
	FIELD(io_uring_probe, resv2);
	FLEX(io_uring_probe, ops);

	STRUCT(io_uring_probe_op);
	FIELD(io_uring_probe_op, op);
	FIELD(io_uring_probe_op, resv);
	FIELD(io_uring_probe_op, flags);
	FIELD(io_uring_probe_op, resv2);

	STRUCT(io_uring_rsrc_register);
	FIELD(io_uring_rsrc_register, nr);
	FIELD(io_uring_rsrc_register, flags);
	FIELD(io_uring_rsrc_register, resv2);
	FIELD(io_uring_rsrc_register, data);
	FIELD(io_uring_rsrc_register, tags);

	STRUCT(io_uring_rsrc_update);
	FIELD(io_uring_rsrc_update, offset);
	FIELD(io_uring_rsrc_update, resv);
	FIELD(io_uring_rsrc_update, data);

	STRUCT(io_uring_rsrc_update2);
	FIELD(io_uring_rsrc_update2, offset);
	FIELD(io_uring_rsrc_update2, resv);
	FIELD(io_uring_rsrc_update2, data);
	FIELD(io_uring_rsrc_update2, tags);
	FIELD(io_uring_rsrc_update2, nr);
	FIELD(io_uring_rsrc_update2, resv2);

	STRUCT(io_uring_files_update);
	FIELD(io_uring_files_update, offset);
	FIELD(io_uring_files_update, resv);
	FIELD(io_uring_files_update, fds);

	STRUCT(io_uring_buf);
	FIELD(io_uring_buf, addr);
	FIELD(io_uring_buf, len);
	FIELD(io_uring_buf, bid);
	FIELD(io_uring_buf, resv);

	/* The ring header overlays the first io_uring_buf: its tail is that entry's resv. */
	STRUCT(io_uring_buf_ring);
	FIELD(io_uring_buf_ring, resv1);
	FIELD(io_uring_buf_ring, resv2);
	FIELD(io_uring_buf_ring, resv3);
	FIELD(io_uring_buf_ring, tail);
	FLEX(io_uring_buf_ring, bufs);

	STRUCT(io_uring_buf_reg);
	FIELD(io_uring_buf_reg, ring_addr);
	FIELD(io_uring_buf_reg, ring_entries);
	FIELD(io_uring_buf_reg, bgid);
#ifdef IORING_OFF_PBUF_RING /* added together with IOU_PBUF_RING_MMAP */
	FIELD(io_uring_buf_reg, flags);
#else
	FIELD(io_uring_buf_reg, pad);
#endif
	FIELD(io_uring_buf_reg, resv);

	STRUCT(io_uring_sync_cancel_reg);
	FIELD(io_uring_sync_cancel_reg, addr);
	FIELD(io_uring_sync_cancel_reg, fd);
	FIELD(io_uring_sync_cancel_reg, flags);
	FIELD(io_uring_sync_cancel_reg, timeout);
	/* pad is __u64 pad[4] in 6.1; later headers split it into opcode, __u8 pad[7] and __u64 pad2[3]. */
	FIELD(io_uring_sync_cancel_reg, pad);
#if AT_LEAST(6, 7)
	FIELD(io_uring_sync_cancel_reg, opcode);
	FIELD(io_uring_sync_cancel_reg, pad2);
#endif
}

static void dump_reach(void)
{
	STRUCT(io_uring_restriction);
	FIELD(io_uring_restriction, opcode);
	FIELD(io_uring_restriction, register_op);
	FIELD(io_uring_restriction, sqe_op);
	FIELD(io_uring_restriction, sqe_flags);
	FIELD(io_uring_restriction, resv);
	FIELD(io_uring_restriction, resv2);

	STRUCT(io_uring_file_index_range);
	FIELD(io_uring_file_index_range, off);
	FIELD(io_uring_file_index_range, len);
	FIELD(io_uring_file_index_range, resv);

	STRUCT(io_uring_recvmsg_out);
	FIELD(io_uring_recvmsg_out, namelen);
	FIELD(io_uring_recvmsg_out, controllen);
	FIELD(io_uring_recvmsg_out, payloadlen);
	FIELD(io_uring_recvmsg_out, flags);

	STRUCT(io_uring_buf_status);
	FIELD(io_uring_buf_status, buf_group);
	FIELD(io_uring_buf_status, head);
	FIELD(io_uring_buf_status, resv);

	STRUCT(io_uring_napi);
	FIELD(io_uring_napi, busy_poll_to);
	FIELD(io_uring_napi, prefer_busy_poll);
#if AT_LEAST(6, 9) && !AT_LEAST(6, 13)
	FIELD(io_uring_napi, pad);
	FIELD(io_uring_napi, resv);
#else
	FIELD(io_uring_napi, opcode);
	FIELD(io_uring_napi, pad);
	FIELD(io_uring_napi, op_param);
	FIELD(io_uring_napi, resv);
#endif

	STRUCT(io_uring_clone_buffers);
	FIELD(io_uring_clone_buffers, src_fd);
	FIELD(io_uring_clone_buffers, flags);
	FIELD(io_uring_clone_buffers, src_off);
	FIELD(io_uring_clone_buffers, dst_off);
	FIELD(io_uring_clone_buffers, nr);
	FIELD(io_uring_clone_buffers, pad);

	STRUCT(io_uring_region_desc);
	FIELD(io_uring_region_desc, user_addr);
	FIELD(io_uring_region_desc, size);
	FIELD(io_uring_region_desc, flags);
	FIELD(io_uring_region_desc, id);
	FIELD(io_uring_region_desc, mmap_offset);
	FIELD(io_uring_region_desc, __resv);

	STRUCT(io_uring_mem_region_reg);
	FIELD(io_uring_mem_region_reg, region_uptr);
	FIELD(io_uring_mem_region_reg, flags);
	FIELD(io_uring_mem_region_reg, __resv);

	STRUCT(io_uring_reg_wait);
	FIELD(io_uring_reg_wait, ts);
	FIELD(io_uring_reg_wait, min_wait_usec);
	FIELD(io_uring_reg_wait, flags);
	FIELD(io_uring_reg_wait, sigmask);
	FIELD(io_uring_reg_wait, sigmask_sz);
	FIELD(io_uring_reg_wait, pad);
	FIELD(io_uring_reg_wait, pad2);

	STRUCT(io_uring_zcrx_rqe);
	FIELD(io_uring_zcrx_rqe, off);
	FIELD(io_uring_zcrx_rqe, len);
	FIELD(io_uring_zcrx_rqe, __pad);

	STRUCT(io_uring_zcrx_cqe);
	FIELD(io_uring_zcrx_cqe, off);
	FIELD(io_uring_zcrx_cqe, __pad);

	STRUCT(io_uring_zcrx_offsets);
	FIELD(io_uring_zcrx_offsets, head);
	FIELD(io_uring_zcrx_offsets, tail);
	FIELD(io_uring_zcrx_offsets, rqes);
	FIELD(io_uring_zcrx_offsets, __resv2);
	FIELD(io_uring_zcrx_offsets, __resv);

	STRUCT(io_uring_zcrx_area_reg);
	FIELD(io_uring_zcrx_area_reg, addr);
	FIELD(io_uring_zcrx_area_reg, len);
	FIELD(io_uring_zcrx_area_reg, rq_area_token);
	FIELD(io_uring_zcrx_area_reg, flags);
	FIELD(io_uring_zcrx_area_reg, dmabuf_fd);
	FIELD(io_uring_zcrx_area_reg, __resv2);

	STRUCT(io_uring_zcrx_ifq_reg);
	FIELD(io_uring_zcrx_ifq_reg, if_idx);
	FIELD(io_uring_zcrx_ifq_reg, if_rxq);
	FIELD(io_uring_zcrx_ifq_reg, rq_entries);
	FIELD(io_uring_zcrx_ifq_reg, flags);
	FIELD(io_uring_zcrx_ifq_reg, area_ptr);
	FIELD(io_uring_zcrx_ifq_reg, region_ptr);
	FIELD(io_uring_zcrx_ifq_reg, offsets);
	FIELD(io_uring_zcrx_ifq_reg, zcrx_id);
#if AT_LEAST(6, 17)
	FIELD(io_uring_zcrx_ifq_reg, rx_buf_len);
#else
	FIELD(io_uring_zcrx_ifq_reg, __resv2);
#endif
	FIELD(io_uring_zcrx_ifq_reg, __resv);

	/* linux/futex.h */
	STRUCT(futex_waitv);
	FIELD(futex_waitv, val);
	FIELD(futex_waitv, uaddr);
	FIELD(futex_waitv, flags);
	FIELD(futex_waitv, __reserved);

	/* The C library's epoll_event (packed on x86-64) and siginfo_t as waitid(2) fills it. */
	STRUCT(epoll_event);
	FIELD(epoll_event, events);
	FIELD(epoll_event, data);
	printf("struct siginfo_t size %zu\n", sizeof(siginfo_t));
	printf("struct siginfo_t.si_signo offset %zu size %zu\n", offsetof(siginfo_t, si_signo), sizeof(((siginfo_t *)0)->si_signo));
	printf("struct siginfo_t.si_errno offset %zu size %zu\n", offsetof(siginfo_t, si_errno), sizeof(((siginfo_t *)0)->si_errno));
	printf("struct siginfo_t.si_code offset %zu size %zu\n", offsetof(siginfo_t, si_code), sizeof(((siginfo_t *)0)->si_code));
	printf("struct siginfo_t.si_pid offset %zu size %zu\n", offsetof(siginfo_t, si_pid), sizeof(((siginfo_t *)0)->si_pid));
	printf("struct siginfo_t.si_uid offset %zu size %zu\n", offsetof(siginfo_t, si_uid), sizeof(((siginfo_t *)0)->si_uid));
	printf("struct siginfo_t.si_status offset %zu size %zu\n", offsetof(siginfo_t, si_status), sizeof(((siginfo_t *)0)->si_status));

	CONST(IORING_RESTRICTION_REGISTER_OP);
	CONST(IORING_RESTRICTION_SQE_OP);
	CONST(IORING_RESTRICTION_SQE_FLAGS_ALLOWED);
	CONST(IORING_RESTRICTION_SQE_FLAGS_REQUIRED);
	CONST(IORING_RESTRICTION_LAST);
#if AT_LEAST(6, 7)
	CONST(SOCKET_URING_OP_SIOCINQ);
	CONST(SOCKET_URING_OP_SIOCOUTQ);
	CONST(SOCKET_URING_OP_GETSOCKOPT);
	CONST(SOCKET_URING_OP_SETSOCKOPT);
#endif
	CONST(EPOLL_CTL_ADD);
	CONST(EPOLL_CTL_DEL);
	CONST(EPOLL_CTL_MOD);
	CONST(P_ALL);
	CONST(P_PID);
	CONST(P_PGID);
	CONST(WEXITED);
	CONST(WNOHANG);
	CONST(WNOWAIT);
	CONST(CLD_EXITED);
}

static void dump_other(void)
{
	STRUCT(__kernel_timespec);
	FIELD(__kernel_timespec, tv_sec);
	FIELD(__kernel_timespec, tv_nsec);

	STRUCT(open_how);
	FIELD(open_how, flags);
	FIELD(open_how, mode);
	FIELD(open_how, resolve);

	STRUCT(statx_timestamp);
	FIELD(statx_timestamp, tv_sec);
	FIELD(statx_timestamp, tv_nsec);
	FIELD(statx_timestamp, __reserved);

	STRUCT(statx);
	FIELD(statx, stx_mask);
	FIELD(statx, stx_blksize);
	FIELD(statx, stx_attributes);
	FIELD(statx, stx_nlink);
	FIELD(statx, stx_uid);
	FIELD(statx, stx_gid);
	FIELD(statx, stx_mode);
	FIELD(statx, __spare0);
	FIELD(statx, stx_ino);
	FIELD(statx, stx_size);
	FIELD(statx, stx_blocks);
	FIELD(statx, stx_attributes_mask);
	FIELD(statx, stx_atime);
	FIELD(statx, stx_btime);
	FIELD(statx, stx_ctime);
	FIELD(statx, stx_mtime);
	FIELD(statx, stx_rdev_major);
	FIELD(statx, stx_rdev_minor);
	FIELD(statx, stx_dev_major);
	FIELD(statx, stx_dev_minor);
	FIELD(statx, stx_mnt_id);
	FIELD(statx, stx_dio_mem_align);
	FIELD(statx, stx_dio_offset_align);
#if AT_LEAST(6, 10)
	FIELD(statx, stx_subvol);
#endif
#if AT_LEAST(6, 11)
	FIELD(statx, stx_atomic_write_unit_min);
	FIELD(statx, stx_atomic_write_unit_max);
	FIELD(statx, stx_atomic_write_segments_max);
#endif
#if !AT_LEAST(6, 10)
	/* Later headers carve new fields out of the spare space and rename what is left. */
	FIELD(statx, __spare3);
#endif

	/* The C library's definitions: what liburing and the kernel's compat layer see on this ABI. */
	STRUCT(iovec);
	FIELD(iovec, iov_base);
	FIELD(iovec, iov_len);

	STRUCT(msghdr);
	FIELD(msghdr, msg_name);
	FIELD(msghdr, msg_namelen);
	FIELD(msghdr, msg_iov);
	FIELD(msghdr, msg_iovlen);
	FIELD(msghdr, msg_control);
	FIELD(msghdr, msg_controllen);
	FIELD(msghdr, msg_flags);
}

static void dump_opcodes(void)
{
	CONST(IORING_OP_NOP);
	CONST(IORING_OP_READV);
	CONST(IORING_OP_WRITEV);
	CONST(IORING_OP_FSYNC);
	CONST(IORING_OP_READ_FIXED);
	CONST(IORING_OP_WRITE_FIXED);
	CONST(IORING_OP_POLL_ADD);
	CONST(IORING_OP_POLL_REMOVE);
	CONST(IORING_OP_SYNC_FILE_RANGE);
	CONST(IORING_OP_SENDMSG);
	CONST(IORING_OP_RECVMSG);
	CONST(IORING_OP_TIMEOUT);
	CONST(IORING_OP_TIMEOUT_REMOVE);
	CONST(IORING_OP_ACCEPT);
	CONST(IORING_OP_ASYNC_CANCEL);
	CONST(IORING_OP_LINK_TIMEOUT);
	CONST(IORING_OP_CONNECT);
	CONST(IORING_OP_FALLOCATE);
	CONST(IORING_OP_OPENAT);
	CONST(IORING_OP_CLOSE);
	CONST(IORING_OP_FILES_UPDATE);
	CONST(IORING_OP_STATX);
	CONST(IORING_OP_READ);
	CONST(IORING_OP_WRITE);
	CONST(IORING_OP_FADVISE);
	CONST(IORING_OP_MADVISE);
	CONST(IORING_OP_SEND);
	CONST(IORING_OP_RECV);
	CONST(IORING_OP_OPENAT2);
	CONST(IORING_OP_EPOLL_CTL);
	CONST(IORING_OP_SPLICE);
	CONST(IORING_OP_PROVIDE_BUFFERS);
	CONST(IORING_OP_REMOVE_BUFFERS);
	CONST(IORING_OP_TEE);
	CONST(IORING_OP_SHUTDOWN);
	CONST(IORING_OP_RENAMEAT);
	CONST(IORING_OP_UNLINKAT);
	CONST(IORING_OP_MKDIRAT);
	CONST(IORING_OP_SYMLINKAT);
	CONST(IORING_OP_LINKAT);
	CONST(IORING_OP_MSG_RING);
	CONST(IORING_OP_FSETXATTR);
	CONST(IORING_OP_SETXATTR);
	CONST(IORING_OP_FGETXATTR);
	CONST(IORING_OP_GETXATTR);
	CONST(IORING_OP_SOCKET);
	CONST(IORING_OP_URING_CMD);
	CONST(IORING_OP_SEND_ZC);
	CONST(IORING_OP_SENDMSG_ZC);
#if AT_LEAST(6, 8)
	CONST(IORING_OP_READ_MULTISHOT);
	CONST(IORING_OP_WAITID);
	CONST(IORING_OP_FUTEX_WAIT);
	CONST(IORING_OP_FUTEX_WAKE);
	CONST(IORING_OP_FUTEX_WAITV);
#endif
#if AT_LEAST(6, 8)
	CONST(IORING_OP_FIXED_FD_INSTALL);
#endif
#if AT_LEAST(6, 9)
	CONST(IORING_OP_FTRUNCATE);
#endif
#if AT_LEAST(6, 11)
	CONST(IORING_OP_BIND);
	CONST(IORING_OP_LISTEN);
#endif
#if AT_LEAST(6, 15)
	CONST(IORING_OP_RECV_ZC);
	CONST(IORING_OP_EPOLL_WAIT);
	CONST(IORING_OP_READV_FIXED);
	CONST(IORING_OP_WRITEV_FIXED);
#endif
#if AT_LEAST(6, 16)
	CONST(IORING_OP_PIPE);
#endif
	CONST(IORING_OP_LAST);
}

static void dump_flags(void)
{
	/* IOSQE_* */
	CONST(IOSQE_FIXED_FILE);
	CONST(IOSQE_IO_DRAIN);
	CONST(IOSQE_IO_LINK);
	CONST(IOSQE_IO_HARDLINK);
	CONST(IOSQE_ASYNC);
	CONST(IOSQE_BUFFER_SELECT);
#ifdef IOSQE_CQE_SKIP_SUCCESS
	CONST(IOSQE_CQE_SKIP_SUCCESS);
#endif

	/* IORING_SETUP_* */
	CONST(IORING_SETUP_IOPOLL);
	CONST(IORING_SETUP_SQPOLL);
	CONST(IORING_SETUP_SQ_AFF);
	CONST(IORING_SETUP_CQSIZE);
	CONST(IORING_SETUP_CLAMP);
	CONST(IORING_SETUP_ATTACH_WQ);
	CONST(IORING_SETUP_R_DISABLED);
#ifdef IORING_SETUP_SUBMIT_ALL
	CONST(IORING_SETUP_SUBMIT_ALL);
#endif
#ifdef IORING_SETUP_COOP_TASKRUN
	CONST(IORING_SETUP_COOP_TASKRUN);
#endif
#ifdef IORING_SETUP_TASKRUN_FLAG
	CONST(IORING_SETUP_TASKRUN_FLAG);
#endif
#ifdef IORING_SETUP_SQE128
	CONST(IORING_SETUP_SQE128);
#endif
#ifdef IORING_SETUP_CQE32
	CONST(IORING_SETUP_CQE32);
#endif
#ifdef IORING_SETUP_SINGLE_ISSUER
	CONST(IORING_SETUP_SINGLE_ISSUER);
#endif
#ifdef IORING_SETUP_DEFER_TASKRUN
	CONST(IORING_SETUP_DEFER_TASKRUN);
#endif
#ifdef IORING_SETUP_NO_MMAP
	CONST(IORING_SETUP_NO_MMAP);
#endif
#ifdef IORING_SETUP_REGISTERED_FD_ONLY
	CONST(IORING_SETUP_REGISTERED_FD_ONLY);
#endif
#ifdef IORING_SETUP_NO_SQARRAY
	CONST(IORING_SETUP_NO_SQARRAY);
#endif
#ifdef IORING_SETUP_HYBRID_IOPOLL
	CONST(IORING_SETUP_HYBRID_IOPOLL);
#endif
#ifdef IORING_SETUP_CQE_MIXED
	CONST(IORING_SETUP_CQE_MIXED);
#endif
#ifdef IORING_SETUP_SQE_MIXED
	CONST(IORING_SETUP_SQE_MIXED);
#endif

	/* IORING_ENTER_* */
	CONST(IORING_ENTER_GETEVENTS);
	CONST(IORING_ENTER_SQ_WAKEUP);
	CONST(IORING_ENTER_SQ_WAIT);
	CONST(IORING_ENTER_EXT_ARG);
#ifdef IORING_ENTER_REGISTERED_RING
	CONST(IORING_ENTER_REGISTERED_RING);
#endif
#ifdef IORING_ENTER_ABS_TIMER
	CONST(IORING_ENTER_ABS_TIMER);
#endif
#ifdef IORING_ENTER_EXT_ARG_REG
	CONST(IORING_ENTER_EXT_ARG_REG);
#endif
#ifdef IORING_ENTER_NO_IOWAIT
	CONST(IORING_ENTER_NO_IOWAIT);
#endif

	/* IORING_FEAT_* */
	CONST(IORING_FEAT_SINGLE_MMAP);
	CONST(IORING_FEAT_NODROP);
	CONST(IORING_FEAT_SUBMIT_STABLE);
	CONST(IORING_FEAT_RW_CUR_POS);
	CONST(IORING_FEAT_CUR_PERSONALITY);
	CONST(IORING_FEAT_FAST_POLL);
	CONST(IORING_FEAT_POLL_32BITS);
	CONST(IORING_FEAT_SQPOLL_NONFIXED);
	CONST(IORING_FEAT_EXT_ARG);
	CONST(IORING_FEAT_NATIVE_WORKERS);
	CONST(IORING_FEAT_RSRC_TAGS);
#ifdef IORING_FEAT_CQE_SKIP
	CONST(IORING_FEAT_CQE_SKIP);
#endif
#ifdef IORING_FEAT_LINKED_FILE
	CONST(IORING_FEAT_LINKED_FILE);
#endif
#ifdef IORING_FEAT_REG_REG_RING
	CONST(IORING_FEAT_REG_REG_RING);
#endif
#ifdef IORING_FEAT_RECVSEND_BUNDLE
	CONST(IORING_FEAT_RECVSEND_BUNDLE);
#endif
#ifdef IORING_FEAT_MIN_TIMEOUT
	CONST(IORING_FEAT_MIN_TIMEOUT);
#endif
#ifdef IORING_FEAT_RW_ATTR
	CONST(IORING_FEAT_RW_ATTR);
#endif
#ifdef IORING_FEAT_NO_IOWAIT
	CONST(IORING_FEAT_NO_IOWAIT);
#endif

	/* IORING_CQE_F_* and the buffer id shift (an enum in 6.1, a macro later: CONST works for both) */
	CONST(IORING_CQE_F_BUFFER);
	CONST(IORING_CQE_F_MORE);
#ifdef IORING_CQE_F_SOCK_NONEMPTY
	CONST(IORING_CQE_F_SOCK_NONEMPTY);
#endif
#ifdef IORING_CQE_F_NOTIF
	CONST(IORING_CQE_F_NOTIF);
#endif
#ifdef IORING_CQE_F_BUF_MORE
	CONST(IORING_CQE_F_BUF_MORE);
#endif
	CONST(IORING_CQE_BUFFER_SHIFT);

	/* IORING_SQ_*, IORING_CQ_* */
	CONST(IORING_SQ_NEED_WAKEUP);
	CONST(IORING_SQ_CQ_OVERFLOW);
#ifdef IORING_SQ_TASKRUN
	CONST(IORING_SQ_TASKRUN);
#endif
	CONST(IORING_CQ_EVENTFD_DISABLED);

	/* IORING_TIMEOUT_* */
	CONST(IORING_TIMEOUT_ABS);
	CONST(IORING_TIMEOUT_UPDATE);
	CONST(IORING_TIMEOUT_BOOTTIME);
	CONST(IORING_TIMEOUT_REALTIME);
	CONST(IORING_LINK_TIMEOUT_UPDATE);
#ifdef IORING_TIMEOUT_ETIME_SUCCESS
	CONST(IORING_TIMEOUT_ETIME_SUCCESS);
#endif
#ifdef IORING_TIMEOUT_MULTISHOT
	CONST(IORING_TIMEOUT_MULTISHOT);
#endif
	CONST(IORING_TIMEOUT_CLOCK_MASK);
	CONST(IORING_TIMEOUT_UPDATE_MASK);

	/* IORING_ASYNC_CANCEL_* */
#ifdef IORING_ASYNC_CANCEL_ALL
	CONST(IORING_ASYNC_CANCEL_ALL);
#endif
#ifdef IORING_ASYNC_CANCEL_FD
	CONST(IORING_ASYNC_CANCEL_FD);
#endif
#ifdef IORING_ASYNC_CANCEL_ANY
	CONST(IORING_ASYNC_CANCEL_ANY);
#endif
#ifdef IORING_ASYNC_CANCEL_FD_FIXED
	CONST(IORING_ASYNC_CANCEL_FD_FIXED);
#endif
#ifdef IORING_ASYNC_CANCEL_USERDATA
	CONST(IORING_ASYNC_CANCEL_USERDATA);
#endif
#ifdef IORING_ASYNC_CANCEL_OP
	CONST(IORING_ASYNC_CANCEL_OP);
#endif

	/* IORING_POLL_* */
	CONST(IORING_POLL_ADD_MULTI);
	CONST(IORING_POLL_UPDATE_EVENTS);
	CONST(IORING_POLL_UPDATE_USER_DATA);
#ifdef IORING_POLL_ADD_LEVEL
	CONST(IORING_POLL_ADD_LEVEL);
#endif

	/* IORING_RECVSEND_*, IORING_RECV_*, IORING_SEND_* (sqe->ioprio) */
#ifdef IORING_RECVSEND_POLL_FIRST
	CONST(IORING_RECVSEND_POLL_FIRST);
#endif
#ifdef IORING_RECV_MULTISHOT
	CONST(IORING_RECV_MULTISHOT);
#endif
#ifdef IORING_RECVSEND_FIXED_BUF
	CONST(IORING_RECVSEND_FIXED_BUF);
#endif
#ifdef IORING_SEND_ZC_REPORT_USAGE
	CONST(IORING_SEND_ZC_REPORT_USAGE);
#endif
#ifdef IORING_RECVSEND_BUNDLE
	CONST(IORING_RECVSEND_BUNDLE);
#endif
#ifdef IORING_NOTIF_USAGE_ZC_COPIED
	CONST(IORING_NOTIF_USAGE_ZC_COPIED);
#endif

	/* IORING_ACCEPT_* */
#ifdef IORING_ACCEPT_MULTISHOT
	CONST(IORING_ACCEPT_MULTISHOT);
#endif
#ifdef IORING_ACCEPT_DONTWAIT
	CONST(IORING_ACCEPT_DONTWAIT);
#endif
#ifdef IORING_ACCEPT_POLL_FIRST
	CONST(IORING_ACCEPT_POLL_FIRST);
#endif

	/* IORING_FSYNC_*, IORING_MSG_* (enum), IORING_MSG_RING_* */
	CONST(IORING_FSYNC_DATASYNC);
	CONST(IORING_MSG_DATA);
	CONST(IORING_MSG_SEND_FD);
#ifdef IORING_MSG_RING_CQE_SKIP
	CONST(IORING_MSG_RING_CQE_SKIP);
#endif
#ifdef IORING_MSG_RING_FLAGS_PASS
	CONST(IORING_MSG_RING_FLAGS_PASS);
#endif

	/* Special values */
	CONST(IORING_FILE_INDEX_ALLOC);
	CONST(IORING_REGISTER_FILES_SKIP);
	CONST(SPLICE_F_FD_IN_FIXED);
	CONST(IO_URING_OP_SUPPORTED);
	CONST(IORING_RSRC_REGISTER_SPARSE);
#ifdef IORING_URING_CMD_FIXED
	CONST(IORING_URING_CMD_FIXED);
#endif

	/* IORING_OFF_* (mmap offsets) */
	CONST(IORING_OFF_SQ_RING);
	CONST(IORING_OFF_CQ_RING);
	CONST(IORING_OFF_SQES);
#ifdef IORING_OFF_MMAP_MASK
	CONST(IORING_OFF_MMAP_MASK);
#endif
#ifdef IORING_OFF_PBUF_RING
	CONST(IORING_OFF_PBUF_RING);
#endif
#ifdef IORING_OFF_PBUF_SHIFT
	CONST(IORING_OFF_PBUF_SHIFT);
#endif
}

static void dump_register_opcodes(void)
{
	CONST(IORING_REGISTER_BUFFERS);
	CONST(IORING_UNREGISTER_BUFFERS);
	CONST(IORING_REGISTER_FILES);
	CONST(IORING_UNREGISTER_FILES);
	CONST(IORING_REGISTER_EVENTFD);
	CONST(IORING_UNREGISTER_EVENTFD);
	CONST(IORING_REGISTER_FILES_UPDATE);
	CONST(IORING_REGISTER_EVENTFD_ASYNC);
	CONST(IORING_REGISTER_PROBE);
	CONST(IORING_REGISTER_PERSONALITY);
	CONST(IORING_UNREGISTER_PERSONALITY);
	CONST(IORING_REGISTER_RESTRICTIONS);
	CONST(IORING_REGISTER_ENABLE_RINGS);
	CONST(IORING_REGISTER_FILES2);
	CONST(IORING_REGISTER_FILES_UPDATE2);
	CONST(IORING_REGISTER_BUFFERS2);
	CONST(IORING_REGISTER_BUFFERS_UPDATE);
	CONST(IORING_REGISTER_IOWQ_AFF);
	CONST(IORING_UNREGISTER_IOWQ_AFF);
	CONST(IORING_REGISTER_IOWQ_MAX_WORKERS);
	CONST(IORING_REGISTER_RING_FDS);
	CONST(IORING_UNREGISTER_RING_FDS);
	CONST(IORING_REGISTER_PBUF_RING);
	CONST(IORING_UNREGISTER_PBUF_RING);
	CONST(IORING_REGISTER_SYNC_CANCEL);
	CONST(IORING_REGISTER_FILE_ALLOC_RANGE);
#if AT_LEAST(6, 8)
	CONST(IORING_REGISTER_PBUF_STATUS);
#endif
#if AT_LEAST(6, 9)
	CONST(IORING_REGISTER_NAPI);
	CONST(IORING_UNREGISTER_NAPI);
#endif
#if AT_LEAST(6, 11)
	CONST(IORING_REGISTER_CLOCK);
#endif
#if AT_LEAST(6, 13)
	CONST(IORING_REGISTER_CLONE_BUFFERS);
	CONST(IORING_REGISTER_SEND_MSG_RING);
	CONST(IORING_REGISTER_RESIZE_RINGS);
#endif
#if AT_LEAST(6, 14)
	CONST(IORING_REGISTER_MEM_REGION);
#endif
#if AT_LEAST(6, 15)
	CONST(IORING_REGISTER_ZCRX_IFQ);
#endif
	CONST(IORING_REGISTER_LAST);
#ifdef IORING_FEAT_REG_REG_RING /* added together */
	CONST(IORING_REGISTER_USE_REGISTERED_RING);
#endif
}

int main(void)
{
	printf("header %d.%d.%d\n", (LINUX_VERSION_CODE >> 16) & 0xff, (LINUX_VERSION_CODE >> 8) & 0xff,
	       LINUX_VERSION_CODE & 0xff);
	dump_sqe();
	dump_rings();
	dump_registration();
	dump_reach();
	dump_other();
	dump_opcodes();
	dump_flags();
	dump_register_opcodes();
	return ferror(stdout) ? 1 : 0;
}
