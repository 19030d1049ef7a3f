using System.Net;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;
using IoUring.Interop;

namespace IoUring;

/// <summary>
/// A standing receive on a <see cref="UringUdpSocket"/>: one multishot <c>recvmsg</c> (<c>IORING_OP_RECVMSG</c> with
/// <c>IORING_RECV_MULTISHOT</c>, Linux 6.0; liburing <c>io_uring_prep_recvmsg_multishot</c>) over a provided-buffer ring of
/// its own, so each datagram costs the kernel one completion and the caller no system call and no allocation. Create it
/// with <see cref="UringUdpSocket.StartReceiving"/>.
/// </summary>
/// <remarks>
/// <para>The kernel writes each datagram, with its sender's address, into a free buffer of the ring and posts a
/// completion; the receiver parses it (liburing <c>io_uring_recvmsg_validate</c>, <c>io_uring_recvmsg_name</c>,
/// <c>io_uring_recvmsg_payload</c>) and queues it. Read the queue with <see cref="ReadAllAsync"/>
/// (<c>await foreach</c>), <see cref="ReceiveAsync"/>, or <see cref="WaitToReceiveAsync"/> + <see cref="TryReceive"/> to
/// drain a burst without awaiting. A <see cref="UringDatagram"/> points into its buffer, which goes back to the kernel at
/// the consumer's next call: one consumer at a time, and copy what you keep.</para>
/// <para>Back-pressure: at most <see cref="UdpReceiverOptions.BufferCount"/> datagrams wait for the consumer. When they
/// are all taken the kernel ends the request (<c>ENOBUFS</c>); the receiver re-arms it as soon as the consumer hands a
/// buffer back, and meanwhile datagrams wait in the socket's receive buffer (<c>SO_RCVBUF</c>), where UDP drops what
/// does not fit. Whenever the kernel ends the request without <c>IORING_CQE_F_MORE</c> (a full completion queue, a
/// transient socket error) while the receiver is wanted, it is re-armed.</para>
/// <para>A socket error such as <see cref="System.Net.Sockets.SocketError.ConnectionRefused"/> (an ICMP "port
/// unreachable" on a connected socket) is thrown once by the consumer's next call when no datagram is queued, and
/// receiving goes on; an error the socket cannot recover from is thrown by every later call.</para>
/// <para><see cref="Dispose"/> (or disposing the socket) cancels the request in the kernel; the buffers are unregistered
/// and freed once the kernel has posted its last completion. Pending calls end: <see cref="ReceiveAsync"/> with
/// <see cref="ObjectDisposedException"/>, <see cref="WaitToReceiveAsync"/> with false.</para>
/// </remarks>
public sealed class UringUdpReceiver : IDisposable
{
    /// <summary>The sockets' receive requests in the kernel and the buffer ring, driven on the engine's loop.</summary>
    private readonly UdpMultishotReceive _operation;

    /// <summary>Guards the queue, the waiter flag, the error, the buffer ring's tail and <see cref="Outstanding"/>.</summary>
    internal readonly Lock Gate = new();

    /// <summary>Datagrams received and not yet taken, in arrival order (a ring as long as the buffer ring: never full).</summary>
    private readonly QueuedDatagram[] _queue;

    /// <summary>Index of the oldest queued datagram.</summary>
    private int _queueHead;

    /// <summary>Number of queued datagrams.</summary>
    private int _queueCount;

    /// <summary>The consumer's wake-up, reused for every wait.</summary>
    private readonly Waiter _waiter = new();

    /// <summary>True while a consumer waits on <see cref="_waiter"/> (gate).</summary>
    private bool _waiting;

    /// <summary>An error for the consumer (gate), thrown once (transient) or on every call (<see cref="_errorIsFinal"/>).</summary>
    private ExceptionDispatchInfo? _error;

    /// <summary>True when <see cref="_error"/> ended receiving for good.</summary>
    private bool _errorIsFinal;

    /// <summary>True once no more datagrams will come: disposed, the socket closed, the engine stopped, or a final error (gate).</summary>
    private bool _ended;

    /// <summary>The buffer the consumer holds (its datagram's), valid while <see cref="_leaseMemory"/> is set.</summary>
    private ushort _leaseBuffer;

    /// <summary>
    /// Set while the consumer holds a buffer: the buffers' memory, referenced so that it outlives a concurrent close
    /// (taken atomically, so that the lease ends once).
    /// </summary>
    private NativeMemoryBlock? _leaseMemory;

    /// <summary>1 while a consumer call runs (one consumer at a time).</summary>
    private int _busy;

    /// <summary>1 once disposed.</summary>
    private int _disposed;

    /// <summary>Recent senders, so that a repeated sender costs no allocation (consumer only).</summary>
    private readonly UdpSenderCache _senders = new();

    /// <summary>Ends the receiver when its socket is disposed.</summary>
    private readonly CancellationTokenRegistration _socketClosed;

    internal UringUdpReceiver(UringUdpSocket socket, SafeHandle handle, UdpReceiverOptions options, CancellationToken socketClosed)
    {
        Socket = socket;
        Options = options;
        NameRoom = socket.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? 28 : 16;
        options.Validate(NameRoom);
        _queue = new QueuedDatagram[options.BufferCount];
        _operation = new UdpMultishotReceive(this, handle, options);
        _socketClosed = socketClosed.UnsafeRegister(static s => ((UringUdpReceiver)s!).End(), this);
        if (!_operation.RequestArm())
        {
            End();
        }
    }

    /// <summary>The socket the receiver reads.</summary>
    public UringUdpSocket Socket { get; }

    /// <summary>The receiver's buffer sizes.</summary>
    public UdpReceiverOptions Options { get; }

    /// <summary>Datagrams the kernel delivered so far (diagnostics; written on the engine's loop).</summary>
    public long DatagramsReceived => Volatile.Read(ref _operation.Received);

    /// <summary>Datagrams that arrived truncated (longer than a buffer's payload room).</summary>
    public long TruncatedDatagrams => Volatile.Read(ref _operation.Truncated);

    /// <summary>Times the kernel ran out of buffers (<c>ENOBUFS</c>) because the consumer held them all; each was followed by a re-arm once one came back.</summary>
    public long BufferShortages => Volatile.Read(ref _operation.Shortages);

    /// <summary>Times the request was submitted again after the kernel ended it without <c>IORING_CQE_F_MORE</c> (shortages included).</summary>
    public long Rearms => Volatile.Read(ref _operation.Rearms);

    /// <summary>Completes once the kernel has let go of the request and the buffers are freed (after disposal, or when the engine stopped).</summary>
    internal Task Closed => _operation.Closed;

    /// <summary>Bytes of sender address room in each buffer (16 for IPv4, 28 for IPv6).</summary>
    internal int NameRoom { get; }

    /// <summary>The buffer ring, created on the loop at the first arming; null before and after (gate).</summary>
    internal BufferRing? Buffers { get; set; }

    /// <summary>Buffers out of the kernel: queued or held by the consumer (gate).</summary>
    internal int Outstanding;

    /// <summary>The loop left the request unarmed because every buffer was out; the next buffer handed back re-arms it (gate).</summary>
    internal bool Starved;

    /// <summary>
    /// Takes the next queued datagram, if any, handing the previous one's buffer back to the kernel. Never waits.
    /// </summary>
    /// <param name="datagram">The datagram, valid until the next call on this receiver.</param>
    /// <returns>False when none is queued.</returns>
    /// <exception cref="ObjectDisposedException">The receiver is disposed.</exception>
    /// <exception cref="UringSocketException">The socket reported an error and no datagram is queued.</exception>
    /// <exception cref="InvalidOperationException">Another call of this receiver is running (one consumer at a time).</exception>
    public bool TryReceive(out UringDatagram datagram)
    {
        Enter();
        try
        {
            return TryTake(out datagram);
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Waits until a datagram is queued (or an error is), handing the previous datagram's buffer back first.</summary>
    /// <param name="cancellationToken">Cancels the wait (not the receiver).</param>
    /// <returns>True when <see cref="TryReceive"/> has something; false once the receiver has ended (disposed, socket closed, engine stopped).</returns>
    /// <exception cref="ObjectDisposedException">The receiver was disposed before the call.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    /// <exception cref="InvalidOperationException">Another call of this receiver is running.</exception>
    public ValueTask<bool> WaitToReceiveAsync(CancellationToken cancellationToken = default)
    {
        Enter();
        bool exit = true;
        try
        {
            ReturnLease();
            lock (Gate)
            {
                if (_queueCount > 0 || _error is not null)
                {
                    return new ValueTask<bool>(true);
                }

                if (_ended)
                {
                    return new ValueTask<bool>(false);
                }

                cancellationToken.ThrowIfCancellationRequested();
                _waiter.Reset();
                _waiting = true;
            }

            exit = false;
            return WaitAsync(cancellationToken);
        }
        finally
        {
            if (exit)
            {
                Exit();
            }
        }
    }

    /// <summary>Receives the next datagram, waiting for one if none is queued; the previous datagram's buffer goes back to the kernel.</summary>
    /// <param name="cancellationToken">Cancels the wait (not the receiver).</param>
    /// <returns>The datagram, valid until the next call on this receiver.</returns>
    /// <exception cref="ObjectDisposedException">The receiver, its socket or its engine was disposed.</exception>
    /// <exception cref="UringSocketException">The socket reported an error.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public ValueTask<UringDatagram> ReceiveAsync(CancellationToken cancellationToken = default) =>
        TryReceive(out UringDatagram datagram) ? new ValueTask<UringDatagram>(datagram) : ReceiveSlowAsync(cancellationToken);

    /// <summary>
    /// The datagrams as they come, for <c>await foreach</c>; each is valid until the loop asks for the next one. Ends when
    /// the receiver, its socket or its engine is disposed; throws a socket error as <see cref="ReceiveAsync"/> does.
    /// </summary>
    /// <param name="cancellationToken">Ends the enumeration with <see cref="OperationCanceledException"/> (the receiver goes on).</param>
    /// <returns>The datagrams.</returns>
    public async IAsyncEnumerable<UringDatagram> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        try
        {
            while (await WaitToReceiveAsync(cancellationToken).ConfigureAwait(false))
            {
                while (TryReceive(out UringDatagram datagram))
                {
                    yield return datagram;
                }
            }
        }
        finally
        {
            // The last datagram's buffer goes back when the caller leaves the loop early.
            if (Volatile.Read(ref _disposed) == 0 && Interlocked.CompareExchange(ref _busy, 1, 0) == 0)
            {
                ReturnLease();
                Exit();
            }
        }
    }

    /// <summary>
    /// Stops receiving: the request is cancelled in the kernel and the buffers are freed once it has let go of them.
    /// The datagram last received is no longer valid; queued ones are dropped. A pending wait ends.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _socketClosed.Dispose();
        End();
        ReturnLease();
    }

    // ---- Called on the engine's loop by the operation. ----

    /// <summary>Queues a datagram whose buffer the kernel filled (gate held by the caller).</summary>
    internal void QueueLocked(in QueuedDatagram datagram)
    {
        _queue[(_queueHead + _queueCount) & (_queue.Length - 1)] = datagram;
        _queueCount++;
    }

    /// <summary>Records an error for the consumer (gate held by the caller); a final one also ends the receiver.</summary>
    internal void FailLocked(Exception error, bool final)
    {
        if (_errorIsFinal)
        {
            return;
        }

        _error = ExceptionDispatchInfo.Capture(error);
        _errorIsFinal = final;
        _ended |= final;
    }

    /// <summary>Marks the receiver ended (gate held by the caller): the queue drains, then waits return false.</summary>
    internal void EndLocked() => _ended = true;

    /// <summary>Wakes a waiting consumer, if any (gate held by the caller); returns whether <see cref="WakeWaiter"/> must follow outside the gate.</summary>
    internal bool TakeWaiterLocked()
    {
        bool waiting = _waiting;
        _waiting = false;
        return waiting;
    }

    /// <summary>Completes the consumer's wait (outside the gate: the continuation is queued to the thread pool).</summary>
    internal void WakeWaiter() => _waiter.Complete(null);

    // ---- Consumer side. ----

    private bool TryTake(out UringDatagram datagram)
    {
        ReturnLease();
        QueuedDatagram q;
        BufferRing ring;
        lock (Gate)
        {
            if (_queueCount == 0 || Buffers is null)
            {
                datagram = default;
                ThrowErrorLocked();
                return false;
            }

            q = _queue[_queueHead];
            _queueHead = (_queueHead + 1) & (_queue.Length - 1);
            _queueCount--;
            ring = Buffers;
            // The memory is freed under the gate only, so it is still there: the reference keeps it until the lease ends.
            ring.BufferMemory.AddRef();
        }

        // The buffer is the consumer's until the next call: the kernel cannot pick it, the loop does not touch it.
        _leaseBuffer = q.BufferId;
        Volatile.Write(ref _leaseMemory, ring.BufferMemory);
        Memory<byte> memory = ring.BufferMemory.Memory;
        int start = q.BufferId * ring.BufferSize;
        int nameStart = start + ReceivedMessage.HeaderSize;
        int controlStart = nameStart + NameRoom;
        int payloadStart = controlStart + Options.ControlSize;
        IPEndPoint sender = _senders.Get(memory.Span.Slice(nameStart, q.NameLength));
        datagram = new UringDatagram(
            memory.Slice(payloadStart, q.PayloadBytes),
            memory.Slice(controlStart, q.ControlBytes),
            sender,
            q.Length,
            q.Flags);
        return true;
    }

    private void ThrowErrorLocked()
    {
        if (_error is null)
        {
            return;
        }

        ExceptionDispatchInfo error = _error;
        if (!_errorIsFinal)
        {
            _error = null;
        }

        error.Throw();
    }

    /// <summary>Hands the consumer's buffer back to the kernel; re-arms a receive that stopped because every buffer was out.</summary>
    private void ReturnLease()
    {
        NativeMemoryBlock? memory = Interlocked.Exchange(ref _leaseMemory, null);
        if (memory is null)
        {
            return;
        }

        ushort lease = _leaseBuffer;
        bool rearm = false;
        lock (Gate)
        {
            if (Buffers is not null && ReferenceEquals(Buffers.BufferMemory, memory) && !_ended)
            {
                Buffers.Recycle(lease);
                Outstanding--;
                rearm = Starved;
                Starved = false;
            }
        }

        memory.Release();
        if (rearm)
        {
            _ = _operation.Poke();
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> WaitAsync(CancellationToken cancellationToken)
    {
        CancellationTokenRegistration registration = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static (s, token) => ((UringUdpReceiver)s!).CancelWait(token), this)
            : default;
        try
        {
            await new ValueTask(_waiter, _waiter.Version).ConfigureAwait(false);
            lock (Gate)
            {
                return _queueCount > 0 || _error is not null || !_ended;
            }
        }
        finally
        {
            await registration.DisposeAsync().ConfigureAwait(false);
            Exit();
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<UringDatagram> ReceiveSlowAsync(CancellationToken cancellationToken)
    {
        while (await WaitToReceiveAsync(cancellationToken).ConfigureAwait(false))
        {
            if (TryReceive(out UringDatagram datagram))
            {
                return datagram;
            }
        }

        throw new ObjectDisposedException(nameof(UringUdpReceiver), "The receiver ended: it, its socket or its engine was disposed.");
    }

    private void CancelWait(CancellationToken token)
    {
        lock (Gate)
        {
            if (!TakeWaiterLocked())
            {
                return;
            }
        }

        _waiter.Complete(new OperationCanceledException(token));
    }

    /// <summary>Ends receiving (disposal, or the socket's): the kernel request is cancelled and a waiting consumer wakes.</summary>
    private void End()
    {
        bool wake;
        lock (Gate)
        {
            _ended = true;
            wake = TakeWaiterLocked();
        }

        if (wake)
        {
            WakeWaiter();
        }

        _operation.RequestClose();
    }

    private void Enter()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Interlocked.Exchange(ref _busy, 1) != 0)
        {
            throw new InvalidOperationException("A UringUdpReceiver has one consumer at a time: another receive or wait is still running.");
        }
    }

    private void Exit() => Volatile.Write(ref _busy, 0);

    /// <summary>A datagram in the queue: where its parts lie in its buffer (written by the loop, read by the consumer).</summary>
    internal readonly record struct QueuedDatagram(ushort BufferId, int NameLength, int ControlBytes, int PayloadBytes, int Length, int Flags);

    /// <summary>The consumer's reusable wake-up (one wait at a time; continuations run on the thread pool, never on the loop).</summary>
    private sealed class Waiter : IValueTaskSource
    {
        /// <summary>The reusable completion.</summary>
        private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };

        /// <summary>1 once completed in the current round (a cancellation and a wake-up may race).</summary>
        private int _completed;

        public short Version => _core.Version;

        public void Reset()
        {
            _core.Reset();
            Volatile.Write(ref _completed, 0);
        }

        public void Complete(Exception? error)
        {
            if (Interlocked.Exchange(ref _completed, 1) != 0)
            {
                return;
            }

            if (error is null)
            {
                _core.SetResult(true);
            }
            else
            {
                _core.SetException(error);
            }
        }

        public void GetResult(short token) => _core.GetResult(token);

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }
}
