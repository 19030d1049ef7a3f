using System.Runtime.InteropServices;
using IoUring.Interop;
using Microsoft.Win32.SafeHandles;

namespace IoUring;

/// <summary>
/// A file whose I/O goes through an <see cref="IoUringEngine"/> (or an <see cref="IoUringEngineGroup"/>): the shape of
/// <see cref="RandomAccess"/> — positional <c>ReadAsync</c>/<c>WriteAsync</c> with a file offset, no shared position —
/// with true asynchronous I/O instead of a thread-pool thread blocked in <c>pread</c>.
/// </summary>
/// <remarks>
/// <para>Every method is safe to call concurrently from many threads; reads and writes at different offsets run in
/// parallel in the kernel. Buffers are pinned until their I/O completes, also across cancellation and disposal.</para>
/// <para>Errors are the ones <see cref="File.OpenHandle"/> and <see cref="RandomAccess"/> throw in the same situation,
/// with the same messages and full paths: <see cref="FileNotFoundException"/>, <see cref="DirectoryNotFoundException"/>,
/// <see cref="UnauthorizedAccessException"/> (no permission, a directory, or a read from a file opened only for writing
/// and vice versa) and <see cref="PathTooLongException"/>, each with an <see cref="IoUringException"/> carrying the
/// errno inside; <see cref="ArgumentOutOfRangeException"/> for a negative file offset; <see cref="IoUringException"/>
/// (an <see cref="IOException"/> with <see cref="IoUringException.Errno"/>) where .NET throws an <see cref="IOException"/>;
/// <see cref="OperationCanceledException"/> when the token cancelled the operation, and
/// <see cref="ObjectDisposedException"/> once the file or the engine is disposed.</para>
/// <para>Opening through io_uring (<see cref="OpenAsync(IoUringEngine, string, FileStreamOptions, CancellationToken)"/>)
/// takes no advisory lock for <see cref="FileShare"/>; <see cref="Open(IoUringEngine, string, FileStreamOptions)"/>
/// opens like <see cref="File.OpenHandle"/> (with its locking) on the calling thread.</para>
/// </remarks>
public sealed partial class UringFile : IDisposable, IAsyncDisposable, IOperationOwner, IFileErrorSource
{
    private readonly IoUringEngine? _engine;
    private readonly IoUringEngineGroup? _group;
    private readonly SafeFileHandle _handle;
    private readonly bool _ownsHandle;

    /// <summary>
    /// Operations started through this file whose result is not published yet, counted per engine (indexed like
    /// <see cref="_slots"/>), each count on a cache line of its own: the engines' threads count without sharing a line.
    /// </summary>
    private readonly PendingCount[] _pending;
    private int _closing;
    private TaskCompletionSource? _drained;

    /// <summary>
    /// The file's slot in the registered-file table of each engine it uses (index 0 for a file on one engine, the
    /// engine's <see cref="IoUringEngine.GroupIndex"/> for a file on a group), or -1 (not yet installed, table full or
    /// absent, or already released). Requests read it when they start; each is set once by its install op's completion
    /// and taken back (exchanged for -1) only when the file is closing and no op is pending.
    /// </summary>
    private readonly int[] _slots;

    /// <summary>Install requests whose completion has not arrived yet.</summary>
    private int _installsPending;

    /// <summary>
    /// The page-cache fast path of <see cref="ReadAsync(Memory{byte}, long, CancellationToken)"/> on an idle engine's loop
    /// thread (see IoUringEngine.InlineReads.cs); after a miss it sits out 16 reads, so reads of data that is not cached
    /// rarely pay its extra system call.
    /// </summary>
    private readonly CachedRead _cachedRead = new(missBackoff: 16);

    private UringFile(IoUringEngine? engine, IoUringEngineGroup? group, SafeFileHandle handle, bool ownsHandle, FileAccess access, string? path)
    {
        _engine = engine;
        _group = group;
        _handle = handle;
        _ownsHandle = ownsHandle;
        Access = access;
        Path = path;

        // The file puts its descriptor in the registered-file table of every engine it uses; requests then name the slot
        // (IOSQE_FIXED_FILE), sparing the kernel an fget/fput per request and the file's SafeHandle two atomic operations
        // on a line every engine shares. The installs run on the engines and nobody waits for them: requests use the
        // plain fd until an install's completion publishes its slot.
        int engines = engine is not null ? 1 : group!.Count;
        _pending = new PendingCount[engines];
        _slots = new int[engines];
        Array.Fill(_slots, -1);
        _installsPending = engines;
        for (int i = 0; i < engines; i++)
        {
            if (!EngineAt(i).TryInstallFixedFile(handle, this))
            {
                Interlocked.Decrement(ref _installsPending);
            }
        }
    }

    /// <summary>The file's slot in its (single) engine's registered-file table, or -1 when its requests use the plain descriptor.</summary>
    internal int FixedFileSlot => Volatile.Read(ref _slots[0]);

    /// <summary>True once every install request has completed, whatever its outcome; for tests.</summary>
    internal bool FixedFileSettled => Volatile.Read(ref _installsPending) == 0;

    /// <summary>The file's slot in <paramref name="engine"/>'s registered-file table, or -1.</summary>
    internal int FixedFileSlotOn(IoUringEngine engine) => SlotIndex(engine) is int i and >= 0 ? Volatile.Read(ref _slots[i]) : -1;

    private IoUringEngine EngineAt(int index) => _engine ?? _group!.Engines[index];

    /// <summary>Where <paramref name="engine"/>'s slot is kept in <see cref="_slots"/>, or -1 for an engine the file does not use.</summary>
    private int SlotIndex(IoUringEngine engine) =>
        _engine is not null ? (ReferenceEquals(engine, _engine) ? 0 : -1)
        : ReferenceEquals(engine.Group, _group) ? engine.GroupIndex : -1;

    /// <summary>The engine for a request from the calling thread, and the file's slot on it.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private IoUringEngine Target(out int slot)
    {
        if (_engine is not null)
        {
            slot = Volatile.Read(ref _slots[0]);
            return _engine;
        }

        IoUringEngine e = _group!.ForOperation();
        slot = Volatile.Read(ref _slots[e.GroupIndex]);
        return e;
    }

    /// <summary>The file descriptor's handle. Do not close it while the file is in use.</summary>
    public SafeFileHandle Handle => _handle;

    /// <summary>The access the file was opened with (as declared for an adopted handle).</summary>
    public FileAccess Access { get; }

    /// <summary>The full path of the file (like <see cref="FileStream.Name"/>), or null for an adopted handle.</summary>
    public string? Path { get; }

    /// <summary>
    /// The engine the file uses. For a file on a group: the engine whose thread is calling, when a continuation runs on
    /// one (its requests go there), otherwise the group's engine for the caller's core (<see cref="IoUringEngineGroup.Current"/>);
    /// requests made off the engines' threads go to the group's engines in turn, not necessarily to this one.
    /// </summary>
    public IoUringEngine Engine => _engine ?? _group!.Current;

    /// <summary>True once <see cref="Dispose"/> or <see cref="DisposeAsync"/> has started.</summary>
    public bool IsClosed => Volatile.Read(ref _closing) != 0;

    /// <summary>The file's current length (<c>fstat</c> on the calling thread).</summary>
    /// <exception cref="ObjectDisposedException">The file is disposed.</exception>
    public long Length
    {
        get
        {
            ThrowIfClosed();
            return RandomAccess.GetLength(_handle);
        }
    }

    /// <summary>Throws what <see cref="FileStream"/> throws once closed, naming this type.</summary>
    private void ThrowIfClosed()
    {
        if (Volatile.Read(ref _closing) != 0)
        {
            FileChecks.ThrowClosed(nameof(UringFile));
        }
    }

    // Operation tracking (IOperationOwner): the per-engine pending counts that closing waits on, and the slot installs.

    bool IOperationOwner.TryBeginOperation(IoUringEngine engine)
    {
        Interlocked.Increment(ref _pending[SlotIndex(engine)].Value);
        if (Volatile.Read(ref _closing) != 0)
        {
            ((IOperationOwner)this).OnOperationCompleted(engine);
            return false;
        }

        return true;
    }

    void IOperationOwner.OnOperationCompleted(IoUringEngine engine)
    {
        // Each count is decremented, then all are read (a full fence between): of two last operations on different
        // engines finishing at once, at least one sees every count at zero.
        if (Interlocked.Decrement(ref _pending[SlotIndex(engine)].Value) == 0 && Volatile.Read(ref _closing) != 0 && NothingPending())
        {
            if (Volatile.Read(ref _drained) is TaskCompletionSource drained)
            {
                // DisposeAsync releases the slots itself once drained, so the close follows the release.
                drained.TrySetResult();
            }
            else
            {
                ReleaseFixedSlots();
            }
        }
    }

    /// <summary>True when no operation started through this file is pending on any engine.</summary>
    private bool NothingPending()
    {
        for (int i = 0; i < _pending.Length; i++)
        {
            if (Volatile.Read(ref _pending[i].Value) != 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>An operation count alone on its cache line (64 bytes of padding on either side).</summary>
    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Explicit, Size = 128)]
    private struct PendingCount
    {
        [System.Runtime.InteropServices.FieldOffset(64)]
        public int Value;
    }

    void IOperationOwner.OnFixedFileInstalled(IoUringEngine engine, int slot)
    {
        int index = SlotIndex(engine);
        if (slot >= 0 && index >= 0)
        {
            Volatile.Write(ref _slots[index], slot);
        }

        Interlocked.Decrement(ref _installsPending);
    }
}
