using System.Buffers;
using IoUring.Interop;

namespace IoUring;

// The registered-buffer table (io_uring_register(2) BUFFERS, BUFFERS2, BUFFERS_UPDATE, CLONE_BUFFERS): each slot's
// memory stays pinned while the kernel may use it.
public sealed partial class Ring
{
    /// <summary>Per registered-buffer slot: the pin of its memory (a default handle for an empty slot).</summary>
    private MemoryHandle[] _registeredBufferPins = [];

    /// <summary>Per registered-buffer slot: the memory, so another ring cloning the table can pin it too.</summary>
    private Memory<byte>[] _registeredBufferMemory = [];

    /// <summary>Pins of buffers that left the table while requests were in flight: released once nothing is.</summary>
    private readonly List<MemoryHandle> _deferredPins = [];

    /// <summary>Releases the pins above when the ring is closed (attached with the first table).</summary>
    private BufferPins? _bufferPins;

    /// <summary>Number of registered-buffer slots, filled or empty (0 when no table is registered).</summary>
    public int RegisteredBufferCount { get; private set; }

    /// <summary>
    /// Registers <paramref name="buffers"/> as fixed buffers 0..n-1 for <see cref="Sqe.PrepReadFixed"/>/<see cref="Sqe.PrepWriteFixed"/>
    /// (5.1; liburing <c>io_uring_register_buffers</c>).
    /// Each is pinned until it is unregistered and nothing is in flight, so managed arrays are safe too, and so is a
    /// <see cref="NativeBuffer"/>'s <see cref="NativeBuffer.Memory"/>: its pin keeps the memory alive even if the buffer
    /// is disposed while registered (it is given back when the pin is released).
    /// </summary>
    /// <param name="buffers">The buffers.</param>
    /// <exception cref="IoUringException">The kernel refused: <c>ENOMEM</c> means the locked-memory limit (<c>ulimit -l</c>) is too low; <c>EBUSY</c> means buffers are already registered.</exception>
    public void RegisterBuffers(ReadOnlySpan<Memory<byte>> buffers) => RegisterBuffersCore(buffers, default, tagged: false);

    /// <summary>
    /// Registers <paramref name="buffers"/> with a tag each (<c>IORING_REGISTER_BUFFERS2</c>, 5.13; liburing
    /// <c>io_uring_register_buffers_tags</c>). When a tagged buffer leaves the table (replaced by
    /// <see cref="UpdateRegisteredBuffers"/>, or unregistered on 6.13+) and no request uses it any more, the kernel posts a
    /// CQE whose <see cref="Cqe.UserData"/> is its tag and whose result is 0; a tag of 0 posts nothing. Those CQEs come on
    /// their own: <see cref="InFlight"/> does not count them. Before 6.13 unregistering posts no tags: it waits until no
    /// request uses the table, so its return says the buffers are free.
    /// </summary>
    /// <param name="buffers">The buffers.</param>
    /// <param name="tags">One tag per buffer.</param>
    /// <exception cref="ArgumentException">The counts differ, or a buffer is empty.</exception>
    /// <exception cref="IoUringException">The kernel refused (see <see cref="RegisterBuffers(ReadOnlySpan{Memory{byte}})"/>).</exception>
    public void RegisterBuffers(ReadOnlySpan<Memory<byte>> buffers, ReadOnlySpan<ulong> tags)
    {
        if (tags.Length != buffers.Length)
        {
            throw new ArgumentException($"{buffers.Length} buffers need {buffers.Length} tags, not {tags.Length}.", nameof(tags));
        }

        RegisterBuffersCore(buffers, tags, tagged: true);
    }

    /// <summary>
    /// Registers an empty table of <paramref name="count"/> buffer slots (<c>IORING_REGISTER_BUFFERS2</c> with
    /// <c>IORING_RSRC_REGISTER_SPARSE</c>, 5.19; liburing <c>io_uring_register_buffers_sparse</c>), to fill later with
    /// <see cref="UpdateRegisteredBuffers"/> or <see cref="CloneRegisteredBuffers"/>. A fixed request on an empty slot fails with <c>-EFAULT</c>.
    /// </summary>
    /// <param name="count">Number of slots, 1 to 16384.</param>
    /// <exception cref="IoUringException">The kernel refused (<c>EBUSY</c>: a table is already registered).</exception>
    public void RegisterBuffersSparse(uint count)
    {
        ThrowIfDisposed();
        ArgumentOutOfRangeException.ThrowIfZero(count);
        int r = RegisterCalls.Buffers2(Handle, default, default, count);
        if (r < 0)
        {
            throw IoUringException.FromErrno(-r, "io_uring_register(IORING_REGISTER_BUFFERS2, sparse)", BufferHint(r));
        }

        AttachBufferPins();
        _registeredBufferPins = new MemoryHandle[count];
        _registeredBufferMemory = new Memory<byte>[count];
        RegisteredBufferCount = (int)count;
    }

    /// <summary>
    /// Replaces registered-buffer slots from <paramref name="offset"/> in place (<c>IORING_REGISTER_BUFFERS_UPDATE</c>,
    /// 5.13; liburing <c>io_uring_register_buffers_update_tag</c>): an empty <see cref="Memory{T}"/> empties its slot. The
    /// old buffers stay pinned until nothing is in flight; with tags, each old tagged buffer's tag CQE says when the
    /// kernel let go of it.
    /// </summary>
    /// <param name="offset">First slot.</param>
    /// <param name="buffers">The new buffers.</param>
    /// <param name="tags">A tag per buffer, or empty for none.</param>
    /// <returns>How many slots were updated.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The slots run past the table.</exception>
    /// <exception cref="IoUringException">The kernel refused (<c>ENXIO</c>: no table is registered).</exception>
    public int UpdateRegisteredBuffers(uint offset, ReadOnlySpan<Memory<byte>> buffers, ReadOnlySpan<ulong> tags = default)
    {
        ThrowIfDisposed();
        if (!tags.IsEmpty && tags.Length != buffers.Length)
        {
            throw new ArgumentException($"{buffers.Length} buffers need {buffers.Length} tags or none, not {tags.Length}.", nameof(tags));
        }

        if ((long)offset + buffers.Length > RegisteredBufferCount)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"Slots {offset}..{offset + buffers.Length - 1} run past the table of {RegisteredBufferCount}.");
        }

        var pins = new MemoryHandle[buffers.Length];
        var iovecs = new IoVec[buffers.Length];
        for (int i = 0; i < buffers.Length; i++)
        {
            if (!buffers[i].IsEmpty)
            {
                pins[i] = buffers[i].Pin();
                iovecs[i] = new IoVec(Addresses.Of(pins[i]), (nuint)buffers[i].Length);
            }
        }

        int r = RegisterCalls.BuffersUpdate(Handle, offset, iovecs, tags.IsEmpty ? new ulong[buffers.Length] : tags);
        if (r < 0)
        {
            ReleasePins(pins);
            throw IoUringException.FromErrno(-r, "io_uring_register(IORING_REGISTER_BUFFERS_UPDATE)", BufferHint(r));
        }

        for (int i = 0; i < buffers.Length; i++)
        {
            RetirePin(_registeredBufferPins[offset + i]);
            _registeredBufferPins[offset + i] = pins[i];
            _registeredBufferMemory[offset + i] = buffers[i];
        }

        return r;
    }

    /// <summary>
    /// Copies registered buffers of <paramref name="source"/> into this ring's table (<c>IORING_REGISTER_CLONE_BUFFERS</c>:
    /// 6.12 for the whole table, 6.13 with offsets; liburing <c>io_uring_clone_buffers_offset</c>): both rings then use
    /// the same pinned pages without registering them again. This ring pins the memory as well, so either ring may be
    /// disposed first.
    /// </summary>
    /// <param name="source">The ring to copy from; its table must be registered.</param>
    /// <param name="sourceOffset">First source slot.</param>
    /// <param name="destinationOffset">First slot here.</param>
    /// <param name="count">How many slots; 0 for all of the source's from <paramref name="sourceOffset"/>.</param>
    /// <param name="replace">Replace slots already registered here (<c>IORING_REGISTER_DST_REPLACE</c>); without it a registered table here gives <c>EBUSY</c>.</param>
    /// <exception cref="IoUringException">The kernel refused (<c>ENXIO</c>: the source has no buffers; <c>EBUSY</c>: this ring has some and <paramref name="replace"/> is false).</exception>
    public void CloneRegisteredBuffers(Ring source, uint sourceOffset = 0, uint destinationOffset = 0, uint count = 0, bool replace = false)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(source);
        source.ThrowIfDisposed();
        RingHandle src = source.Handle;
        var reg = new CloneBuffersReg
        {
            SrcFd = (uint)src.Value,
            Flags = (src.IsRegisteredIndex ? CloneBuffersReg.SrcRegistered : 0) | (replace ? CloneBuffersReg.DstReplace : 0),
            SrcOff = sourceOffset,
            DstOff = destinationOffset,
            Nr = count,
        };
        int r = RegisterCalls.CloneBuffers(Handle, reg);
        if (r < 0)
        {
            throw IoUringException.FromErrno(-r, "io_uring_register(IORING_REGISTER_CLONE_BUFFERS)",
                r == -Errno.EINVAL ? "Needs Linux 6.12+ (6.13+ for offsets), and the slots must lie inside the source's table." : BufferHint(r));
        }

        int n = count != 0 ? (int)count : Math.Max(0, source.RegisteredBufferCount - (int)sourceOffset);
        int size = Math.Max(RegisteredBufferCount, (int)destinationOffset + n);
        AttachBufferPins();
        Array.Resize(ref _registeredBufferPins, size);
        Array.Resize(ref _registeredBufferMemory, size);
        for (int i = 0; i < n; i++)
        {
            Memory<byte> memory = source._registeredBufferMemory[sourceOffset + i];
            RetirePin(_registeredBufferPins[destinationOffset + i]);
            _registeredBufferPins[destinationOffset + i] = memory.IsEmpty ? default : memory.Pin();
            _registeredBufferMemory[destinationOffset + i] = memory;
        }

        RegisteredBufferCount = size;
    }

    /// <summary>Unregisters the fixed buffers (liburing <c>io_uring_unregister_buffers</c>). Their pins are released now if nothing is in flight, else when the ring is disposed.</summary>
    /// <remarks>Before Linux 6.13 the kernel quiesces the table: the call waits until the requests in flight that use
    /// it have completed (a fixed read of a pipe that nobody writes keeps it waiting for good; seen on 6.1 and 6.12).
    /// From 6.13 it returns at once and the buffers stay valid until those requests complete.</remarks>
    public void UnregisterBuffers()
    {
        ThrowIfDisposed();
        int r = RegisterCalls.Simple(Handle, RegisterOpcode.UnregisterBuffers);
        if (r < 0)
        {
            throw IoUringException.FromErrno(-r, "io_uring_register(IORING_UNREGISTER_BUFFERS)", r == -Errno.ENXIO ? "No buffers are registered" : null);
        }

        foreach (MemoryHandle pin in _registeredBufferPins)
        {
            RetirePin(pin);
        }

        _registeredBufferPins = [];
        _registeredBufferMemory = [];
        RegisteredBufferCount = 0;
    }

    private void RegisterBuffersCore(ReadOnlySpan<Memory<byte>> buffers, ReadOnlySpan<ulong> tags, bool tagged)
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

        int r = tagged ? RegisterCalls.Buffers2(Handle, iovecs, tags, 0) : RegisterCalls.Buffers(Handle, iovecs);
        if (r < 0)
        {
            ReleasePins(pins);
            throw IoUringException.FromErrno(-r, tagged ? "io_uring_register(IORING_REGISTER_BUFFERS2)" : "io_uring_register(IORING_REGISTER_BUFFERS)", BufferHint(r));
        }

        AttachBufferPins();
        _registeredBufferPins = pins;
        _registeredBufferMemory = buffers.ToArray();
        RegisteredBufferCount = buffers.Length;
    }

    private static string? BufferHint(int r) => r switch
    {
        -Errno.ENOMEM => "Registered buffers count against RLIMIT_MEMLOCK: raise 'ulimit -l' or register less memory",
        -Errno.EBUSY => "Buffers are already registered on this ring: call UnregisterBuffers first",
        -Errno.EFAULT => "A buffer is not valid user memory",
        -Errno.EINVAL => "Too many buffers, or one is larger than 1 GiB",
        -Errno.ENXIO => "No buffers are registered on this ring",
        _ => null,
    };

    /// <summary>Releases a pin that left the table: now when nothing is in flight, otherwise once the ring is done with it.</summary>
    private void RetirePin(MemoryHandle pin)
    {
        if (_inFlight == 0)
        {
            pin.Dispose();
        }
        else
        {
            _deferredPins.Add(pin);
        }
    }

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
        _registeredBufferMemory = [];
        _deferredPins.Clear();
    }

    private void AttachBufferPins()
    {
        if (_bufferPins is null)
        {
            _bufferPins = new BufferPins(this);
            AddResource(_bufferPins);
        }
    }

    private static void ReleasePins(Span<MemoryHandle> pins)
    {
        foreach (ref MemoryHandle pin in pins)
        {
            pin.Dispose();
        }
    }

    /// <summary>The registered-buffer table's pins as a ring resource: released (or kept forever) after the ring is closed.</summary>
    private sealed class BufferPins(Ring ring) : IRingResource
    {
        public void ReleaseAfterRingClosed(bool drained) => ring.ReleasePinnedMemory(drained);
    }
}
