using System.Runtime.InteropServices;

namespace IoUring.Interop;

/// <summary>The C-library calls the library needs besides io_uring's own: memory maps, descriptors, eventfd.</summary>
internal static unsafe partial class Libc
{
    private const string Lib = "libc";

    public const int PROT_READ = 0x1;
    public const int PROT_WRITE = 0x2;
    public const int MAP_SHARED = 0x01;
    public const int MAP_PRIVATE = 0x02;
    public const int MAP_ANONYMOUS = 0x20;
    public const int MAP_POPULATE = 0x8000;
    public const int EFD_CLOEXEC = 0x80000;
    public const int EFD_NONBLOCK = 0x800;
    public const int O_CLOEXEC = 0x80000;
    public const int O_NONBLOCK = 0x800;

    [LibraryImport(Lib, EntryPoint = "mmap", SetLastError = true)]
    private static partial nint MmapRaw(nint addr, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport(Lib, EntryPoint = "munmap", SetLastError = true)]
    private static partial int MunmapRaw(nint addr, nuint length);

    [LibraryImport(Lib, EntryPoint = "close", SetLastError = true)]
    private static partial int CloseRaw(int fd);

    [LibraryImport(Lib, EntryPoint = "open", SetLastError = true)]
    private static partial int OpenRaw(byte* path, int flags);

    [LibraryImport(Lib, EntryPoint = "eventfd", SetLastError = true)]
    private static partial int EventFdRaw(uint initval, int flags);

    [LibraryImport(Lib, EntryPoint = "pipe2", SetLastError = true)]
    private static partial int Pipe2Raw(int* fds, int flags);

    [LibraryImport(Lib, EntryPoint = "read", SetLastError = true)]
    private static partial nint ReadRaw(int fd, void* buf, nuint count);

    [LibraryImport(Lib, EntryPoint = "write", SetLastError = true)]
    private static partial nint WriteRaw(int fd, void* buf, nuint count);

    [LibraryImport(Lib, EntryPoint = "posix_fadvise")]
    private static partial int PosixFadviseRaw(int fd, long offset, long len, int advice);

    [LibraryImport(Lib, EntryPoint = "pread", SetLastError = true)]
    private static partial nint PReadRaw(int fd, void* buf, nuint count, long offset);

    [LibraryImport(Lib, EntryPoint = "preadv2", SetLastError = true)]
    private static partial nint PReadV2Raw(int fd, IoVec* iov, int iovcnt, long offset, int flags);

    [LibraryImport(Lib, EntryPoint = "fcntl", SetLastError = true)]
    private static partial int FcntlRaw(int fd, int cmd, nint arg);

    [LibraryImport(Lib, EntryPoint = "getrusage", SetLastError = true)]
    private static partial int GetRUsageRaw(int who, RUsage* usage);

    [LibraryImport(Lib, EntryPoint = "syscall", SetLastError = true)]
    private static partial long SyscallCachestat(long number, nint fd, CachestatRange* range, CachestatResult* result, nint flags);

    [LibraryImport(Lib, EntryPoint = "shutdown", SetLastError = true)]
    private static partial int ShutdownRaw(int fd, int how);

    [LibraryImport(Lib, EntryPoint = "setsockopt", SetLastError = true)]
    private static partial int SetSockOptRaw(int fd, int level, int name, void* value, uint length);

    [LibraryImport(Lib, EntryPoint = "socket", SetLastError = true)]
    private static partial int SocketRaw(int domain, int type, int protocol);

    [LibraryImport(Lib, EntryPoint = "bind", SetLastError = true)]
    private static partial int BindRaw(int fd, byte* address, uint length);

    [LibraryImport(Lib, EntryPoint = "listen", SetLastError = true)]
    private static partial int ListenRaw(int fd, int backlog);

    [LibraryImport(Lib, EntryPoint = "getsockname", SetLastError = true)]
    private static partial int GetSockNameRaw(int fd, byte* address, uint* length);

    [LibraryImport(Lib, EntryPoint = "getpeername", SetLastError = true)]
    private static partial int GetPeerNameRaw(int fd, byte* address, uint* length);

    [LibraryImport(Lib, EntryPoint = "epoll_create1", SetLastError = true)]
    private static partial int EpollCreate1Raw(int flags);

    [LibraryImport(Lib, EntryPoint = "posix_spawn")]
    private static partial int PosixSpawnRaw(int* pid, byte* path, nint fileActions, nint attributes, byte** argv, byte** envp);

    [LibraryImport(Lib, EntryPoint = "getpagesize")]
    private static partial int GetPageSizeRaw();

    // SAFETY: gettid and tgkill take and return integers only; no memory is shared with the callee.
    [LibraryImport(Lib, EntryPoint = "gettid")]
    private static partial int GetTidRaw();

    [LibraryImport(Lib, EntryPoint = "tgkill", SetLastError = true)]
    private static partial int TgKillRaw(int tgid, int tid, int sig);

    /// <summary>Maps <paramref name="length"/> bytes; returns the address or <c>-errno</c> as a negative value in <paramref name="errno"/>.</summary>
    public static nint Mmap(nuint length, int prot, int flags, int fd, long offset, out int errno)
    {
        nint p = MmapRaw(0, length, prot, flags, fd, offset);
        errno = p == -1 ? Marshal.GetLastPInvokeError() : 0;
        return p == -1 ? 0 : p;
    }

    public static int Munmap(nint addr, nuint length) => MunmapRaw(addr, length) < 0 ? -Marshal.GetLastPInvokeError() : 0;

    public static int Close(int fd) => CloseRaw(fd) < 0 ? -Marshal.GetLastPInvokeError() : 0;

    public static int EventFd(uint initval, int flags)
    {
        int fd = EventFdRaw(initval, flags);
        return fd < 0 ? -Marshal.GetLastPInvokeError() : fd;
    }

    public static int Pipe2(out int readFd, out int writeFd, int flags)
    {
        int* fds = stackalloc int[2];
        // SAFETY: fds points to two ints on this stack frame, which pipe2 fills before returning.
        int r = Pipe2Raw(fds, flags);
        readFd = fds[0];
        writeFd = fds[1];
        return r < 0 ? -Marshal.GetLastPInvokeError() : 0;
    }

    /// <summary>Reads an eventfd's 8-byte counter; returns the counter or <c>-errno</c>.</summary>
    public static long EventFdRead(int fd)
    {
        ulong value = 0;
        // SAFETY: value is a local of exactly the 8 bytes eventfd writes; the call is synchronous.
        nint n = ReadRaw(fd, &value, sizeof(ulong));
        return n < 0 ? -Marshal.GetLastPInvokeError() : (long)value;
    }

    /// <summary>Adds to an eventfd's counter; returns 0 or <c>-errno</c>.</summary>
    public static int EventFdWrite(int fd, ulong value)
    {
        // SAFETY: value is a local of exactly the 8 bytes eventfd reads; the call is synchronous.
        nint n = WriteRaw(fd, &value, sizeof(ulong));
        return n < 0 ? -Marshal.GetLastPInvokeError() : 0;
    }

    /// <summary>Blocking <c>read(2)</c> into a span; returns bytes read or <c>-errno</c>.</summary>
    public static long Read(int fd, Span<byte> buffer)
    {
        // SAFETY: the span is pinned by fixed for the duration of the synchronous call and its length bounds the read.
        fixed (byte* p = buffer)
        {
            nint n = ReadRaw(fd, p, (nuint)buffer.Length);
            return n < 0 ? -Marshal.GetLastPInvokeError() : n;
        }
    }

    /// <summary>Blocking <c>write(2)</c> of a span; returns bytes written or <c>-errno</c>.</summary>
    public static long Write(int fd, ReadOnlySpan<byte> buffer)
    {
        // SAFETY: the span is pinned by fixed for the duration of the synchronous call and its length bounds the write.
        fixed (byte* p = buffer)
        {
            nint n = WriteRaw(fd, p, (nuint)buffer.Length);
            return n < 0 ? -Marshal.GetLastPInvokeError() : n;
        }
    }

    /// <summary><c>posix_fadvise</c>; returns 0 or a positive errno (its own convention).</summary>
    public static int PosixFadvise(int fd, long offset, long length, int advice) => PosixFadviseRaw(fd, offset, length, advice);

    /// <summary>The calling thread's kernel thread id (<c>gettid(2)</c>, glibc 2.30+).</summary>
    public static int GetTid() => GetTidRaw();

    /// <summary>
    /// Sends <paramref name="signal"/> to one thread (<c>tgkill(2)</c>, glibc 2.30+); returns 0 or <c>-errno</c>.
    /// Tests use it to interrupt a thread blocked in <c>io_uring_enter</c>. No memory is passed, so nothing to keep alive.
    /// </summary>
    public static int TgKill(int processId, int threadId, int signal) =>
        TgKillRaw(processId, threadId, signal) < 0 ? -Marshal.GetLastPInvokeError() : 0;

    /// <summary>Sends <paramref name="signal"/> to thread <paramref name="tid"/> of this process; returns 0 or <c>-errno</c>.</summary>
    public static int TgKill(int tid, int signal) => TgKill(Environment.ProcessId, tid, signal);

    /// <summary>Blocking <c>pread(2)</c> into a span at <paramref name="offset"/>; returns bytes read or <c>-errno</c>.</summary>
    public static long PRead(int fd, Span<byte> buffer, long offset)
    {
        // SAFETY: the span is pinned by fixed for the duration of the synchronous call and its length bounds the read.
        fixed (byte* p = buffer)
        {
            nint n = PReadRaw(fd, p, (nuint)buffer.Length, offset);
            return n < 0 ? -Marshal.GetLastPInvokeError() : n;
        }
    }

    /// <summary><c>F_GETFL</c>: the open file's status flags (<c>O_DIRECT</c>, <c>O_NONBLOCK</c>, the access mode).</summary>
    public const int F_GETFL = 3;

    /// <summary><c>F_SETFL</c>: sets the status flags Linux lets change on an open file (<c>O_APPEND</c>, <c>O_DIRECT</c>, <c>O_NOATIME</c>, <c>O_NONBLOCK</c>, <c>O_ASYNC</c>).</summary>
    public const int F_SETFL = 4;

    /// <summary><c>RWF_NOWAIT</c> (4.14 for reads): fail with <c>-EAGAIN</c> rather than wait for I/O.</summary>
    public const int RWF_NOWAIT = 0x8;

    /// <summary>
    /// <c>preadv2(fd, {buffer}, 1, offset, RWF_NOWAIT)</c>: copies what the page cache already holds from
    /// <paramref name="offset"/> without waiting for the device. Returns the bytes read (fewer than asked when only part
    /// is cached or the file ends; 0 at or past the end), or <c>-errno</c>: <c>-EAGAIN</c> when nothing is cached (the
    /// kernel starts its read-ahead there), <c>-EOPNOTSUPP</c> where the file type has no non-blocking read.
    /// Never use it on an <c>O_DIRECT</c> descriptor: there the read goes to the device and waits for it.
    /// </summary>
    public static long PReadNoWait(int fd, Span<byte> buffer, long offset)
    {
        // SAFETY: the span is pinned by fixed for the duration of the synchronous call; the one iovec lives on this
        // stack frame and describes exactly the span, so the kernel writes nowhere else.
        fixed (byte* p = buffer)
        {
            var iov = new IoVec((nint)p, (nuint)buffer.Length);
            nint n = PReadV2Raw(fd, &iov, 1, offset, RWF_NOWAIT);
            return n < 0 ? -Marshal.GetLastPInvokeError() : n;
        }
    }

    /// <summary><c>fcntl(fd, F_GETFL)</c>: the descriptor's status flags, or <c>-errno</c>.</summary>
    public static int GetStatusFlags(int fd)
    {
        // SAFETY: F_GETFL reads no argument; the third one is a zero the kernel ignores.
        int flags = FcntlRaw(fd, F_GETFL, 0);
        return flags < 0 ? -Marshal.GetLastPInvokeError() : flags;
    }

    /// <summary><c>fcntl(fd, F_SETFL, flags)</c>: 0, or <c>-errno</c> (<c>-EINVAL</c> for <c>O_DIRECT</c> on a file system without direct I/O).</summary>
    public static int SetStatusFlags(int fd, int flags)
    {
        // SAFETY: F_SETFL takes the flags by value; no memory is passed.
        int r = FcntlRaw(fd, F_SETFL, flags);
        return r < 0 ? -Marshal.GetLastPInvokeError() : 0;
    }

    /// <summary>
    /// Reads up to <paramref name="buffer"/>'s length from the start of the file at <paramref name="nulTerminatedPath"/>
    /// (<c>open(O_RDONLY | O_CLOEXEC)</c>, <c>read</c>, <c>close</c>), allocating nothing; for small <c>/proc</c> files.
    /// Returns the bytes read or <c>-errno</c>.
    /// </summary>
    public static long ReadSmallFile(ReadOnlySpan<byte> nulTerminatedPath, Span<byte> buffer)
    {
        if (nulTerminatedPath.IsEmpty || nulTerminatedPath[^1] != 0)
        {
            return -Errno.EINVAL;
        }

        int fd;
        // SAFETY: the path is pinned by fixed for the synchronous open, and ends with the NUL the kernel reads up to.
        fixed (byte* p = nulTerminatedPath)
        {
            fd = OpenRaw(p, O_CLOEXEC);
        }

        if (fd < 0)
        {
            return -Marshal.GetLastPInvokeError();
        }

        long n = Read(fd, buffer);
        _ = Close(fd);
        return n;
    }

    public const int RUSAGE_SELF = 0;
    public const int RUSAGE_THREAD = 1;

    /// <summary><c>getrusage(who)</c>; returns 0 or <c>-errno</c>.</summary>
    public static int GetRUsage(int who, out RUsage usage)
    {
        RUsage u = default;
        // SAFETY: u is a local laid out as the 64-bit struct rusage (144 bytes), which getrusage fills before returning.
        int r = GetRUsageRaw(who, &u);
        usage = u;
        return r < 0 ? -Marshal.GetLastPInvokeError() : 0;
    }

    // cachestat(2) (Linux 6.5): the same number on every architecture (asm-generic table, after the unification).
    private const long SysCachestat = 451;

    /// <summary>
    /// <c>cachestat(fd, {offset, length}, &amp;result, 0)</c>: how many pages of the range are in the page cache.
    /// Returns 0 or <c>-errno</c> (<c>ENOSYS</c> before Linux 6.5). A length of 0 means to the end of the file.
    /// </summary>
    public static int Cachestat(int fd, ulong offset, ulong length, out CachestatResult result)
    {
        CachestatRange range = new() { Offset = offset, Length = length };
        CachestatResult r = default;
        // SAFETY: range and r are locals with the kernel's struct cachestat_range / struct cachestat layouts; the
        // kernel copies the range in and the result out during the synchronous call.
        long ret = SyscallCachestat(SysCachestat, fd, &range, &r, 0);
        result = r;
        return ret < 0 ? -Marshal.GetLastPInvokeError() : 0;
    }

    public const int SHUT_RD = 0;
    public const int SHUT_WR = 1;
    public const int SHUT_RDWR = 2;
    public const int SOL_SOCKET = 1;
    public const int IPPROTO_TCP = 6;
    public const int TCP_NODELAY = 1;

    /// <summary><c>shutdown(fd, how)</c>; returns 0 or <c>-errno</c>. Integers only: nothing to keep alive.</summary>
    public static int Shutdown(int fd, int how) => ShutdownRaw(fd, how) < 0 ? -Marshal.GetLastPInvokeError() : 0;

    /// <summary><c>setsockopt(fd, level, name, &amp;value, 4)</c> for an int option; returns 0 or <c>-errno</c>.</summary>
    public static int SetSockOptInt(int fd, int level, int name, int value)
    {
        // SAFETY: value is a local int; the kernel copies the 4 bytes during the synchronous call.
        int r = SetSockOptRaw(fd, level, name, &value, sizeof(int));
        return r < 0 ? -Marshal.GetLastPInvokeError() : 0;
    }

    public const int AF_UNIX = 1;
    public const int AF_INET = 2;
    public const int AF_INET6 = 10;
    public const int SOCK_STREAM = 1;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int SO_REUSEADDR = 2;
    public const int IPPROTO_IPV6 = 41;
    public const int IPV6_V6ONLY = 26;

    public const int SO_LINGER = 13;

    /// <summary><c>SO_LINGER</c> on with a 0 s timeout: the next <c>close</c> resets the connection (RST) instead of a FIN.</summary>
    public static int SetLingerZero(int fd)
    {
        long linger = 1; // struct linger { int l_onoff = 1; int l_linger = 0; } on a little-endian machine.
        // SAFETY: linger is a local 8-byte value laid out as struct linger; the kernel copies it during the call.
        int r = SetSockOptRaw(fd, SOL_SOCKET, SO_LINGER, &linger, sizeof(long));
        return r < 0 ? -Marshal.GetLastPInvokeError() : 0;
    }

    /// <summary><c>socket(domain, type, protocol)</c>; returns the descriptor or <c>-errno</c>.</summary>
    public static int Socket(int domain, int type, int protocol)
    {
        int fd = SocketRaw(domain, type, protocol);
        return fd < 0 ? -Marshal.GetLastPInvokeError() : fd;
    }

    /// <summary><c>bind(fd, address, length)</c> with a native sockaddr; returns 0 or <c>-errno</c>.</summary>
    public static int Bind(int fd, ReadOnlySpan<byte> address)
    {
        // SAFETY: the span is pinned by fixed for the synchronous call and its length is passed as the address length.
        fixed (byte* p = address)
        {
            return BindRaw(fd, p, (uint)address.Length) < 0 ? -Marshal.GetLastPInvokeError() : 0;
        }
    }

    /// <summary><c>listen(fd, backlog)</c>; returns 0 or <c>-errno</c>. Integers only.</summary>
    public static int Listen(int fd, int backlog) => ListenRaw(fd, backlog) < 0 ? -Marshal.GetLastPInvokeError() : 0;

    /// <summary>
    /// <c>getsockname</c> (<paramref name="peer"/> false) or <c>getpeername</c> (true) into <paramref name="address"/>;
    /// returns the address length (which may exceed the span, then the address is truncated) or <c>-errno</c>.
    /// </summary>
    public static int GetSocketAddress(int fd, bool peer, Span<byte> address)
    {
        uint length = (uint)address.Length;
        // SAFETY: the span is pinned by fixed for the synchronous call; length tells the kernel its size, so it
        // writes at most that many bytes, and reports the full size back in length.
        fixed (byte* p = address)
        {
            int r = peer ? GetPeerNameRaw(fd, p, &length) : GetSockNameRaw(fd, p, &length);
            return r < 0 ? -Marshal.GetLastPInvokeError() : (int)length;
        }
    }

    public const int POSIX_FADV_DONTNEED = 4;
    public const int POSIX_FADV_RANDOM = 1;
    public const int POSIX_FADV_WILLNEED = 3;

    public static int PageSize { get; } = GetPageSizeRaw();

    /// <summary><c>epoll_create1(EPOLL_CLOEXEC)</c>: an epoll instance for <see cref="Opcode.EpollCtl"/>/<see cref="Opcode.EpollWait"/>, or <c>-errno</c>.</summary>
    public static int EpollCreate() => EpollCreate1Raw(O_CLOEXEC) is int fd and >= 0 ? fd : -Marshal.GetLastPInvokeError();

    /// <summary>
    /// <c>posix_spawn</c> of <paramref name="path"/> with <paramref name="args"/> (argv[0] included) and an empty
    /// environment: a child the .NET runtime does not know, so it never reaps it behind a <c>waitid</c>. Returns the pid or <c>-errno</c>.
    /// </summary>
    public static int Spawn(string path, string[] args)
    {
        var strings = new nint[args.Length + 1];
        try
        {
            nint file = Marshal.StringToCoTaskMemUTF8(path);
            try
            {
                for (int i = 0; i < args.Length; i++)
                {
                    strings[i] = Marshal.StringToCoTaskMemUTF8(args[i]);
                }

                byte** argv = stackalloc byte*[args.Length + 1];
                for (int i = 0; i < args.Length; i++)
                {
                    argv[i] = (byte*)strings[i];
                }

                argv[args.Length] = null;
                byte** envp = stackalloc byte*[1];
                envp[0] = null;
                int pid;
                // SAFETY: path, argv and envp are NUL-terminated arrays of NUL-terminated strings that live until
                // posix_spawn returns (it copies them into the child); pid is a local it writes.
                int r = PosixSpawnRaw(&pid, (byte*)file, 0, 0, argv, envp);
                return r == 0 ? pid : -r;
            }
            finally
            {
                Marshal.FreeCoTaskMem(file);
            }
        }
        finally
        {
            foreach (nint str in strings)
            {
                Marshal.FreeCoTaskMem(str);
            }
        }
    }
}
