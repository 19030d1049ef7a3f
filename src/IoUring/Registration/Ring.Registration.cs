using System.Buffers;
using IoUring.Interop;

namespace IoUring;

// Registration: buffers, files, eventfd, probe and provided-buffer rings (io_uring_register(2)).
public sealed partial class Ring
{
    private MemoryHandle[] _registeredBufferPins = [];
    private readonly List<MemoryHandle> _deferredPins = [];
    private readonly List<BufferRing> _bufferRings = [];

    /// <summary>Number of registered buffers (0 when none).</summary>
    public int RegisteredBufferCount { get; private set; }

    /// <summary>
    /// Registers <paramref name="buffers"/> as fixed buffers 0..n-1 for <see cref="Sqe.PrepReadFixed"/>/<see cref="Sqe.PrepWriteFixed"/>.
    /// Each is pinned until it is unregistered and nothing is in flight, so managed arrays are safe too, and so is a
    /// <see cref="NativeBuffer"/>'s <see cref="NativeBuffer.Memory"/>: its pin keeps the memory alive even if the buffer
    /// is disposed while registered (it is given back when the pin is released).
    /// </summary>
    /// <param name="buffers">The buffers.</param>
    /// <exception cref="IoUringException">The kernel refused: <c>ENOMEM</c> means the locked-memory limit (<c>ulimit -l</c>) is too low; <c>EBUSY</c> means buffers are already registered.</exception>
    public void RegisterBuffers(ReadOnlySpan<Memory<byte>> buffers)
    {
        ThrowIfDisposed();
        if (buffers.IsEmpty)
        {
            throw new ArgumentException("At least one buffer is needed.", nameof(buffers));
        }

        var pins = new MemoryHandle[buffers.Length];
        var iovecs = new IoVec[buffers.Length];
        for (int i = 0; i < buffers.Length; i++)
        {
            if (buffers[i].IsEmpty)
            {
                ReleasePins(pins.AsSpan(0, i));
                throw new ArgumentException($"Buffer {i} is empty.", nameof(buffers));
            }

            pins[i] = buffers[i].Pin();
            iovecs[i] = new IoVec(Addresses.Of(pins[i]), (nuint)buffers[i].Length);
        }

        int r = RegisterCalls.Buffers(_ringFd, iovecs);
        if (r < 0)
        {
            ReleasePins(pins);
            string? hint = r switch
            {
                -Errno.ENOMEM => "Registered buffers count against RLIMIT_MEMLOCK: raise 'ulimit -l' or register less memory",
                -Errno.EBUSY => "Buffers are already registered on this ring: call UnregisterBuffers first",
                -Errno.EFAULT => "A buffer is not valid user memory",
                -Errno.EINVAL => "Too many buffers, or one is larger than 1 GiB",
                _ => null,
            };
            throw IoUringException.FromErrno(-r, "io_uring_register(IORING_REGISTER_BUFFERS)", hint);
        }

        _registeredBufferPins = pins;
        RegisteredBufferCount = buffers.Length;
    }

    /// <summary>Unregisters the fixed buffers. Their pins are released now if nothing is in flight, else when the ring is disposed.</summary>
    public void UnregisterBuffers()
    {
        ThrowIfDisposed();
        int r = RegisterCalls.Simple(_ringFd, RegisterOpcode.UnregisterBuffers);
        if (r < 0)
        {
            throw IoUringException.FromErrno(-r, "io_uring_register(IORING_UNREGISTER_BUFFERS)", r == -Errno.ENXIO ? "No buffers are registered" : null);
        }

        if (_inFlight == 0)
        {
            ReleasePins(_registeredBufferPins);
        }
        else
        {
            _deferredPins.AddRange(_registeredBufferPins);
        }

        _registeredBufferPins = [];
        RegisteredBufferCount = 0;
    }

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
        int r = RegisterCalls.Files(_ringFd, fds);
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
        int r = RegisterCalls.FilesSparse(_ringFd, count);
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
        int r = RegisterCalls.FilesUpdate(_ringFd, offset, fds);
        return r >= 0 ? r : throw IoUringException.FromErrno(-r, "io_uring_register(IORING_REGISTER_FILES_UPDATE)");
    }

    /// <summary>Unregisters the fixed files.</summary>
    public void UnregisterFiles()
    {
        ThrowIfDisposed();
        int r = RegisterCalls.Simple(_ringFd, RegisterOpcode.UnregisterFiles);
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
        int r = RegisterCalls.EventFd(_ringFd, eventFd, asyncOnly);
        if (r < 0)
        {
            throw IoUringException.FromErrno(-r, "io_uring_register(IORING_REGISTER_EVENTFD)");
        }
    }

    /// <summary>Stops signalling the registered eventfd.</summary>
    public void UnregisterEventFd()
    {
        ThrowIfDisposed();
        int r = RegisterCalls.Simple(_ringFd, RegisterOpcode.UnregisterEventFd);
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
        int r = RegisterCalls.Raw(_ringFd, opcode, argument, count);
        return r >= 0 ? r : throw IoUringException.FromErrno(-r, $"io_uring_register({opcode})");
    }

    /// <summary>Asks the kernel which opcodes it supports (<c>IORING_REGISTER_PROBE</c>, 5.6).</summary>
    /// <returns>The probe.</returns>
    /// <exception cref="IoUringException">The kernel has no probe (before 5.6): <c>EINVAL</c>.</exception>
    public Probe GetProbe()
    {
        ThrowIfDisposed();
        return Probe.Read(_ringFd);
    }

    /// <summary>Limits the async worker pool: bounded (regular file I/O) and unbounded (sockets, pipes) workers; 0 leaves a value unchanged.</summary>
    /// <param name="bounded">Max bounded workers.</param>
    /// <param name="unbounded">Max unbounded workers.</param>
    /// <returns>The previous limits.</returns>
    public (uint Bounded, uint Unbounded) SetIoWqMaxWorkers(uint bounded, uint unbounded)
    {
        ThrowIfDisposed();
        int r = RegisterCalls.IoWqMaxWorkers(_ringFd, ref bounded, ref unbounded);
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
    public BufferRing SetupBufferRing(ushort groupId, ushort entries, int bufferSize)
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

        var br = new BufferRing(this, groupId, entries, bufferSize);
        _bufferRings.Add(br);
        return br;
    }

    internal void ForgetBufferRing(BufferRing br) => _bufferRings.Remove(br);

    private void ReleasePinnedMemory(bool drained)
    {
        if (drained)
        {
            ReleasePins(_registeredBufferPins);
            ReleasePins(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_deferredPins));
        }
        else
        {
            // The kernel may still write into this memory: keep it pinned for the life of the process.
            PinnedForever.Keep(_registeredBufferPins);
            PinnedForever.Keep(_deferredPins.ToArray());
        }

        _registeredBufferPins = [];
        _deferredPins.Clear();
    }

    private static void ReleasePins(Span<MemoryHandle> pins)
    {
        foreach (ref MemoryHandle pin in pins)
        {
            pin.Dispose();
        }
    }
}
