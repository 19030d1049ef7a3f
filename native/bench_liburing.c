// bench_liburing: the C twin of the managed ring contenders in benchmarks/IoUring.Benchmarks (compare runner).
//
// Same scenarios (nop, hot, cold), same queue depths, same file, same random offsets (splitmix64, uniform over
// 4 KiB pages, same seed), same loop shape: keep QD requests in flight, one io_uring_submit_and_wait(1) per
// batch, reap every ready CQE with io_uring_for_each_cqe + io_uring_cq_advance, refill. Prints one JSON line.
//
// Build: gcc -O2 -Wall -Wextra -o native/build/bench_liburing native/bench_liburing.c -luring
// Run:   bench_liburing --scenario hot --qd 32 --file /tmp/data --seconds 3 --warmup 0.5 [--registered]
//                       [--evict-every 4096] [--seed 12345]
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 4096u
#define TIME_CHECK_EVERY 256u

#ifndef __NR_cachestat
#define __NR_cachestat 451
#endif

struct cs_range { uint64_t off, len; };
struct cs_stat { uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted; };

static uint64_t rng_state;

// splitmix64: the same generator and seed as the managed runner, so both read the same pages.
static inline uint64_t next_rand(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, int err)
{
    fprintf(stderr, "bench_liburing: %s: %s\n", what, strerror(err));
    exit(1);
}

// Pages of the file in the page cache, or -1 when cachestat(2) is unavailable (Linux < 6.5).
static long long resident_pages(int fd)
{
    struct cs_range r = { 0, 0 };
    struct cs_stat s;
    if (syscall(__NR_cachestat, fd, &r, &s, 0) != 0)
        return -1;
    return (long long)s.nr_cache;
}

struct state {
    struct io_uring ring;
    int fd;
    int nop;
    int registered;
    unsigned qd;
    uint64_t pages;
    void **bufs;
    uint64_t ops;
    uint64_t enters;
    // cold: re-evict every evict_every completions; misses = pages that became resident.
    uint64_t evict_every;
    uint64_t next_evict;
    long long resident_base;
    long long misses;
    int have_cachestat;
};

static inline void prep_one(struct state *st, unsigned slot)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&st->ring);
    if (!sqe)
        die("io_uring_get_sqe", EBUSY);
    if (st->nop) {
        io_uring_prep_nop(sqe);
    } else {
        uint64_t off = (next_rand() % st->pages) * BLOCK;
        if (st->registered) {
            io_uring_prep_read_fixed(sqe, 0, st->bufs[slot], BLOCK, off, (int)slot);
            sqe->flags |= IOSQE_FIXED_FILE;
        } else {
            io_uring_prep_read(sqe, st->fd, st->bufs[slot], BLOCK, off);
        }
    }
    sqe->user_data = slot;
}

static void evict(struct state *st)
{
    if (st->have_cachestat) {
        long long before = resident_pages(st->fd);
        st->misses += before - st->resident_base;
    }
    posix_fadvise(st->fd, 0, 0, POSIX_FADV_DONTNEED);
    if (st->have_cachestat)
        st->resident_base = resident_pages(st->fd);
}

// Runs the loop until deadline; the ring stays full (QD in flight) across calls.
static void run_until(struct state *st, uint64_t deadline)
{
    uint64_t next_check = st->ops + TIME_CHECK_EVERY;
    for (;;) {
        int ret = io_uring_submit_and_wait(&st->ring, 1);
        st->enters++;
        if (ret < 0 && ret != -EINTR)
            die("io_uring_submit_and_wait", -ret);
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&st->ring, head, cqe) {
            int expect = st->nop ? 0 : (int)BLOCK;
            if (cqe->res != expect) {
                fprintf(stderr, "bench_liburing: completion res %d, expected %d\n", cqe->res, expect);
                exit(1);
            }
            prep_one(st, (unsigned)cqe->user_data);
            seen++;
        }
        io_uring_cq_advance(&st->ring, seen);
        st->ops += seen;
        if (st->evict_every && st->ops >= st->next_evict) {
            evict(st);
            st->next_evict = st->ops + st->evict_every;
        }
        if (st->ops >= next_check) {
            next_check = st->ops + TIME_CHECK_EVERY;
            if (now_ns() >= deadline)
                return;
        }
    }
}

static unsigned next_pow2(unsigned v)
{
    unsigned p = 1;
    while (p < v)
        p <<= 1;
    return p;
}

int main(int argc, char **argv)
{
    const char *scenario = "nop", *file = NULL;
    unsigned qd = 32;
    double seconds = 3, warmup = 0.5;
    int registered = 0;
    uint64_t evict_every = 4096, seed = 12345;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--registered")) { registered = 1; continue; }
        if (!v) { fprintf(stderr, "bench_liburing: %s needs a value\n", a); return 2; }
        if (!strcmp(a, "--scenario")) scenario = v;
        else if (!strcmp(a, "--qd")) qd = (unsigned)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--file")) file = v;
        else if (!strcmp(a, "--seconds")) seconds = strtod(v, NULL);
        else if (!strcmp(a, "--warmup")) warmup = strtod(v, NULL);
        else if (!strcmp(a, "--evict-every")) evict_every = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--seed")) seed = strtoull(v, NULL, 10);
        else { fprintf(stderr, "bench_liburing: unknown option %s\n", a); return 2; }
        i++;
    }
    if (qd == 0 || qd > 4096) { fprintf(stderr, "bench_liburing: --qd must be 1..4096\n"); return 2; }

    struct state st;
    memset(&st, 0, sizeof st);
    st.qd = qd;
    st.nop = !strcmp(scenario, "nop");
    int cold = !strcmp(scenario, "cold");
    if (!st.nop && strcmp(scenario, "hot") && !cold) { fprintf(stderr, "bench_liburing: unknown scenario %s\n", scenario); return 2; }
    st.registered = registered && !st.nop;
    st.fd = -1;
    rng_state = seed;

    if (!st.nop) {
        if (!file) { fprintf(stderr, "bench_liburing: --file is required for %s\n", scenario); return 2; }
        st.fd = open(file, O_RDONLY | O_CLOEXEC);
        if (st.fd < 0) die("open", errno);
        struct stat sb;
        if (fstat(st.fd, &sb) != 0) die("fstat", errno);
        st.pages = (uint64_t)sb.st_size / BLOCK;
        if (st.pages == 0) { fprintf(stderr, "bench_liburing: file too small\n"); return 2; }
        // Random access: no readahead, so each miss reads exactly the 4 KiB asked for (the managed runner does the same).
        posix_fadvise(st.fd, 0, 0, POSIX_FADV_RANDOM);
        st.bufs = calloc(qd, sizeof(void *));
        for (unsigned i = 0; i < qd; i++)
            if (posix_memalign(&st.bufs[i], BLOCK, BLOCK) != 0) die("posix_memalign", ENOMEM);
    }

    int ret = io_uring_queue_init(next_pow2(qd), &st.ring, 0);
    if (ret < 0) die("io_uring_queue_init", -ret);
    // The managed Ring registers its fd by default (RingOptions.RegisterRingFd); do the same.
    if (io_uring_register_ring_fd(&st.ring) < 0)
        fprintf(stderr, "bench_liburing: io_uring_register_ring_fd failed; continuing unregistered\n");
    if (st.registered) {
        struct iovec *iov = calloc(qd, sizeof *iov);
        for (unsigned i = 0; i < qd; i++) { iov[i].iov_base = st.bufs[i]; iov[i].iov_len = BLOCK; }
        if ((ret = io_uring_register_buffers(&st.ring, iov, qd)) < 0) die("io_uring_register_buffers", -ret);
        if ((ret = io_uring_register_files(&st.ring, &st.fd, 1)) < 0) die("io_uring_register_files", -ret);
        free(iov);
    }

    if (cold) {
        st.have_cachestat = resident_pages(st.fd) >= 0;
        st.evict_every = evict_every;
        posix_fadvise(st.fd, 0, 0, POSIX_FADV_DONTNEED);
    }

    for (unsigned i = 0; i < qd; i++)
        prep_one(&st, i);

    // Warm-up: same loop, not measured.
    run_until(&st, now_ns() + (uint64_t)(warmup * 1e9));

    // Measured phase.
    if (cold) {
        posix_fadvise(st.fd, 0, 0, POSIX_FADV_DONTNEED);
        st.misses = 0;
        st.resident_base = st.have_cachestat ? resident_pages(st.fd) : 0;
        st.next_evict = st.ops + st.evict_every;
    }
    uint64_t ops0 = st.ops, enters0 = st.enters;
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    uint64_t t0 = now_ns();
    run_until(&st, t0 + (uint64_t)(seconds * 1e9));
    uint64_t t1 = now_ns();
    getrusage(RUSAGE_SELF, &r1);
    if (cold && st.have_cachestat)
        st.misses += resident_pages(st.fd) - st.resident_base;

    long long utime = (r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) * 1000000LL + (r1.ru_utime.tv_usec - r0.ru_utime.tv_usec);
    long long stime = (r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) * 1000000LL + (r1.ru_stime.tv_usec - r0.ru_stime.tv_usec);
    printf("{\"ops\":%llu,\"elapsed_ns\":%llu,\"utime_us\":%lld,\"stime_us\":%lld,\"nvcsw\":%ld,\"nivcsw\":%ld,"
           "\"enters\":%llu,\"misses\":%lld,\"threads\":1}\n",
           (unsigned long long)(st.ops - ops0), (unsigned long long)(t1 - t0), utime, stime,
           r1.ru_nvcsw - r0.ru_nvcsw, r1.ru_nivcsw - r0.ru_nivcsw,
           (unsigned long long)(st.enters - enters0), cold && st.have_cachestat ? st.misses : -1LL);
    fflush(stdout);
    // Exiting tears the ring down; the kernel cancels or finishes what is still in flight.
    return 0;
}
