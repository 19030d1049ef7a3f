namespace IoUring.Interop;

/// <summary>
/// Typed <c>io_uring_register(2)</c> calls: each builds the kernel's argument struct on its stack and passes spans
/// pinned for the duration of the call. Results follow the kernel convention (value or <c>-errno</c>).
/// </summary>
internal static unsafe class RegisterCalls
{
    public static int Simple(RingHandle fd, RegisterOpcode op) => Syscalls.Register(fd.Value, fd.Op(op), null, 0);

    public static int Raw(RingHandle fd, RegisterOpcode op, nint argument, uint count)
    {
        // SAFETY: Ring.RegisterRaw is documented as raw: its caller owns the argument's memory and layout for the call.
        return Syscalls.Register(fd.Value, fd.Op(op), (void*)argument, count);
    }

    public static int Buffers(RingHandle fd, ReadOnlySpan<IoVec> iovecs)
    {
        // SAFETY: the iovec array is pinned for the synchronous call; the kernel copies it and pins the pages it names.
        fixed (IoVec* p = iovecs)
        {
            return Syscalls.Register(fd.Value, fd.Op(RegisterOpcode.RegisterBuffers), p, (uint)iovecs.Length);
        }
    }

    public static int Files(RingHandle fd, ReadOnlySpan<int> fds)
    {
        // SAFETY: the fd array is pinned for the synchronous call; the kernel copies it.
        fixed (int* p = fds)
        {
            return Syscalls.Register(fd.Value, fd.Op(RegisterOpcode.RegisterFiles), p, (uint)fds.Length);
        }
    }

    public static int FilesSparse(RingHandle fd, uint count)
    {
        RsrcRegister reg = default;
        reg.Nr = count;
        reg.Flags = RsrcRegister.FlagSparse;
        // SAFETY: reg is a local the kernel copies during the call.
        return Syscalls.Register(fd.Value, fd.Op(RegisterOpcode.RegisterFiles2), &reg, (uint)sizeof(RsrcRegister));
    }

    public static int FilesUpdate(RingHandle fd, uint offset, ReadOnlySpan<int> fds)
    {
        // SAFETY: fds is pinned and upd is a local; both are read during the synchronous call.
        fixed (int* p = fds)
        {
            RsrcUpdate upd = default;
            upd.Offset = offset;
            upd.Data = (ulong)p;
            return Syscalls.Register(fd.Value, fd.Op(RegisterOpcode.RegisterFilesUpdate), &upd, (uint)fds.Length);
        }
    }

    public static int EventFd(RingHandle fd, int eventFd, bool asyncOnly)
    {
        int efd = eventFd;
        // SAFETY: efd is a local the kernel reads during the call.
        return Syscalls.Register(fd.Value, fd.Op(asyncOnly ? RegisterOpcode.RegisterEventFdAsync : RegisterOpcode.RegisterEventFd), &efd, 1);
    }

    /// <summary>Fills <paramref name="opFlags"/> (indexed by opcode) and returns <c>last_op</c>, or <c>-errno</c>.</summary>
    public static int Probe(RingHandle fd, Span<ushort> opFlags)
    {
        const int ops = 256;
        byte* buffer = stackalloc byte[sizeof(ProbeHeader) + (ops * sizeof(ProbeOp))];
        new Span<byte>(buffer, sizeof(ProbeHeader) + (ops * sizeof(ProbeOp))).Clear();
        // SAFETY: buffer is a zeroed stack block with room for the header and 256 ops, the count we pass.
        int r = Syscalls.Register(fd.Value, fd.Op(RegisterOpcode.RegisterProbe), buffer, ops);
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
    public static int RingFd(RingHandle fd)
    {
        RsrcUpdate upd = default;
        upd.Offset = uint.MaxValue; // let the kernel pick a slot
        upd.Data = (ulong)fd.Value;
        // SAFETY: upd is a local the kernel reads and writes (the chosen offset) during the call.
        int r = Syscalls.Register(fd.Value, fd.Op(RegisterOpcode.RegisterRingFds), &upd, 1);
        return r < 0 ? r : (int)upd.Offset;
    }

    public static int UnregisterRingFd(RingHandle fd, int index)
    {
        RsrcUpdate upd = default;
        upd.Offset = (uint)index;
        // SAFETY: upd is a local the kernel reads during the call.
        return Syscalls.Register(fd.Value, fd.Op(RegisterOpcode.UnregisterRingFds), &upd, 1);
    }

    public static int PbufRing(RingHandle fd, nint ringAddr, uint entries, ushort groupId, ushort flags)
    {
        BufReg reg = default;
        reg.RingAddr = (ulong)ringAddr;
        reg.RingEntries = entries;
        reg.Bgid = groupId;
        reg.Flags = flags;
        // SAFETY: reg is a local the kernel copies; ringAddr is page-aligned memory the caller keeps until unregistering.
        return Syscalls.Register(fd.Value, fd.Op(RegisterOpcode.RegisterPbufRing), &reg, 1);
    }

    public static int UnregisterPbufRing(RingHandle fd, ushort groupId)
    {
        BufReg reg = default;
        reg.Bgid = groupId;
        // SAFETY: reg is a local the kernel reads during the call.
        return Syscalls.Register(fd.Value, fd.Op(RegisterOpcode.UnregisterPbufRing), &reg, 1);
    }

    public static int IoWqMaxWorkers(RingHandle fd, ref uint bounded, ref uint unbounded)
    {
        uint* values = stackalloc uint[2] { bounded, unbounded };
        // SAFETY: values is a 2-element stack array, the size the kernel reads and writes back.
        int r = Syscalls.Register(fd.Value, fd.Op(RegisterOpcode.RegisterIoWqMaxWorkers), values, 2);
        bounded = values[0];
        unbounded = values[1];
        return r;
    }

    public static int PbufStatus(RingHandle fd, ushort groupId, out uint head)
    {
        BufStatus status = default;
        status.BufGroup = groupId;
        // SAFETY: status is a local the kernel reads (the group) and writes (the head) during the call.
        int r = Syscalls.Register(fd.Value, fd.Op(RegisterOpcode.RegisterPbufStatus), &status, 1);
        head = status.Head;
        return r;
    }

    public static int SyncCancel(RingHandle fd, in SyncCancelReg reg)
    {
        SyncCancelReg copy = reg;
        // SAFETY: copy is a local the kernel reads during the (blocking, bounded by its timeout) call.
        return Syscalls.Register(fd.Value, fd.Op(RegisterOpcode.RegisterSyncCancel), &copy, 1);
    }

    public static int FileAllocRange(RingHandle fd, uint offset, uint length)
    {
        FileIndexRange range = default;
        range.Off = offset;
        range.Len = length;
        // SAFETY: range is a local the kernel copies during the call.
        return Syscalls.Register(fd.Value, fd.Op(RegisterOpcode.RegisterFileAllocRange), &range, 0);
    }

    public static int Restrictions(RingHandle fd, ReadOnlySpan<RestrictionEntry> entries)
    {
        // SAFETY: the array is pinned for the synchronous call; the kernel copies nr_args entries of 16 bytes.
        fixed (RestrictionEntry* p = entries)
        {
            return Syscalls.Register(fd.Value, fd.Op(RegisterOpcode.RegisterRestrictions), p, (uint)entries.Length);
        }
    }

    public static int Napi(RingHandle fd, ref NapiReg napi, bool unregister)
    {
        // SAFETY: napi is pinned for the synchronous call; the kernel reads it and writes the previous settings back.
        fixed (NapiReg* p = &napi)
        {
            return Syscalls.Register(fd.Value, fd.Op(unregister ? RegisterOpcode.UnregisterNapi : RegisterOpcode.RegisterNapi), p, 1);
        }
    }

    /// <summary><c>IORING_REGISTER_BUFFERS2</c>: <paramref name="iovecs"/> (or <paramref name="sparseCount"/> empty slots) with optional tags.</summary>
    public static int Buffers2(RingHandle fd, ReadOnlySpan<IoVec> iovecs, ReadOnlySpan<ulong> tags, uint sparseCount)
    {
        // SAFETY: both arrays are pinned for the synchronous call; the kernel copies them (and pins the pages named).
        fixed (IoVec* v = iovecs)
        fixed (ulong* t = tags)
        {
            RsrcRegister reg = default;
            if (sparseCount > 0)
            {
                reg.Nr = sparseCount;
                reg.Flags = RsrcRegister.FlagSparse;
            }
            else
            {
                reg.Nr = (uint)iovecs.Length;
                reg.Data = (ulong)v;
                reg.Tags = (ulong)t;
            }

            return Syscalls.Register(fd.Value, fd.Op(RegisterOpcode.RegisterBuffers2), &reg, (uint)sizeof(RsrcRegister));
        }
    }

    /// <summary><c>IORING_REGISTER_BUFFERS_UPDATE</c>: replaces slots from <paramref name="offset"/>.</summary>
    public static int BuffersUpdate(RingHandle fd, uint offset, ReadOnlySpan<IoVec> iovecs, ReadOnlySpan<ulong> tags)
    {
        // SAFETY: both arrays are pinned for the synchronous call; upd is a local; the kernel copies all three.
        fixed (IoVec* v = iovecs)
        fixed (ulong* t = tags)
        {
            RsrcUpdate2 upd = default;
            upd.Offset = offset;
            upd.Data = (ulong)v;
            upd.Tags = (ulong)t;
            upd.Nr = (uint)iovecs.Length;
            return Syscalls.Register(fd.Value, fd.Op(RegisterOpcode.RegisterBuffersUpdate), &upd, (uint)sizeof(RsrcUpdate2));
        }
    }

    public static int CloneBuffers(RingHandle fd, in CloneBuffersReg reg)
    {
        CloneBuffersReg copy = reg;
        // SAFETY: copy is a local the kernel reads during the call.
        return Syscalls.Register(fd.Value, fd.Op(RegisterOpcode.RegisterCloneBuffers), &copy, 1);
    }

    /// <summary><c>IORING_REGISTER_MEM_REGION</c> over user memory the caller keeps mapped while the ring lives.</summary>
    public static int MemRegion(RingHandle fd, nint memory, ulong size, ulong flags)
    {
        RegionDesc desc = default;
        desc.UserAddr = (ulong)memory;
        desc.Size = size;
        desc.Flags = RegionDesc.TypeUser;
        MemRegionReg reg = default;
        // SAFETY: desc and reg are locals the kernel reads during the call; memory is page-aligned memory the caller owns.
        reg.RegionUptr = (ulong)&desc;
        reg.Flags = flags;
        return Syscalls.Register(fd.Value, fd.Op(RegisterOpcode.RegisterMemRegion), &reg, 1);
    }

    public static int ResizeRings(RingHandle fd, ref IoUringParams p)
    {
        // SAFETY: p is pinned for the synchronous call; the kernel reads the sizes and writes the new offsets back.
        fixed (IoUringParams* pp = &p)
        {
            return Syscalls.Register(fd.Value, fd.Op(RegisterOpcode.RegisterResizeRings), pp, 1);
        }
    }

    public static int ZcrxIfq(RingHandle fd, ref ZcrxIfqReg reg, in ZcrxAreaReg area, nint regionMemory, ulong regionSize, out ulong areaToken)
    {
        ZcrxAreaReg areaCopy = area;
        RegionDesc desc = default;
        desc.UserAddr = (ulong)regionMemory;
        desc.Size = regionSize;
        desc.Flags = RegionDesc.TypeUser;
        // SAFETY: reg is pinned and areaCopy/desc are locals, all read (reg also written) during the synchronous call;
        // the region and area memory are page-aligned allocations the caller keeps while the queue is registered.
        fixed (ZcrxIfqReg* r = &reg)
        {
            r->AreaPtr = (ulong)&areaCopy;
            r->RegionPtr = (ulong)&desc;
            int ret = Syscalls.Register(fd.Value, fd.Op(RegisterOpcode.RegisterZcrxIfq), r, 1);
            areaToken = areaCopy.RqAreaToken;
            r->AreaPtr = 0;
            r->RegionPtr = 0;
            return ret;
        }
    }
}
