namespace IoUring.Interop;

/// <summary>
/// Typed <c>io_uring_register(2)</c> calls: each builds the kernel's argument struct on its stack and passes spans
/// pinned for the duration of the call. Results follow the kernel convention (value or <c>-errno</c>).
/// </summary>
internal static unsafe class RegisterCalls
{
    public static int Simple(int fd, RegisterOpcode op) => Syscalls.Register(fd, op, null, 0);

    public static int Raw(int fd, RegisterOpcode op, nint argument, uint count)
    {
        // SAFETY: Ring.RegisterRaw is documented as raw: its caller owns the argument's memory and layout for the call.
        return Syscalls.Register(fd, op, (void*)argument, count);
    }

    public static int Buffers(int fd, ReadOnlySpan<IoVec> iovecs)
    {
        // SAFETY: the iovec array is pinned for the synchronous call; the kernel copies it and pins the pages it names.
        fixed (IoVec* p = iovecs)
        {
            return Syscalls.Register(fd, RegisterOpcode.RegisterBuffers, p, (uint)iovecs.Length);
        }
    }

    public static int Files(int fd, ReadOnlySpan<int> fds)
    {
        // SAFETY: the fd array is pinned for the synchronous call; the kernel copies it.
        fixed (int* p = fds)
        {
            return Syscalls.Register(fd, RegisterOpcode.RegisterFiles, p, (uint)fds.Length);
        }
    }

    public static int FilesSparse(int fd, uint count)
    {
        RsrcRegister reg = default;
        reg.Nr = count;
        reg.Flags = RsrcRegister.FlagSparse;
        // SAFETY: reg is a local the kernel copies during the call.
        return Syscalls.Register(fd, RegisterOpcode.RegisterFiles2, &reg, (uint)sizeof(RsrcRegister));
    }

    public static int FilesUpdate(int fd, uint offset, ReadOnlySpan<int> fds)
    {
        // SAFETY: fds is pinned and upd is a local; both are read during the synchronous call.
        fixed (int* p = fds)
        {
            RsrcUpdate upd = default;
            upd.Offset = offset;
            upd.Data = (ulong)p;
            return Syscalls.Register(fd, RegisterOpcode.RegisterFilesUpdate, &upd, (uint)fds.Length);
        }
    }

    public static int EventFd(int fd, int eventFd, bool asyncOnly)
    {
        int efd = eventFd;
        // SAFETY: efd is a local the kernel reads during the call.
        return Syscalls.Register(fd, asyncOnly ? RegisterOpcode.RegisterEventFdAsync : RegisterOpcode.RegisterEventFd, &efd, 1);
    }

    /// <summary>Fills <paramref name="opFlags"/> (indexed by opcode) and returns <c>last_op</c>, or <c>-errno</c>.</summary>
    public static int Probe(int fd, Span<ushort> opFlags)
    {
        const int ops = 256;
        byte* buffer = stackalloc byte[sizeof(ProbeHeader) + (ops * sizeof(ProbeOp))];
        new Span<byte>(buffer, sizeof(ProbeHeader) + (ops * sizeof(ProbeOp))).Clear();
        // SAFETY: buffer is a zeroed stack block with room for the header and 256 ops, the count we pass.
        int r = Syscalls.Register(fd, RegisterOpcode.RegisterProbe, buffer, ops);
        if (r < 0)
        {
            return r;
        }

        var header = (ProbeHeader*)buffer;
        var entries = (ProbeOp*)(buffer + sizeof(ProbeHeader));
        int n = Math.Min(header->OpsLen, Math.Min(ops, opFlags.Length));
        for (int i = 0; i < n; i++)
        {
            opFlags[entries[i].Op] = entries[i].Flags;
        }

        return header->LastOp;
    }

    /// <summary>Registers the ring's own fd; returns the registered index or <c>-errno</c>.</summary>
    public static int RingFd(int fd)
    {
        RsrcUpdate upd = default;
        upd.Offset = uint.MaxValue; // let the kernel pick a slot
        upd.Data = (ulong)fd;
        // SAFETY: upd is a local the kernel reads and writes (the chosen offset) during the call.
        int r = Syscalls.Register(fd, RegisterOpcode.RegisterRingFds, &upd, 1);
        return r < 0 ? r : (int)upd.Offset;
    }

    public static int UnregisterRingFd(int fd, int index)
    {
        RsrcUpdate upd = default;
        upd.Offset = (uint)index;
        // SAFETY: upd is a local the kernel reads during the call.
        return Syscalls.Register(fd, RegisterOpcode.UnregisterRingFds, &upd, 1);
    }

    public static int PbufRing(int fd, nint ringAddr, uint entries, ushort groupId, ushort flags)
    {
        BufReg reg = default;
        reg.RingAddr = (ulong)ringAddr;
        reg.RingEntries = entries;
        reg.Bgid = groupId;
        reg.Flags = flags;
        // SAFETY: reg is a local the kernel copies; ringAddr is page-aligned memory the caller keeps until unregistering.
        return Syscalls.Register(fd, RegisterOpcode.RegisterPbufRing, &reg, 1);
    }

    public static int UnregisterPbufRing(int fd, ushort groupId)
    {
        BufReg reg = default;
        reg.Bgid = groupId;
        // SAFETY: reg is a local the kernel reads during the call.
        return Syscalls.Register(fd, RegisterOpcode.UnregisterPbufRing, &reg, 1);
    }

    public static int IoWqMaxWorkers(int fd, ref uint bounded, ref uint unbounded)
    {
        uint* values = stackalloc uint[2] { bounded, unbounded };
        // SAFETY: values is a 2-element stack array, the size the kernel reads and writes back.
        int r = Syscalls.Register(fd, RegisterOpcode.RegisterIoWqMaxWorkers, values, 2);
        bounded = values[0];
        unbounded = values[1];
        return r;
    }
}
