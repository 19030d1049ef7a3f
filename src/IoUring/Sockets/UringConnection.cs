using System.Buffers;
using System.IO.Pipelines;
using System.Net;

namespace IoUring;

/// <summary>
/// A connected <see cref="UringSocket"/> as an <see cref="IDuplexPipe"/>: bytes received land in <see cref="Input"/>,
/// bytes written and flushed to <see cref="Output"/> are sent. Create one with <see cref="UringSocket.CreateConnection"/>.
/// </summary>
/// <remarks>
/// <para><b>Receiving.</b> One multishot receive (Linux 6.0+) picks buffers from the engine's provided-buffer ring; the
/// loop copies each completion into the input pipe and gives the buffer back at once, so an idle connection holds no
/// receive buffer. Older kernels get a re-armed single-shot receive. When the application has
/// <see cref="UringConnectionOptions.InputPauseThreshold"/> unconsumed bytes, receiving stops (the request is cancelled)
/// and resumes below <see cref="UringConnectionOptions.InputResumeThreshold"/>; meanwhile TCP flow control slows the peer.</para>
/// <para><b>Sending.</b> A send loop takes what is flushed to <see cref="Output"/> and sends it: one segment with
/// <c>IORING_OP_SEND</c>, several with one <c>writev</c>, a large contiguous block with zero-copy <c>SEND_ZC</c> where
/// supported (see <see cref="UringConnectionOptions.ZeroCopySendThreshold"/>). Completing <see cref="Output"/> sends what
/// is left and then shuts down the sending side (the peer reads end of stream); receiving goes on (half-close).</para>
/// <para><b>Errors.</b> A reset connection makes <see cref="PipeReader.ReadAsync"/> and <see cref="PipeWriter.FlushAsync"/>
/// throw an <see cref="IOException"/> whose inner exception is a <see cref="UringSocketException"/>
/// (<see cref="System.Net.Sockets.SocketError.ConnectionReset"/>), like <see cref="System.Net.Sockets.NetworkStream"/>.
/// End of stream completes <see cref="Input"/> normally.</para>
/// <para><b>Allocation.</b> In steady state, receiving, reading, writing and sending allocate nothing.</para>
/// </remarks>
public sealed class UringConnection : IDuplexPipe, IAsyncDisposable, IDisposable
{
    private readonly UringSocket _socket;
    private readonly UringConnectionOptions _options;
    private readonly Pipe _input;
    private readonly Pipe _output;
    private readonly ReceiveOperation _receive;
    private readonly List<ReadOnlyMemory<byte>> _gather = new(16);
    private readonly Task _sending;
    private ZeroCopySender? _zeroCopy;
    private Task? _disposing;
    private int _aborted;
    private int _closing;

    /// <summary>Cancelled (on the thread pool) when the connection has ended: see <see cref="ConnectionClosed"/>.</summary>
    private readonly CancellationTokenSource _connectionClosed = new();

    /// <summary>1 once <see cref="_connectionClosed"/> has been scheduled to cancel.</summary>
    private int _closedSignalled;

    internal UringConnection(UringSocket socket, UringConnectionOptions options)
    {
        _socket = socket;
        _options = options;
        IoUringEngine engine = socket.Engine;
        MemoryPool<byte> pool = options.MemoryPool ?? PinnedBlockMemoryPool.Shared;

        // Input: written by the ring's owner while it reaps. Its reader's continuations run with the engine's completions
        // (in the pass's continuation phase, or in the next batch for the thread pool), never in the middle of ring work;
        // the writer's flush continuation only pokes the engine, so it runs wherever it is released.
        _input = new Pipe(new PipeOptions(
            pool,
            readerScheduler: engine.CompletionScheduler,
            writerScheduler: PipeScheduler.Inline,
            pauseWriterThreshold: options.InputPauseThreshold,
            resumeWriterThreshold: options.InputResumeThreshold,
            useSynchronizationContext: false));

        // Output: read by the send loop, which only turns data into send requests, so its continuations run where they
        // are released: on the application's thread when it flushes, with the engine's completions when a send
        // completes. The application's flush continuation (after back-pressure) runs with the engine's completions too.
        _output = new Pipe(new PipeOptions(
            pool,
            readerScheduler: PipeScheduler.Inline,
            writerScheduler: engine.CompletionScheduler,
            pauseWriterThreshold: options.OutputPauseThreshold,
            resumeWriterThreshold: options.OutputResumeThreshold,
            useSynchronizationContext: false));

        if (options.ZeroCopySendThreshold > 0 && ZeroCopySender.IsSupported)
        {
            _zeroCopy = new ZeroCopySender(engine, socket.SafeHandle);
        }

        _receive = new ReceiveOperation(engine, socket.SafeHandle, _input.Writer, options, SignalClosed);
        _ = _receive.RequestArm();
        Interlocked.Increment(ref engine.Counters.ConnectionsActive);
        _sending = SendLoopAsync();
    }

    /// <summary>Received bytes. Complete it when done reading (receiving then stops).</summary>
    public PipeReader Input => _input.Reader;

    /// <summary>Bytes to send. Complete it to send what is left and shut down the sending side.</summary>
    public PipeWriter Output => _output.Writer;

    /// <summary>The underlying socket (for options and endpoints; its own receive and send are refused).</summary>
    public UringSocket Socket => _socket;

    /// <summary>The remote endpoint.</summary>
    public EndPoint? RemoteEndPoint => _socket.RemoteEndPoint;

    /// <summary>The local endpoint.</summary>
    public EndPoint? LocalEndPoint => _socket.LocalEndPoint;

    /// <summary>Bytes received so far.</summary>
    public long BytesReceived => _receive.BytesReceived;

    /// <summary>Bytes sent so far.</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    /// <summary>Times receiving paused because the application fell behind (back-pressure).</summary>
    public int ReceivePauses => _receive.Pauses;

    /// <summary>Times the engine's buffer ring ran dry under this connection's receive (<c>ENOBUFS</c>) and the receive was re-armed.</summary>
    public int ReceiveBufferShortages => _receive.BufferShortages;

    /// <summary>True when receives use a multishot request.</summary>
    public bool UsesMultishotReceive => _receive.IsMultishot;

    /// <summary>True when receives use the engine's provided-buffer ring.</summary>
    public bool UsesBufferRing => _receive.UsesBufferRing;

    /// <summary>Sends that went out with zero-copy <c>SEND_ZC</c>.</summary>
    public long ZeroCopySends => _zeroCopy?.Count ?? 0;

    private long _bytesSent;

    /// <summary>
    /// Cancelled once the connection has ended as a transport sees it: receiving ended (the peer shut down its sending
    /// side or reset the connection, or a receive failed), a send failed, or the connection was aborted or disposed.
    /// This is what Kestrel's <c>ConnectionContext.ConnectionClosed</c> means (its socket transport fires it at the
    /// peer's end of stream too). Callbacks run on the thread pool, never on the engine's loop thread.
    /// </summary>
    public CancellationToken ConnectionClosed => _connectionClosed.Token;

    /// <summary>Schedules <see cref="ConnectionClosed"/> once; may be called on the loop thread.</summary>
    private void SignalClosed()
    {
        if (Interlocked.Exchange(ref _closedSignalled, 1) != 0)
        {
            return;
        }

        ThreadPool.UnsafeQueueUserWorkItem(static cts => cts.Cancel(), _connectionClosed, preferLocal: false);
    }

    /// <summary>A <see cref="Stream"/> over the connection (reads <see cref="Input"/>, writes and flushes <see cref="Output"/>).</summary>
    /// <returns>The stream; disposing it disposes the connection.</returns>
    public Stream AsStream() => new UringConnectionStream(this);

    private async Task SendLoopAsync()
    {
        PipeReader reader = _output.Reader;
        Exception? error = null;
        bool completed = false;
        try
        {
            while (true)
            {
                ReadResult result = await reader.ReadAsync().ConfigureAwait(false);
                ReadOnlySequence<byte> buffer = result.Buffer;
                while (!buffer.IsEmpty)
                {
                    ReadOnlyMemory<byte> first = buffer.First;
                    long sent;
                    if (_zeroCopy is not null && first.Length >= _options.ZeroCopySendThreshold)
                    {
                        try
                        {
                            sent = await _zeroCopy.SendAsync(first).ConfigureAwait(false);
                        }
                        catch (UringSocketException e) when (e.Errno == Interop.Errno.EOPNOTSUPP)
                        {
                            // The socket's family has no zero-copy send (a Unix-domain socket): nothing was sent;
                            // send ordinarily from now on.
                            _zeroCopy.Close();
                            _zeroCopy = null;
                            continue;
                        }
                    }
                    else if (buffer.IsSingleSegment || _options.ZeroCopySendThreshold > 0 && IsNextLarge(buffer))
                    {
                        sent = await _socket.Engine.SendSocketAsync(_socket.SafeHandle, first, CancellationToken.None, completeOnLoop: true).ConfigureAwait(false);
                    }
                    else
                    {
                        GatherSegments(buffer);
                        sent = await _socket.Engine.SendSocketAsync(_socket.SafeHandle, _gather, CancellationToken.None, completeOnLoop: true).ConfigureAwait(false);
                        _gather.Clear();
                    }

                    if (sent == 0)
                    {
                        // No progress on a non-empty buffer (a stream send blocks or fails, it does not return 0):
                        // an error, as a write that returns 0 is, instead of asking again forever.
                        throw new UringSocketException(Interop.Errno.EIO, "send");
                    }

                    Interlocked.Add(ref _bytesSent, sent);
                    buffer = buffer.Slice(sent);
                }

                reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    completed = true;
                    break;
                }

                if (result.IsCanceled && Volatile.Read(ref _closing) != 0)
                {
                    // Disposing with the output still open: what was flushed has been sent; stop here.
                    break;
                }
            }
        }
        catch (Exception e)
        {
            _gather.Clear();
            error = e is OperationCanceledException or ObjectDisposedException ? e : SocketErrors.ForTransport(e, reading: false);
            if (!_options.PeerResetFailsOutput && e is UringSocketException { Errno: Interop.Errno.ECONNRESET or Interop.Errno.EPIPE or Interop.Errno.ECONNABORTED })
            {
                // The peer has gone: end the output quietly (Kestrel's socket transport does the same); ConnectionClosed
                // reports it, and the application's writes after it go nowhere instead of throwing.
                error = null;
            }

            SignalClosed();
        }

        if (completed)
        {
            try
            {
                // Half-close: the peer reads end of stream; receiving goes on.
                await _socket.Engine.ShutdownSocketAsync(_socket.SafeHandle, Interop.Libc.SHUT_WR).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Already reset or closed by the peer: nothing left to tell it.
            }
        }

        await reader.CompleteAsync(error).ConfigureAwait(false);
    }

    private bool IsNextLarge(ReadOnlySequence<byte> buffer)
    {
        // A gather write stops before a block big enough for zero-copy, so that block goes alone.
        if (_zeroCopy is null)
        {
            return false;
        }

        SequencePosition position = buffer.GetPosition(buffer.First.Length);
        ReadOnlySequence<byte> rest = buffer.Slice(position);
        return !rest.IsEmpty && rest.First.Length >= _options.ZeroCopySendThreshold;
    }

    private void GatherSegments(ReadOnlySequence<byte> buffer)
    {
        foreach (ReadOnlyMemory<byte> segment in buffer)
        {
            if (segment.IsEmpty)
            {
                continue;
            }

            if (_zeroCopy is not null && segment.Length >= _options.ZeroCopySendThreshold && _gather.Count > 0)
            {
                break;
            }

            _gather.Add(segment);
            if (_gather.Count == IoUringEngine.MaxIoVecs)
            {
                break;
            }
        }
    }

    /// <summary>
    /// Closes the connection at once: pending and future sends are dropped, receiving stops, and the socket is shut
    /// down so that the peer sees the connection end. <see cref="DisposeAsync"/> still releases it.
    /// </summary>
    public void Abort()
    {
        if (Interlocked.Exchange(ref _aborted, 1) != 0)
        {
            return;
        }

        Volatile.Write(ref _closing, 1);
        _output.Reader.CancelPendingRead();
        _receive.RequestClose();
        // RST: the peer learns at once, and requests blocked on the socket wake up.
        _socket.DisposeCore(shutdown: true, abortive: true);
        SignalClosed();
    }

    /// <summary>
    /// Closes the connection: lets output already flushed drain (up to <see cref="UringConnectionOptions.CloseTimeout"/>,
    /// then aborts), stops receiving, waits until the kernel has let go of the socket, and closes it. Complete
    /// <see cref="Output"/> first to have everything written sent; an output still open is cancelled.
    /// </summary>
    /// <returns>A task that completes when the socket is closed.</returns>
    public ValueTask DisposeAsync()
    {
        lock (_gather)
        {
            _disposing ??= DisposeCoreAsync();
        }

        return new ValueTask(_disposing);
    }

    /// <summary>
    /// Disposes synchronously: blocks until <see cref="DisposeAsync"/> has finished, except in a continuation on the
    /// engine's thread of an engine whose ring never changes threads, where it only starts it: blocking there would wait
    /// for that thread itself.
    /// </summary>
    public void Dispose()
    {
        ValueTask disposing = DisposeAsync();
        if (_socket.Engine.CanWaitForLoop)
        {
            disposing.AsTask().GetAwaiter().GetResult();
        }
    }

    private async Task DisposeCoreAsync()
    {
        // What was flushed goes out; then the send loop stops (an output the application completed ends it anyway).
        Volatile.Write(ref _closing, 1);
        _output.Reader.CancelPendingRead();
        try
        {
            await _sending.WaitAsync(_options.CloseTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A peer that does not read: abort, which fails the pending send.
            _socket.DisposeCore(shutdown: true, abortive: true);
        }
        catch (Exception)
        {
            // The send loop failed (its error reached the application through the output): it is over all the same.
        }

        try
        {
            await _sending.ConfigureAwait(false);
        }
        catch (Exception)
        {
        }

        try
        {
            _receive.RequestClose();
            await _receive.Closed.ConfigureAwait(false);
            _zeroCopy?.Close();
        }
        finally
        {
            // Nothing of ours is pending on the socket any more: a plain close (FIN; RST if the peer sent data nobody
            // read). No shutdown(SHUT_RD) first: after it, an orphaned socket can keep a zero window and stall a peer
            // that still sends. Whatever happened above, the descriptor closes: a disposed connection never leaks it.
            _socket.DisposeCore(shutdown: false, abortive: false);
            Interlocked.Decrement(ref _socket.Engine.Counters.ConnectionsActive);
            // The transport's own pipe ends (the send loop's reader, the receive's writer) are complete by now, so the
            // application's reads and flushes end. Its own ends are the application's to complete: completing them
            // here would race with an application still writing or reading on another thread (a pipe end is
            // single-threaded).
            SignalClosed();
        }
    }
}
