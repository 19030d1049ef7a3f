/*
 * seccomp_deny: runs a program with io_uring denied by a seccomp filter, the way container runtimes' default
 * profiles deny it. Used by the tests to check that IoUring reports BlockedBySeccomp; also handy by hand:
 *
 *   seccomp_deny [--errno EPERM|ENOSYS] [--sysctl 1|2] -- prog args...
 *
 * The filter makes io_uring_setup, io_uring_enter and io_uring_register fail with the chosen errno (EPERM by
 * default, like Docker's profile; ENOSYS is what some other profiles return) and allows every other system call.
 * It checks the audit architecture first: a system call made through another ABI (32-bit compat, or x32 on
 * x86_64) kills the process, so the filter cannot be bypassed by switching ABI.
 *
 * --sysctl N imitates kernel.io_uring_disabled = N instead of a container profile: in a private mount namespace
 * (this process and its children only; the machine's sysctl is untouched) a file holding N is bind-mounted over
 * /proc/sys/kernel/io_uring_disabled, and io_uring_setup fails with EPERM, which is what the kernel returns then.
 * A program sees both signals the real sysctl gives. It needs CAP_SYS_ADMIN (root) for the mount namespace.
 *
 * Only raw prctl(2) is used, no libseccomp. PR_SET_NO_NEW_PRIVS lets an unprivileged process install the filter.
 * The filter is inherited across execvp(3) and by every child of the program.
 *
 * Build: gcc -O2 -Wall -Wextra -Werror -o seccomp_deny seccomp_deny.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <sys/mount.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#if defined(__x86_64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_AARCH64
#elif defined(__riscv) && __riscv_xlen == 64
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_RISCV64
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_PPC64LE
#elif defined(__s390x__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_S390X
#else
#error "seccomp_deny: add this architecture's AUDIT_ARCH_* value"
#endif

#ifndef __NR_io_uring_setup
/* asm-generic numbers, shared by every architecture since 5.1 */
#define __NR_io_uring_setup 425
#define __NR_io_uring_enter 426
#define __NR_io_uring_register 427
#endif

/* x86_64's x32 ABI sets this bit in the syscall number; those calls never come from a 64-bit .NET process. */
#define X32_SYSCALL_BIT 0x40000000U

#define SYSCTL_PATH "/proc/sys/kernel/io_uring_disabled"

static void usage(void)
{
	fprintf(stderr, "usage: seccomp_deny [--errno EPERM|ENOSYS] [--sysctl 1|2] -- prog args...\n"
			"  Runs prog with io_uring_setup/io_uring_enter/io_uring_register failing with the errno\n"
			"  (default EPERM), as under a container's default seccomp profile.\n"
			"  --sysctl N: also show prog kernel.io_uring_disabled = N (private mount namespace, root only),\n"
			"  so that it sees what the real sysctl does: EPERM from io_uring_setup and N in " SYSCTL_PATH ".\n");
}

/* Shows this process and its children SYSCTL_PATH holding `value`, without touching the machine's sysctl. */
static int fake_sysctl(const char *value)
{
	char path[] = "/tmp/seccomp_deny_sysctl_XXXXXX";
	int fd;
	size_t len = strlen(value);

	if (unshare(CLONE_NEWNS) != 0) {
		perror("seccomp_deny: unshare(CLONE_NEWNS) (--sysctl needs CAP_SYS_ADMIN)");
		return -1;
	}
	/* Nothing mounted below may propagate back to the parent namespace. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
		perror("seccomp_deny: making mounts private");
		return -1;
	}
	fd = mkstemp(path);
	if (fd < 0) {
		perror("seccomp_deny: mkstemp");
		return -1;
	}
	if (write(fd, value, len) != (ssize_t)len || write(fd, "\n", 1) != 1) {
		perror("seccomp_deny: writing the sysctl value");
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	if (mount(path, SYSCTL_PATH, NULL, MS_BIND, NULL) != 0) {
		fprintf(stderr, "seccomp_deny: bind-mounting over " SYSCTL_PATH " failed: %s (the sysctl exists from Linux 6.6)\n",
			strerror(errno));
		unlink(path);
		return -1;
	}
	/* The mount keeps the file's inode alive; its name is not needed any more. */
	unlink(path);
	return 0;
}

static int install_filter(unsigned int err)
{
	struct sock_filter filter[] = {
		/* Wrong ABI: kill, so nothing slips through a compat entry point. */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
#if defined(__x86_64__)
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
#endif
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_enter, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_register, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA)),
	};
	struct sock_fprog prog = {
		.len = (unsigned short)(sizeof(filter) / sizeof(filter[0])),
		.filter = filter,
	};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		perror("seccomp_deny: prctl(PR_SET_NO_NEW_PRIVS)");
		return -1;
	}
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0) {
		perror("seccomp_deny: prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER)");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int err = EPERM;
	const char *sysctl = NULL;
	int i = 1;

	for (; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strcmp(argv[i], "--errno") == 0 && i + 1 < argc) {
			const char *name = argv[++i];
			if (strcmp(name, "EPERM") == 0) {
				err = EPERM;
			} else if (strcmp(name, "ENOSYS") == 0) {
				err = ENOSYS;
			} else {
				fprintf(stderr, "seccomp_deny: unsupported errno '%s'\n", name);
				usage();
				return 125;
			}
			continue;
		}
		if (strcmp(argv[i], "--sysctl") == 0 && i + 1 < argc) {
			sysctl = argv[++i];
			if (strcmp(sysctl, "1") != 0 && strcmp(sysctl, "2") != 0) {
				fprintf(stderr, "seccomp_deny: --sysctl takes 1 or 2, not '%s'\n", sysctl);
				usage();
				return 125;
			}
			continue;
		}
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage();
			return 0;
		}
		fprintf(stderr, "seccomp_deny: unexpected argument '%s'\n", argv[i]);
		usage();
		return 125;
	}
	if (i >= argc) {
		usage();
		return 125;
	}

	/* The kernel answers EPERM when the sysctl disables io_uring. */
	if (sysctl != NULL && (err = EPERM, fake_sysctl(sysctl) != 0))
		return 125;
	if (install_filter(err) != 0)
		return 125;

	execvp(argv[i], &argv[i]);
	fprintf(stderr, "seccomp_deny: cannot run '%s': %s\n", argv[i], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
