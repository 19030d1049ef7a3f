using System.Buffers;
using IoUring.Interop;

namespace IoUring;

// Registration: buffers, files, eventfd, probe and provided-buffer rings (io_uring_register(2)).
public sealed partial class Ring
{

    /// <summary>Registers file descriptors as fixed files 0..n-1 (use with <see cref="SqeFlags.FixedFile"/>). Entries of -1 are empty slots.</summary>
    /// <param name="fds">The descriptors; the kernel takes its own reference to each file.</param>
    /// <exception cref="ArgumentException"><paramref name="fds"/> is empty (use <see cref="RegisterFilesSparse"/> for an empty table).</exception>
    public void RegisterFiles(ReadOnlySpan<int> fds)
    {
        ThrowIfDisposed();
        if (fds.IsEmpty)
        {
            throw new ArgumentException("At least one descriptor (or -1 for an empty slot) is needed; use RegisterFilesSparse for an empty table.", nameof(fds));
        }
        int r = RegisterCalls.Files(Handle, fds);
        if (r < 0)
        {
            throw IoUringException.FromErrno(-r, "io_uring_register(IORING_REGISTER_FILES)", r == -Errno.EBUSY ? "Files are already registered" : null);
        }
    }

    /// <summary>Registers an empty table of <paramref name="count"/> fixed-file slots (5.19), for direct descriptors.</summary>
    /// <param name="count">Number of slots.</param>
    public void RegisterFilesSparse(uint count)
    {
        ThrowIfDisposed();
        int r = RegisterCalls.FilesSparse(Handle, count);
        if (r < 0)
        {
            throw IoUringException.FromErrno(-r, "io_uring_register(IORING_REGISTER_FILES2, sparse)");
        }
    }

    /// <summary>Replaces fixed-file slots from <paramref name="offset"/> with <paramref name="fds"/> (-1 clears, <see cref="SqeConstants.RegisterFilesSkip"/> keeps).</summary>
    /// <param name="offset">First slot.</param>
    /// <param name="fds">New descriptors.</param>
    /// <returns>The number of slots updated.</returns>
    public int UpdateRegisteredFiles(uint offset, ReadOnlySpan<int> fds)
    {
        ThrowIfDisposed();
        int r = RegisterCalls.FilesUpdate(Handle, offset, fds);
        return r >= 0 ? r : throw IoUringException.FromErrno(-r, "io_uring_register(IORING_REGISTER_FILES_UPDATE)");
    }

    /// <summary>
    /// Limits the slots the kernel picks for direct descriptors allocated with <see cref="SqeConstants.FileIndexAlloc"/>
    /// to <paramref name="offset"/> .. <paramref name="offset"/> + <paramref name="length"/> - 1
    /// (<c>IORING_REGISTER_FILE_ALLOC_RANGE</c>, 6.0; liburing <c>io_uring_register_file_alloc_range</c>), leaving the
    /// other slots to explicit indices. A full range makes allocations fail with <c>-ENFILE</c>.
    /// </summary>
    /// <param name="offset">First slot of the range.</param>
    /// <param name="length">Number of slots; the range must lie inside the registered file table.</param>
    /// <exception cref="IoUringException">The kernel refused (<c>EINVAL</c>: outside the table, or before 6.0; <c>ENXIO</c>: no table).</exception>
    public void SetFileAllocRange(uint offset, uint length)
    {
        ThrowIfDisposed();
        int r = RegisterCalls.FileAllocRange(Handle, offset, length);
        if (r < 0)
        {
            throw IoUringException.FromErrno(-r, "io_uring_register(IORING_REGISTER_FILE_ALLOC_RANGE)",
                r == -Errno.ENXIO ? "No file table is registered (RegisterFiles or RegisterFilesSparse first)" : null);
        }
    }

    /// <summary>Unregisters the fixed files.</summary>
    /// <remarks>Before Linux 6.13 the kernel quiesces the table: the call waits until the requests in flight that use
    /// it have completed (seen on 6.1 and 6.12). From 6.13 it returns at once.</remarks>
    public void UnregisterFiles()
    {
        ThrowIfDisposed();
        int r = RegisterCalls.Simple(Handle, RegisterOpcode.UnregisterFiles);
        if (r < 0)
        {
            throw IoUringException.FromErrno(-r, "io_uring_register(IORING_UNREGISTER_FILES)");
        }
    }

    /// <summary>Has the kernel signal <paramref name="eventFd"/> whenever a CQE is posted.</summary>
    /// <param name="eventFd">An eventfd.</param>
    /// <param name="asyncOnly">Signal only for completions that did not finish inline.</param>
    public void RegisterEventFd(int eventFd, bool asyncOnly = false)
    {
        ThrowIfDisposed();
        int r = RegisterCalls.EventFd(Handle, eventFd, asyncOnly);
        if (r < 0)
        {
            throw IoUringException.FromErrno(-r, "io_uring_register(IORING_REGISTER_EVENTFD)");
        }
    }

    /// <summary>Stops signalling the registered eventfd.</summary>
    public void UnregisterEventFd()
    {
        ThrowIfDisposed();
        int r = RegisterCalls.Simple(Handle, RegisterOpcode.UnregisterEventFd);
        if (r < 0)
        {
            throw IoUringException.FromErrno(-r, "io_uring_register(IORING_UNREGISTER_EVENTFD)");
        }
    }

    /// <summary>
    /// Issues any <c>io_uring_register(2)</c> operation as is, for those without a typed method here (restrictions,
    /// personalities, NAPI, clocks, ...). The caller owns the argument's memory and its layout.
    /// </summary>
    /// <param name="opcode">The register opcode.</param>
    /// <param name="argument">Address of the argument, or 0.</param>
    /// <param name="count">The <c>nr_args</c> value.</param>
    /// <returns>The kernel's non-negative result.</returns>
    /// <exception cref="IoUringException">The kernel returned an error.</exception>
    public int RegisterRaw(RegisterOpcode opcode, nint argument, uint count)
    {
        ThrowIfDisposed();
        int r = RegisterCalls.Raw(Handle, opcode, argument, count);
        return r >= 0 ? r : throw IoUringException.FromErrno(-r, $"io_uring_register({opcode})");
    }

    /// <summary>Asks the kernel which opcodes it supports (<c>IORING_REGISTER_PROBE</c>, 5.6).</summary>
    /// <returns>The probe.</returns>
    /// <exception cref="IoUringException">The kernel has no probe (before 5.6): <c>EINVAL</c>.</exception>
    public Probe GetProbe()
    {
        ThrowIfDisposed();
        return Probe.Read(Handle);
    }

    /// <summary>Limits the async worker pool: bounded (regular file I/O) and unbounded (sockets, pipes) workers; 0 leaves a value unchanged.</summary>
    /// <param name="bounded">Max bounded workers.</param>
    /// <param name="unbounded">Max unbounded workers.</param>
    /// <returns>The previous limits.</returns>
    public (uint Bounded, uint Unbounded) SetIoWqMaxWorkers(uint bounded, uint unbounded)
    {
        ThrowIfDisposed();
        int r = RegisterCalls.IoWqMaxWorkers(Handle, ref bounded, ref unbounded);
        return r >= 0 ? (bounded, unbounded) : throw IoUringException.FromErrno(-r, "io_uring_register(IORING_REGISTER_IOWQ_MAX_WORKERS)");
    }

    /// <summary>
    /// Creates and registers a provided-buffer ring (<c>IORING_REGISTER_PBUF_RING</c>, 5.19) of <paramref name="entries"/>
    /// buffers of <paramref name="bufferSize"/> bytes as group <paramref name="groupId"/>, all of them given to the kernel.
    /// </summary>
    /// <param name="groupId">Group id for <see cref="Sqe.BufGroup"/>.</param>
    /// <param name="entries">Number of buffers: a power of two up to 32768.</param>
    /// <param name="bufferSize">Size of each buffer.</param>
    /// <returns>The buffer ring; dispose it to unregister.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="entries"/> is not a power of two, <paramref name="bufferSize"/> is not positive, or the buffers total more than 2 GiB.</exception>
    /// <exception cref="IoUringException">The kernel refused (group id in use, kernel older than 5.19).</exception>
    public BufferRing SetupBufferRing(ushort groupId, ushort entries, int bufferSize) => SetupBufferRing(groupId, entries, bufferSize, null);

    /// <summary>
    /// Creates and registers a provided-buffer ring as <see cref="SetupBufferRing(ushort, ushort, int)"/> does, with
    /// <paramref name="options"/>: incremental consumption (<c>IOU_PBUF_RING_INC</c>, 6.12) or an initially empty ring for sends.
    /// </summary>
    /// <param name="groupId">Group id for <see cref="Sqe.BufGroup"/>.</param>
    /// <param name="entries">Number of buffers: a power of two up to 32768.</param>
    /// <param name="bufferSize">Size of each buffer.</param>
    /// <param name="options">Options, or null for the defaults.</param>
    /// <returns>The buffer ring; dispose it to unregister.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="entries"/> is not a power of two, <paramref name="bufferSize"/> is not positive, or the buffers total more than 2 GiB.</exception>
    /// <exception cref="IoUringException">The kernel refused (group id in use, kernel too old for the options).</exception>
    public BufferRing SetupBufferRing(ushort groupId, ushort entries, int bufferSize, BufferRingOptions? options)
    {
        ThrowIfDisposed();
        if (entries == 0 || (entries & (entries - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(entries), entries, "A buffer ring needs a power-of-two number of entries.");
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bufferSize);
        if ((long)entries * bufferSize > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(bufferSize), bufferSize, $"{entries} buffers of {bufferSize} bytes exceed 2 GiB; use fewer or smaller buffers.");
        }

        var br = new BufferRing(this, groupId, entries, bufferSize, options);
        AddResource(br);
        return br;
    }

    internal void ForgetBufferRing(BufferRing br) => RemoveResource(br);
}
