using System.Net.Sockets;

namespace IoUring;

// Accepting: one (multishot where the kernel has it) accept request per listener, connections queued until taken.
public sealed partial class UringSocket
{
    /// <summary>
    /// Waits for the next connection. The first call starts accepting (one multishot request where the kernel has
    /// it); connections that arrive while nobody waits are queued, up to <see cref="UringSocketOptions.MaxQueuedAccepts"/>.
    /// </summary>
    /// <param name="cancellationToken">Cancels this wait (accepting goes on for the next call).</param>
    /// <returns>The connection, on this socket's engine (for a listener made on a group, on the group's next engine).</returns>
    /// <exception cref="InvalidOperationException">The socket is not listening.</exception>
    /// <exception cref="UringSocketException">Accepting failed (for example out of descriptors: <see cref="SocketError.TooManyOpenSockets"/>).
    /// The listener stays usable: call again. After running out of descriptors or memory it waits before accepting
    /// again (10 ms, doubling up to 250 ms while the errors go on), so a loop that retries at once does not spin and
    /// accepting resumes within 250 ms of descriptors being freed; connections meanwhile wait in the backlog.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The listener or its engine was disposed.</exception>
    public ValueTask<UringSocket> AcceptAsync(CancellationToken cancellationToken = default) => AcceptAsync(_acceptGroup?.Next() ?? Engine, cancellationToken);

    /// <summary>Like <see cref="AcceptAsync(CancellationToken)"/>, with the new socket on <paramref name="engine"/> (for example the next engine of an <see cref="IoUringEngineGroup"/>).</summary>
    /// <param name="engine">The engine for the accepted socket's requests.</param>
    /// <param name="cancellationToken">Cancels this wait.</param>
    /// <returns>The connection.</returns>
    public async ValueTask<UringSocket> AcceptAsync(IoUringEngine engine, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (!IsListening)
        {
            throw new InvalidOperationException("The socket is not listening: use UringSocket.Listen.");
        }

        AcceptOperation accept = EnsureAccepting();
        int fd;
        try
        {
            fd = await accept.TakeAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (System.Threading.Channels.ChannelClosedException e)
        {
            throw e.InnerException ?? new ObjectDisposedException(nameof(UringSocket));
        }

        if (fd < 0)
        {
            throw new UringSocketException(-fd, "accept");
        }

        var handle = new SocketFdHandle(fd);
        _options.Apply(fd, SocketRole.Accepted, endPoint: null);

        if (IsDisposed || engine.IsDisposing)
        {
            handle.Dispose();
            throw new ObjectDisposedException(IsDisposed ? nameof(UringSocket) : nameof(IoUringEngine));
        }

        return new UringSocket(engine, handle, socket: null, _options, listening: false);
    }

    private AcceptOperation EnsureAccepting()
    {
        AcceptOperation? accept = Volatile.Read(ref _accept);
        if (accept is not null)
        {
            return accept;
        }

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            if (_accept is null)
            {
                accept = new AcceptOperation(Engine, _handle, _options);
                _ = accept.RequestArm();
                Volatile.Write(ref _accept, accept);
            }

            return _accept;
        }
    }
}
