using System.Net.Sockets;
using IoUring.Interop;

namespace IoUring;

// Closing: shut down to wake pending requests, close the descriptor when the last one completes.
public sealed partial class UringSocket
{
    /// <summary>
    /// Closes the socket. A listener stops accepting and closes connections accepted but not taken. Requests still
    /// pending are woken (the socket is shut down first) and the descriptor is closed when the last one completes.
    /// A socket with a <see cref="UringConnection"/> is closed through it, gracefully, as
    /// <see cref="UringConnection.Dispose"/> does: what the application flushed is sent first (up to
    /// <see cref="UringConnectionOptions.CloseTimeout"/>), and a completed output's end of stream reaches the peer.
    /// </summary>
    public void Dispose()
    {
        if (Connection() is UringConnection connection)
        {
            connection.Dispose();
            return;
        }

        DisposeCore(shutdown: true, abortive: false);
    }

    /// <summary>The connection that owns this socket, or null.</summary>
    private UringConnection? Connection()
    {
        lock (_gate)
        {
            return _connection;
        }
    }

    /// <summary>
    /// Closes the socket. <paramref name="shutdown"/> first shuts both directions down, which wakes requests still
    /// pending on it (so their references go and the descriptor really closes); <paramref name="abortive"/> sets
    /// <c>SO_LINGER</c> 0 so the close sends RST (a connection's abort).
    /// </summary>
    internal void DisposeCore(bool shutdown, bool abortive)
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        AcceptOperation? accept;
        lock (_gate)
        {
            accept = _accept;
        }

        accept?.RequestClose();
        if (!IsListening && (shutdown || abortive))
        {
            bool added = false;
            try
            {
                _handle.DangerousAddRef(ref added);
                int fd = (int)_handle.DangerousGetHandle();
                if (abortive)
                {
                    _ = Libc.SetLingerZero(fd);
                }

                if (shutdown)
                {
                    // Wakes requests blocked on the socket (a pending receive returns 0, a send fails), like Socket.Dispose.
                    _ = Libc.Shutdown(fd, Libc.SHUT_RDWR);
                }
            }
            catch (ObjectDisposedException)
            {
            }
            finally
            {
                if (added)
                {
                    _handle.DangerousRelease();
                }
            }
        }

        CloseDescriptor(accept?.Closed);
    }

    /// <summary>
    /// Closes the descriptor without blocking the caller. A bare handle closes when the last pending request lets go
    /// of it. A <see cref="System.Net.Sockets.Socket"/>'s Dispose instead spins until every reference is released, and
    /// those are held by requests the loop completes: so it runs after the listener's accept request is gone, and
    /// never on the loop thread itself (an inline continuation would wait for itself).
    /// </summary>
    private void CloseDescriptor(Task? acceptClosed)
    {
        Socket? socket;
        lock (_gate)
        {
            socket = _socket;
        }

        if (socket is null)
        {
            _handle.Dispose();
        }
        else if (acceptClosed is not null && !acceptClosed.IsCompleted)
        {
            _ = acceptClosed.ContinueWith(static (_, state) => ((Socket)state!).Dispose(), socket, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }
        else if (!Engine.CanWaitForLoop)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static state => state.Dispose(), socket, preferLocal: false);
        }
        else
        {
            socket.Dispose();
        }
    }

    /// <summary>
    /// Like <see cref="Dispose"/>; for a listener, also waits until the kernel has given back its accept request; for
    /// a socket with a <see cref="UringConnection"/>, waits for the connection's graceful close without blocking.
    /// </summary>
    /// <returns>A task that completes when the socket is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Connection() is UringConnection connection)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            return;
        }

        Dispose();
        AcceptOperation? accept = _accept;
        if (accept is not null)
        {
            await accept.Closed.ConfigureAwait(false);
        }
    }
}
