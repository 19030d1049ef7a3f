using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace IoUring;

// Raw I/O: receive, send and shutdown as requests, or hand the socket to a UringConnection that owns it.
public sealed partial class UringSocket
{
    /// <summary>Receives into <paramref name="buffer"/> (<c>IORING_OP_RECV</c>).</summary>
    /// <param name="buffer">Where to receive to; pinned until the request completes.</param>
    /// <param name="cancellationToken">Cancels the receive (<c>IORING_OP_ASYNC_CANCEL</c>).</param>
    /// <returns>The number of bytes received; 0 when the peer has shut down its side (end of stream).</returns>
    /// <exception cref="UringSocketException">The receive failed (for example <see cref="SocketError.ConnectionReset"/>).</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before data arrived.</exception>
    /// <exception cref="InvalidOperationException">The socket is used by a <see cref="UringConnection"/>.</exception>
    public ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ThrowIfNotRaw();
        return Engine.ReceiveSocketAsync(_handle, buffer, cancellationToken);
    }

    /// <summary>
    /// Like <see cref="ReceiveAsync(Memory{byte}, CancellationToken)"/>, with a deadline the kernel enforces: the receive
    /// is linked to an <c>IORING_OP_LINK_TIMEOUT</c> (no timer object per call) and cancelled when
    /// <paramref name="timeout"/> passes first.
    /// </summary>
    /// <param name="buffer">Where to receive to; pinned until the request completes.</param>
    /// <param name="timeout">How long to wait for data; <see cref="Timeout.InfiniteTimeSpan"/> for no limit.</param>
    /// <param name="cancellationToken">Cancels the receive.</param>
    /// <returns>The number of bytes received; 0 at end of stream.</returns>
    /// <exception cref="TimeoutException">No data came within <paramref name="timeout"/>; nothing was received, the socket stays usable.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (other than infinite).</exception>
    public ValueTask<int> ReceiveAsync(Memory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        RequestDeadline deadline = RequestDeadline.After(timeout);
        ThrowIfNotRaw();
        return Engine.ReceiveSocketAsync(_handle, buffer, cancellationToken, deadline);
    }

    /// <summary>Sends all of <paramref name="buffer"/> (<c>IORING_OP_SEND</c> with <c>MSG_WAITALL</c>, repeated if the kernel still sends less).</summary>
    /// <param name="buffer">The data; pinned until it is sent.</param>
    /// <param name="cancellationToken">Cancels the send; bytes already sent stay sent.</param>
    /// <returns>A task that completes when every byte was handed to the kernel.</returns>
    /// <exception cref="UringSocketException">The send failed (for example <see cref="SocketError.Shutdown"/> for <c>EPIPE</c>, <see cref="SocketError.ConnectionReset"/>).</exception>
    /// <exception cref="InvalidOperationException">The socket is used by a <see cref="UringConnection"/>.</exception>
    public ValueTask SendAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        SendCoreAsync(buffer, cancellationToken, default);

    /// <summary>
    /// Like <see cref="SendAsync(ReadOnlyMemory{byte}, CancellationToken)"/>, with a deadline the kernel enforces
    /// (<c>IORING_OP_LINK_TIMEOUT</c>): every send request of this call shares the deadline <paramref name="timeout"/>
    /// from now.
    /// </summary>
    /// <param name="buffer">The data; pinned until it is sent.</param>
    /// <param name="timeout">How long the whole send may take; <see cref="Timeout.InfiniteTimeSpan"/> for no limit.</param>
    /// <param name="cancellationToken">Cancels the send; bytes already sent stay sent.</param>
    /// <returns>A task that completes when every byte was handed to the kernel.</returns>
    /// <exception cref="TimeoutException">The peer did not take the data in time (bytes already sent stay sent).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (other than infinite).</exception>
    public ValueTask SendAsync(ReadOnlyMemory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        SendCoreAsync(buffer, cancellationToken, RequestDeadline.After(timeout));

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendCoreAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken, RequestDeadline deadline)
    {
        ThrowIfNotRaw();
        while (!buffer.IsEmpty)
        {
            int sent = await Engine.SendSocketAsync(_handle, buffer, cancellationToken, deadline: deadline).ConfigureAwait(false);
            if (sent == 0)
            {
                // No progress on a non-empty buffer: an error (see UringConnection's send loop), not a retry forever.
                throw new UringSocketException(Interop.Errno.EIO, "send");
            }

            buffer = buffer[sent..];
        }
    }

    /// <summary>Shuts down one or both directions (<c>IORING_OP_SHUTDOWN</c>): <see cref="SocketShutdown.Send"/> sends FIN, so the peer reads end of stream.</summary>
    /// <param name="how">Which direction.</param>
    /// <returns>A task that completes when the shutdown is done.</returns>
    /// <exception cref="UringSocketException">The shutdown failed (for example <see cref="SocketError.NotConnected"/>).</exception>
    public ValueTask ShutdownAsync(SocketShutdown how)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        return Engine.ShutdownSocketAsync(_handle, (int)how);
    }

    /// <summary>
    /// Wraps the connected socket in a <see cref="UringConnection"/>: an <see cref="System.IO.Pipelines.IDuplexPipe"/>
    /// that receives into its input pipe (multishot, from the engine's buffer ring) and sends what is written to its
    /// output pipe. From then on the connection owns the socket (disposing it disposes the socket), and the socket's
    /// own <see cref="ReceiveAsync(Memory{byte}, CancellationToken)"/>/<see cref="SendAsync(ReadOnlyMemory{byte}, CancellationToken)"/> are refused.
    /// </summary>
    /// <param name="options">Options, or null for <see cref="UringConnectionOptions.Default"/>.</param>
    /// <returns>The connection.</returns>
    /// <exception cref="InvalidOperationException">The socket is listening or already has a connection.</exception>
    public UringConnection CreateConnection(UringConnectionOptions? options = null)
    {
        options ??= UringConnectionOptions.Default;
        options.Validate();
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            if (IsListening)
            {
                throw new InvalidOperationException("A listening socket cannot be a connection; accept one first.");
            }

            if (_connection is not null)
            {
                throw new InvalidOperationException("The socket already has a connection.");
            }

            _connection = new UringConnection(this, options);
            return _connection;
        }
    }

    private void ThrowIfNotRaw()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (_connection is not null)
        {
            throw new InvalidOperationException("The socket is used by a UringConnection: read and write through its pipes.");
        }
    }
}
