using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace IoUring;

// What the engine registers with its ring: the sparse registered-file table (files fill its slots with FILES_UPDATE
// requests) and the registered buffers (READ_FIXED/WRITE_FIXED).
public sealed partial class IoUringEngine
{
    /// <summary>Most registered-file slots a ring may have (the kernel's <c>IORING_MAX_FIXED_FILES</c>).</summary>
    public const int MaxFixedFileSlots = 1 << 20;

    /// <summary>Most buffers a ring can register (the kernel's <c>IORING_MAX_REG_BUFFERS</c>).</summary>
    public const int MaxRegisteredBuffers = 1 << 14;

    internal const int MaxRegisteredBufferSize = 1 << 30;

    /// <summary>What a FILES_UPDATE reads to clear a slot: the fd -1. The kernel only reads it, so one array serves all.</summary>
    private static readonly byte[] s_clearSlot = BitConverter.GetBytes(-1);

    /// <summary>The registered buffers (<see cref="IoUringEngineOptions.RegisteredBufferCount"/>), made at start-up; null when none were asked for.</summary>
    private RegisteredBufferPool? _registeredBuffers;

    /// <summary>Requests submitted as READ_FIXED/WRITE_FIXED (owner writes, anyone reads).</summary>
    private long _fixedBufferRequests;

    /// <summary>
    /// Slots in the engine's registered-file table: <see cref="IoUringEngineOptions.FixedFileSlots"/>, or 0 when the
    /// option is 0 or the kernel could not register a sparse table (files then always use their plain descriptor).
    /// </summary>
    public int FixedFileSlots { get; private set; }

    /// <summary>
    /// Registered buffers the engine has (<see cref="IoUringEngineOptions.RegisteredBufferCount"/>), or 0 when none were
    /// asked for or the kernel refused them (see <see cref="RegisteredBuffersError"/>).
    /// </summary>
    public int RegisteredBufferCount => _registeredBuffers is { IsRegistered: true } pool ? pool.Count : 0;

    /// <summary>Why the kernel refused to register the buffers (for example <c>ENOMEM</c>: <c>RLIMIT_MEMLOCK</c>), or null.</summary>
    public IoUringException? RegisteredBuffersError { get; private set; }

    /// <summary>
    /// Reads and writes submitted with a registered buffer (<c>READ_FIXED</c>/<c>WRITE_FIXED</c>) so far: a check that
    /// the buffers in use really are this engine's registered ones.
    /// </summary>
    public long FixedBufferRequests => Volatile.Read(ref _fixedBufferRequests);

    /// <summary>Registered buffers not rented right now.</summary>
    public int AvailableRegisteredBuffers => _registeredBuffers?.Available ?? 0;

    /// <summary>
    /// Rents a buffer of <see cref="IoUringEngineOptions.RegisteredBufferSize"/> bytes from the engine's registered
    /// buffers. Reads and writes of this engine into it use the kernel's fixed-buffer requests. Give it back with
    /// <see cref="IDisposable.Dispose"/>.
    /// </summary>
    /// <returns>The buffer.</returns>
    /// <exception cref="InvalidOperationException">The engine has no registered buffers, or all of them are rented.</exception>
    /// <exception cref="ObjectDisposedException">The engine is disposed.</exception>
    public RegisteredBuffer RentRegisteredBuffer()
    {
        if (TryRentRegisteredBuffer(out RegisteredBuffer? buffer))
        {
            return buffer;
        }

        ThrowIfDisposing();
        throw new InvalidOperationException(_registeredBuffers is null
            ? "The engine has no registered buffers: set IoUringEngineOptions.RegisteredBufferCount."
            : $"All {_registeredBuffers.Count} registered buffers are rented.");
    }

    /// <summary>Rents a registered buffer if one is free (see <see cref="RentRegisteredBuffer"/>).</summary>
    /// <param name="buffer">The buffer, or null.</param>
    /// <returns>False when the engine has none free (or none at all, or is disposed).</returns>
    public bool TryRentRegisteredBuffer([NotNullWhen(true)] out RegisteredBuffer? buffer)
    {
        buffer = null;
        return Volatile.Read(ref _state) == StateRunning && _registeredBuffers is not null && _registeredBuffers.TryRent(out buffer);
    }

    /// <summary>Fills a read or write SQE, as the fixed-buffer opcode when <paramref name="memory"/> is one of this engine's registered buffers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void PrepReadOrWrite(IoOperation op, bool write, int fd, nint address, ReadOnlyMemory<byte> memory, long fileOffset)
    {
        if (_registeredBuffers is not null && _registeredBuffers.TryGetIndex(memory, out ushort index))
        {
            if (write)
            {
                op.Template.PrepWriteFixed(fd, address, (uint)memory.Length, (ulong)fileOffset, index);
            }
            else
            {
                op.Template.PrepReadFixed(fd, address, (uint)memory.Length, (ulong)fileOffset, index);
            }
        }
        else if (write)
        {
            op.Template.PrepWrite(fd, address, (uint)memory.Length, (ulong)fileOffset);
        }
        else
        {
            op.Template.PrepRead(fd, address, (uint)memory.Length, (ulong)fileOffset);
        }
    }

    /// <summary>
    /// Puts <paramref name="handle"/>'s descriptor in a free slot of the registered-file table (IORING_OP_FILES_UPDATE
    /// with IORING_FILE_INDEX_ALLOC, run by the owner like any request). Nobody awaits it: the outcome reaches
    /// <paramref name="owner"/> through <see cref="IOperationOwner.OnFixedFileInstalled"/> (slot, or -1 when the table
    /// is full or the request failed), right before the op stops counting as pending for it. Returns false when
    /// nothing was started (no table, engine or owner closing).
    /// </summary>
    internal bool TryInstallFixedFile(SafeHandle handle, IOperationOwner owner)
    {
        if (FixedFileSlots == 0 || IsDisposing)
        {
            return false;
        }

        try
        {
            _ = Issue(
                OpKind.InstallFixedFile,
                handle,
                static (IoUringEngine e, IoOperation op, in SafeHandle h) =>
                {
                    // The handle reference keeps the fd valid until the kernel has taken its own reference to the file.
                    byte[] argument = BitConverter.GetBytes(op.AddHandleRef(h));
                    op.FilesUpdateArgument = argument;
                    op.Template.PrepFilesUpdate(op.Pin(argument), 1, -1);
                    op.FireAndForget = true;
                },
                owner,
                CancellationToken.None);
            return true;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>
    /// Clears registered-file slot <paramref name="slot"/>, dropping the table's reference to the file. Call it only
    /// when no request naming the slot is pending or about to start. With <paramref name="fireAndForget"/> nobody
    /// awaits the request and the returned task is already complete.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The engine is shutting down (its table goes away with the ring).</exception>
    internal ValueTask RemoveFixedFileAsync(int slot, bool fireAndForget)
    {
        ValueTask removed = Issue(
            OpKind.RemoveFixedFile,
            (slot, fireAndForget),
            static (IoUringEngine e, IoOperation op, in (int Slot, bool FireAndForget) r) =>
            {
                op.Template.PrepFilesUpdate(op.Pin(s_clearSlot), 1, r.Slot);
                op.FireAndForget = r.FireAndForget;
            },
            owner: null,
            CancellationToken.None).AsValueTask();
        return fireAndForget ? ValueTask.CompletedTask : removed;
    }
}
