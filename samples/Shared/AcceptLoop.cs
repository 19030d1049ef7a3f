using System.Net.Sockets;

namespace IoUring.Samples;

/// <summary>The accept loop of the io_uring sample servers (EchoServer, HttpPlaintext's io_uring transport).</summary>
internal static class AcceptLoop
{
    /// <summary>
    /// Accepts connections until <paramref name="stop"/> is cancelled and hands each to <paramref name="serve"/>
    /// (which must not block: it starts the connection's work and returns). A failure that concerns one connection (the
    /// peer gave up before it was accepted) or a passing shortage (out of descriptors: the listener pauses, backing off
    /// up to 250 ms, before accepting again) is skipped; the listener stays usable.
    /// </summary>
    /// <param name="accept">Accepts one connection, for example <c>ct =&gt; listener.AcceptAsync(ct)</c>.</param>
    /// <param name="serve">Starts serving an accepted connection.</param>
    /// <param name="stop">Ends the loop.</param>
    public static async Task RunAsync(Func<CancellationToken, ValueTask<UringSocket>> accept, Action<UringSocket> serve, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            UringSocket socket;
            try
            {
                socket = await accept(stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionAborted or SocketError.ConnectionReset or SocketError.TooManyOpenSockets)
            {
                continue;
            }

            serve(socket);
        }
    }
}
