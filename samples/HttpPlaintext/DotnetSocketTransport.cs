using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;

namespace HttpPlaintext;

/// <summary>
/// The .NET baseline: <see cref="Socket"/> with the allocation-free <c>ValueTask</c> overloads of
/// <see cref="Socket.ReceiveAsync(Memory{byte}, SocketFlags, CancellationToken)"/> and
/// <see cref="Socket.SendAsync(ReadOnlyMemory{byte}, SocketFlags, CancellationToken)"/> (epoll underneath, one
/// cached awaitable per direction per socket), one receive loop feeding an input <see cref="Pipe"/> and one send
/// loop draining an output <see cref="Pipe"/> per connection, the shape of Kestrel's socket transport.
/// </summary>
internal sealed class DotnetSocketTransport : IPipeTransport
{
    private readonly Socket _listener;
    private readonly PipeOptions _pipeOptions;

    private DotnetSocketTransport(Socket listener, MemoryPool<byte>? pool)
    {
        _listener = listener;

        // Socket completions already arrive on thread-pool threads, so the pipes resume their readers inline: one
        // hop from the socket engine to the application, none between the pipes.
        _pipeOptions = new PipeOptions(
            pool: pool,
            readerScheduler: PipeScheduler.Inline,
            writerScheduler: PipeScheduler.Inline,
            useSynchronizationContext: false);
    }

    public IPEndPoint LocalEndPoint => (IPEndPoint)_listener.LocalEndPoint!;

    /// <summary>Binds and listens; <paramref name="pool"/> null: the pipes' default pool.</summary>
    public static DotnetSocketTransport Bind(IPEndPoint endPoint, int backlog, MemoryPool<byte>? pool = null)
    {
        var listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Bind(endPoint);
            listener.Listen(backlog);
            return new DotnetSocketTransport(listener, pool);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    public async Task RunAsync(Func<IDuplexPipe, Task> onConnection, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionAborted or SocketError.ConnectionReset)
            {
                continue;
            }

            catch (SocketException e) when (e.SocketErrorCode == SocketError.TooManyOpenSockets)
            {
                // Out of descriptors: the connection stays in the backlog and the listener stays readable, so an
                // immediate retry would spin. Pause, then accept again.
                await Task.Delay(100, CancellationToken.None);
                continue;
            }

            socket.NoDelay = true;
            _ = new Connection(socket, _pipeOptions).RunAsync(onConnection);
        }
    }

    public ValueTask DisposeAsync()
    {
        _listener.Dispose();
        return ValueTask.CompletedTask;
    }

    private sealed class Connection(Socket socket, PipeOptions options) : IDuplexPipe
    {
        private readonly Pipe _input = new(options);
        private readonly Pipe _output = new(options);

        public PipeReader Input => _input.Reader;

        public PipeWriter Output => _output.Writer;

        public async Task RunAsync(Func<IDuplexPipe, Task> onConnection)
        {
            Task receiving = ReceiveLoopAsync();
            Task sending = SendLoopAsync();
            try
            {
                await onConnection(this);
            }
            finally
            {
                // The application is done: let the send loop drain what it wrote, send FIN after it (so that a last
                // response, such as a 400 before closing, reaches the peer even if the close below turns abortive
                // because a receive is still pending), then close the socket, which ends that receive.
                await sending;
                try
                {
                    socket.Shutdown(SocketShutdown.Send);
                }
                catch (SocketException)
                {
                    // Already reset by the peer.
                }

                socket.Dispose();
                await receiving;
            }
        }

        private async Task ReceiveLoopAsync()
        {
            PipeWriter writer = _input.Writer;
            try
            {
                while (true)
                {
                    Memory<byte> memory = writer.GetMemory(4096);
                    int received = await socket.ReceiveAsync(memory, SocketFlags.None);
                    if (received == 0)
                    {
                        break;
                    }

                    writer.Advance(received);
                    FlushResult flushed = await writer.FlushAsync();
                    if (flushed.IsCompleted || flushed.IsCanceled)
                    {
                        break;
                    }
                }
            }
            catch (SocketException)
            {
                // Reset or aborted: to the application this is the end of the input.
            }
            catch (ObjectDisposedException)
            {
                // Closed by RunAsync after the application finished.
            }
            finally
            {
                await writer.CompleteAsync();
            }
        }

        private async Task SendLoopAsync()
        {
            PipeReader reader = _output.Reader;
            try
            {
                while (true)
                {
                    ReadResult result = await reader.ReadAsync();
                    ReadOnlySequence<byte> buffer = result.Buffer;
                    foreach (ReadOnlyMemory<byte> segment in buffer)
                    {
                        ReadOnlyMemory<byte> rest = segment;
                        while (!rest.IsEmpty)
                        {
                            int sent = await socket.SendAsync(rest, SocketFlags.None);
                            rest = rest[sent..];
                        }
                    }

                    reader.AdvanceTo(buffer.End);
                    if (result.IsCompleted || result.IsCanceled)
                    {
                        break;
                    }
                }
            }
            catch (SocketException)
            {
                // The peer went away; completing the reader tells the application its flushes are now in vain.
            }
            catch (ObjectDisposedException)
            {
            }
            finally
            {
                await reader.CompleteAsync();
            }
        }
    }
}
