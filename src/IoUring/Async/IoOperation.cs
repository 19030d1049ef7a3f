using System.Buffers;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;
using IoUring.Interop;

namespace IoUring;

/// <summary>What an <see cref="IoOperation"/> does when its CQE arrives.</summary>
internal enum OpKind : byte
{
    Nop,
    Read,
    Write,
    ReadV,
    WriteV,
    Fsync,
    Fallocate,
    Ftruncate,
    OpenAt,
    Close,
    Statx,

    /// <summary>IORING_OP_FADVISE (read-ahead advice of the file streams).</summary>
    Fadvise,

    /// <summary>IORING_OP_FILES_UPDATE putting a file in a free registered-file slot; the slot is written back into <see cref="IoOperation.FilesUpdateArgument"/>.</summary>
    InstallFixedFile,

    /// <summary>IORING_OP_FILES_UPDATE clearing a registered-file slot.</summary>
    RemoveFixedFile,

    Connect,
    Send,
    Recv,
    Shutdown,
    Accept,

    /// <summary>A gather write to a socket (<c>writev</c>, repeated after short writes like <see cref="WriteV"/>).</summary>
    SendV,

    /// <summary>IORING_OP_SENDMSG of one datagram (to the address in its msghdr, or the connected peer).</summary>
    SendMsg,

    RenameAt,
    UnlinkAt,
    MkdirAt,
    SymlinkAt,
    LinkAt,

    /// <summary>IORING_OP_RECVMSG of one datagram; the result carries the sender's address length in bits 32-47 (see <see cref="IoOperation.Complete"/>).</summary>
    RecvMsg,
}

/// <summary>
/// One request of an <see cref="IoUringEngine"/>: a pooled, reusable <see cref="IValueTaskSource{TResult}"/>.
/// </summary>
/// <remarks>
/// <para>Life cycle: rented from the engine's pool by the submitting thread, which fills <see cref="Template"/>, pins
/// the buffers and takes a reference on the file handle, then pushes it onto the engine's submission stack. The ring's
/// owner copies the template into an SQE and owns the op until the CQE is reaped; only then are the pins and the
/// handle reference released and the result published. The awaiter's <c>GetResult</c> reads the result, resets the
/// op and returns it to the pool. So the op (and the memory it pins) is never reused while the kernel may touch it.</para>
/// <para>Fields marked "loop" are touched only by the thread that owns the engine's ring.</para>
/// </remarks>
internal sealed class IoOperation : IValueTaskSource<int>, IValueTaskSource<long>, IValueTaskSource
{
    private static readonly Action<object?> s_onCancel = static state => ((IoOperation)state!).OnCancelRequested();

    private readonly IoUringEngine _engine;
    private ManualResetValueTaskSourceCore<long> _core;

    // ---- Request: written by the submitting thread before the op is pushed (the push's CAS publishes it). ----

    /// <summary>The SQE to submit; the loop copies it and sets its user data.</summary>
    internal Sqe Template;
    internal OpKind Kind;

    /// <summary>The path of an open/stat, for error messages.</summary>
    internal string? Path;

    private SafeHandle? _handle;
    private MemoryHandle _pin;
    private bool _hasPin;
    private MemoryHandle[] _extraPins = [];
    private int _extraPinCount;

    /// <summary>The msghdr of a sendmsg/recvmsg, reused across uses (one element); pinned while in flight.</summary>
    private MsgHdr[] _message = [];

    /// <summary>Scatter/gather list, reused across uses; pinned by one of the extra pins while in flight.</summary>
    internal IoVec[] IoVecs = [];
    internal int IoVecCount;

    /// <summary>Address of the pinned iovec array, for advancing a gather write after a short write (loop).</summary>
    internal nint IoVecAddress;

    /// <summary>Index of the first iovec not yet fully written (loop).</summary>
    internal int IoVecStart;

    /// <summary>Told when the op completes (a file waiting for its operations before closing), or null.</summary>
    internal IOperationOwner? Owner;

    /// <summary>The handle of a failed request, kept from its CQE until <c>GetResult</c> builds the error (to name the file).</summary>
    private SafeHandle? _failedHandle;

    /// <summary>The path of the file a failed request read or wrote (its <see cref="UringFile"/>'s), for the error.</summary>
    private string? _failedPath;

    private CancellationToken _token;
    private CancellationTokenRegistration _registration;

    /// <summary>The int the kernel reads (and, when allocating a slot, writes) for a FILES_UPDATE; pinned while in flight.</summary>
    internal byte[]? FilesUpdateArgument;

    /// <summary>Nobody awaits the op: on completion it goes straight back to the pool (internal housekeeping requests).</summary>
    internal bool FireAndForget;

    /// <summary>
    /// Complete on the loop thread even in thread-pool mode: the awaiter is library code whose continuation only makes
    /// the next request (a connection's send loop), so handing it to the thread pool would cost a hop for nothing.
    /// </summary>
    internal bool CompleteOnLoop;

    /// <summary>Bytes already written by earlier CQEs of a write that must write everything (loop).</summary>
    internal long Transferred;

    /// <summary>The request's deadline: the loop links an <c>IORING_OP_LINK_TIMEOUT</c> to it (see <see cref="RequestDeadline"/>).</summary>
    internal RequestDeadline Deadline;

    // ---- Engine bookkeeping. ----

    /// <summary>Link in the engine's submission stack or the loop's pending list.</summary>
    internal IoOperation? NextSubmit;

    /// <summary>Link in the engine's cancellation stack.</summary>
    internal IoOperation? NextCancel;

    /// <summary>1 while the op sits in the cancellation stack, so it is never pushed twice.</summary>
    internal int CancelQueued;

    /// <summary>Index in the loop's table of in-flight ops, or -1 when not in flight (loop).</summary>
    internal int Slot = -1;

    /// <summary>The user data of the op's current SQE (loop).</summary>
    internal ulong UserData;

    /// <summary>An ASYNC_CANCEL was already sent for the current submission (loop).</summary>
    internal bool CancelIssued;

    /// <summary>
    /// The engine stopped while the kernel still held the op (see <see cref="GiveUpAtShutdown"/>): its pins stay for the
    /// life of the process and the op never goes back to the pool.
    /// </summary>
    internal bool Abandoned;

    internal IoOperation(IoUringEngine engine)
    {
        _engine = engine;
        // The continuation runs on the thread that completes the op: an engine thread in its continuation phase (inline
        // mode) or a pool thread running a CompletionDispatch batch (thread-pool mode).
        _core.RunContinuationsAsynchronously = false;
    }

    internal IoUringEngine Engine => _engine;

    internal CancellationToken Token => _token;

    internal short Version => _core.Version;

    /// <summary>Takes a reference on <paramref name="handle"/> until the CQE is reaped, so its fd cannot be closed and reused under the request.</summary>
    /// <exception cref="ObjectDisposedException">The handle is closed.</exception>
    internal int AddHandleRef(SafeHandle handle)
    {
        Debug.Assert(_handle is null);
        bool added = false;
        handle.DangerousAddRef(ref added);
        _handle = handle;
        return (int)handle.DangerousGetHandle();
    }

    /// <summary>
    /// Like <see cref="AddHandleRef"/> for a plain descriptor. For a registered-file slot (<paramref name="fixedSlot"/>
    /// 0 or more, owned by a <see cref="UringFile"/> that clears it only once its requests have drained) it marks the
    /// request <c>IOSQE_FIXED_FILE</c> and returns the slot without a handle reference: the request names the slot,
    /// whose table entry holds the kernel's own reference on the file, so the descriptor closing (or being reused) under
    /// it changes nothing. That spares two atomic operations on the handle per request, which is a cache line shared by
    /// every engine that reads the same handle (a group's files over one <see cref="SafeHandle"/>).
    /// </summary>
    /// <exception cref="ObjectDisposedException">The handle is closed (as with a reference).</exception>
    internal int AddFileRef(SafeHandle handle, int fixedSlot)
    {
        if (fixedSlot < 0)
        {
            return AddHandleRef(handle);
        }

        ObjectDisposedException.ThrowIf(handle.IsClosed, handle);
        Template.Flags |= SqeFlags.FixedFile;
        return fixedSlot;
    }

    /// <summary>Pins <paramref name="memory"/> until the CQE is reaped and returns its address.</summary>
    internal nint Pin(ReadOnlyMemory<byte> memory)
    {
        if (!_hasPin)
        {
            _pin = memory.Pin();
            _hasPin = true;
            return Addresses.Of(_pin);
        }

        return PinExtra(memory);
    }

    /// <summary>Pins an additional buffer (scatter/gather element, path, result struct).</summary>
    internal nint PinExtra(ReadOnlyMemory<byte> memory)
    {
        if (_extraPinCount == _extraPins.Length)
        {
            Array.Resize(ref _extraPins, Math.Max(4, _extraPins.Length * 2));
        }

        MemoryHandle h = memory.Pin();
        _extraPins[_extraPinCount++] = h;
        return Addresses.Of(h);
    }

    /// <summary>Makes room for <paramref name="count"/> iovecs (reusing the array across uses).</summary>
    internal IoVec[] EnsureIoVecs(int count)
    {
        if (IoVecs.Length < count)
        {
            IoVecs = new IoVec[Math.Max(count, 4)];
        }

        IoVecCount = count;
        return IoVecs;
    }

    /// <summary>Fills and pins the iovecs of a gather write of <paramref name="buffers"/> and prepares the <c>WRITEV</c>.</summary>
    internal void PrepGatherWrite(int fd, IReadOnlyList<ReadOnlyMemory<byte>> buffers, ulong fileOffset)
    {
        int count = buffers.Count;
        IoVec[] iov = EnsureIoVecs(count);
        for (int i = 0; i < count; i++)
        {
            ReadOnlyMemory<byte> b = buffers[i];
            iov[i] = new IoVec(PinExtra(b), (nuint)b.Length);
        }

        IoVecAddress = PinIoVecs();
        Template.PrepWritev(fd, IoVecAddress, (uint)count, fileOffset);
    }

    /// <summary>
    /// Accounts <paramref name="written"/> bytes of a write that must write everything (owner, after its CQE). Returns
    /// true when it is done; otherwise the template now describes the rest, to be submitted again.
    /// </summary>
    internal bool AdvanceWrite(int written)
    {
        if (Kind == OpKind.Write)
        {
            if ((uint)written >= Template.Len)
            {
                return true;
            }

            Transferred += written;
            Template.Addr += (uint)written;
            Template.Len -= (uint)written;
            AdvanceOffset(written);
            return false;
        }

        IoVec[] iov = IoVecs;
        int k = IoVecStart;
        long left = written;
        while (k < IoVecCount && left >= (long)iov[k].Length)
        {
            left -= (long)iov[k].Length;
            k++;
        }

        if (k >= IoVecCount)
        {
            return true;
        }

        // The kernel is done with the array (its CQE is reaped), so the remaining entries can be edited in place.
        iov[k].Base += (nint)left;
        iov[k].Length -= (nuint)left;
        IoVecStart = k;
        Transferred += written;
        Template.Addr = (ulong)(IoVecAddress + (k * System.Runtime.CompilerServices.Unsafe.SizeOf<IoVec>()));
        Template.Len = (uint)(IoVecCount - k);
        AdvanceOffset(written);
        return false;
    }

    /// <summary>
    /// Moves a resubmitted write's file offset past what was written. Offset -1 (a pipe, socket or other stream) stays
    /// -1: the kernel refuses any other offset on an unseekable file with <c>ESPIPE</c>.
    /// </summary>
    private void AdvanceOffset(int written)
    {
        if (Template.Off != ulong.MaxValue)
        {
            Template.Off += (uint)written;
        }
    }

    /// <summary>
    /// Fills and pins the msghdr of a one-buffer sendmsg/recvmsg: <paramref name="buffer"/> as its only iovec, and
    /// <paramref name="address"/> (a native sockaddr, or empty for a connected socket) as <c>msg_name</c>. Returns the
    /// msghdr's address. The msghdr is the op's own and reused, so a datagram request allocates nothing.
    /// </summary>
    internal nint PinMessage(ReadOnlyMemory<byte> buffer, ReadOnlyMemory<byte> address)
    {
        if (_message.Length == 0)
        {
            _message = new MsgHdr[1];
        }

        IoVec[] iov = EnsureIoVecs(1);
        iov[0] = new IoVec(Pin(buffer), (nuint)buffer.Length);
        ref MsgHdr m = ref _message[0];
        m = default;
        if (!address.IsEmpty)
        {
            m.Name = PinExtra(address);
            m.NameLength = (uint)address.Length;
        }

        m.Iov = PinIoVecs();
        m.IovLength = 1;
        MemoryHandle h = new Memory<MsgHdr>(_message).Pin();
        if (_extraPinCount == _extraPins.Length)
        {
            Array.Resize(ref _extraPins, Math.Max(4, _extraPins.Length * 2));
        }

        _extraPins[_extraPinCount++] = h;
        return Addresses.Of(h);
    }

    /// <summary>Pins the iovec array (after it was filled) and returns its address.</summary>
    internal nint PinIoVecs()
    {
        MemoryHandle h = new Memory<IoVec>(IoVecs, 0, IoVecCount).Pin();
        if (_extraPinCount == _extraPins.Length)
        {
            Array.Resize(ref _extraPins, Math.Max(4, _extraPins.Length * 2));
        }

        _extraPins[_extraPinCount++] = h;
        return Addresses.Of(h);
    }

    /// <summary>Registers for cancellation and returns the version for the <see cref="ValueTask"/>. Called right before the push.</summary>
    internal short Arm(CancellationToken cancellationToken)
    {
        _token = cancellationToken;
        if (cancellationToken.CanBeCanceled)
        {
            // UnsafeRegister: no ExecutionContext capture. If the token is already cancelled the callback runs here,
            // queues a cancel request the loop ignores (the op is not in flight yet), and the loop then sees the
            // cancelled token when it takes the op and completes it without submitting.
            _registration = cancellationToken.UnsafeRegister(s_onCancel, this);
        }

        return _core.Version;
    }

    private void OnCancelRequested()
    {
        if (Interlocked.Exchange(ref CancelQueued, 1) == 0)
        {
            _engine.PushCancel(this);
        }
    }

    /// <summary>
    /// Releases everything the request held for the kernel (pins, handle reference, cancellation registration) and
    /// publishes the result. Called on the loop thread once the final CQE is reaped, or for an op that was never
    /// submitted. After this the awaiter may run, reset and reuse the op.
    /// </summary>
    internal void Complete(long result)
    {
        if (Kind == OpKind.RecvMsg && result >= 0)
        {
            // The kernel wrote the sender's address length back into the msghdr, which goes with the op: the result
            // carries it up (a datagram is at most 64 KiB, so the byte count fits the low 32 bits).
            result |= (long)Math.Min(_message[0].NameLength, 0xFFFFu) << 32;
        }

        if (result < 0)
        {
            // Before the handle reference goes: the error message names the file (GetResult builds it).
            var file = Owner as IFileErrorSource;
            _failedHandle = _handle ?? file?.Handle;
            _failedPath = file?.Path;
        }

        if (!Abandoned)
        {
            ReleaseResources();
        }

        IOperationOwner? owner = Owner;
        Owner = null;
        if (Kind == OpKind.InstallFixedFile && owner is not null)
        {
            // Before OnOperationCompleted: once the owner sees no pending op, it may release the slot at once.
            owner.OnFixedFileInstalled(_engine, result == 1 ? MemoryMarshal.Read<int>(FilesUpdateArgument) : -1);
        }

        owner?.OnOperationCompleted(_engine);
        if (FireAndForget)
        {
            if (!Abandoned)
            {
                ResetAndReturn();
            }

            return;
        }

        _core.SetResult(result);
    }

    /// <summary>
    /// Called by a stopping engine for an op the kernel did not give back within the dispose timeout. The op keeps its
    /// pins for good (the engine keeps it reachable), so the kernel can never write into memory that moved or was
    /// freed. What the kernel does not need goes now: the handle reference (a submitted request holds the kernel's own
    /// reference on the file, so the descriptor may close; without this an adopted <c>Socket.Dispose</c> would spin
    /// forever) and the cancellation registration.
    /// </summary>
    /// <returns>
    /// True when the op may still be completed (with an error): the kernel only reads the caller's memory (a send, a
    /// write) or touches none of it. False for a read or receive into the caller's buffer: completing it would hand
    /// that buffer back while the kernel may still write into it, so it never completes; its owner (a file waiting to
    /// close) is told it ended.
    /// </returns>
    internal bool GiveUpAtShutdown()
    {
        Abandoned = true;
        if (_handle is not null)
        {
            _handle.DangerousRelease();
            _handle = null;
        }

        _ = _registration.Unregister();
        _registration = default;
        if (Kind is OpKind.Read or OpKind.ReadV or OpKind.Recv or OpKind.RecvMsg)
        {
            IOperationOwner? owner = Owner;
            Owner = null;
            owner?.OnOperationCompleted(_engine);
            return false;
        }

        return true;
    }

    /// <summary>Releases what the submitting thread acquired, for an op that is not going to be submitted at all.</summary>
    internal void ReleaseResources()
    {
        if (_hasPin)
        {
            _pin.Dispose();
            _pin = default;
            _hasPin = false;
        }

        for (int i = 0; i < _extraPinCount; i++)
        {
            _extraPins[i].Dispose();
            _extraPins[i] = default;
        }

        _extraPinCount = 0;
        if (_handle is not null)
        {
            _handle.DangerousRelease();
            _handle = null;
        }

        // Unregister, not Dispose: never wait on the loop for a callback running elsewhere. A callback that already
        // started only queues a cancel request, which the loop ignores once the op is no longer in flight.
        _ = _registration.Unregister();
        _registration = default;
    }

    /// <summary>Clears the request fields and returns the op to its pool. The op must not be in flight.</summary>
    internal void ResetAndReturn()
    {
        Template = default;
        Kind = OpKind.Nop;
        Path = null;
        _token = default;
        Transferred = 0;
        Deadline = default;
        IoVecCount = 0;
        IoVecAddress = 0;
        IoVecStart = 0;
        Owner = null;
        _failedHandle = null;
        _failedPath = null;
        CancelIssued = false;
        FireAndForget = false;
        CompleteOnLoop = false;
        FilesUpdateArgument = null;
        NextSubmit = null;
        _core.Reset();
        _engine.ReturnOperation(this);
    }

    private long GetResultCore(short token)
    {
        if (token != _core.Version)
        {
            // Awaited twice, or after it was returned to the pool: fail without touching the op, which may already
            // serve another request.
            ThrowMisused();
        }

        long result = _core.GetResult(token);
        if (result >= 0)
        {
            ResetAndReturn();
            return result;
        }

        Exception e = result == -Errno.ECANCELED && Deadline.IsSet && !_token.IsCancellationRequested && !_engine.IsDisposing
            ? Deadline.TimedOut(IoErrors.Name(Kind))
            : IoErrors.ForOperation((int)-result, Kind, Path ?? _failedPath, _failedHandle, _token, _engine.IsDisposing);
        if (!Abandoned)
        {
            // An abandoned op stays out of the pool for good: its pins are still held for the kernel.
            ResetAndReturn();
        }

        throw e;
    }

    /// <inheritdoc/>
    public ValueTaskSourceStatus GetStatus(short token)
    {
        if (token != _core.Version)
        {
            // A second await asks IsCompleted first: say what was misused rather than ManualResetValueTaskSourceCore's
            // "Operation is not valid due to the current state of the object."
            ThrowMisused();
        }

        return _core.GetStatus(token);
    }

    /// <inheritdoc/>
    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        if (token != _core.Version)
        {
            ThrowMisused();
        }

        _core.OnCompleted(continuation, state, token, flags);
    }

    /// <summary>A <see cref="ValueTask"/> of a pooled operation used after its result was consumed.</summary>
    [DoesNotReturn]
    private static void ThrowMisused() =>
        throw new InvalidOperationException(
            "This ValueTask of an io_uring operation was already awaited (or its result read): an operation's ValueTask can be " +
            "awaited only once, because the operation goes back to a pool and serves another request. To await a result " +
            "several times, convert it once with .AsTask() or .Preserve().");

    int IValueTaskSource<int>.GetResult(short token) => (int)GetResultCore(token);

    long IValueTaskSource<long>.GetResult(short token) => GetResultCore(token);

    void IValueTaskSource.GetResult(short token) => GetResultCore(token);
}
