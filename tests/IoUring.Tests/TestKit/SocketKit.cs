using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;

namespace IoUring.Tests;

/// <summary>Helpers for the socket tests: an echo loop, loopback endpoints, patterned data (bounded waits: <see cref="Wait"/>).</summary>
internal static class SocketKit
{
    public static IPEndPoint AnyLoopback => new(IPAddress.Loopback, 0);

    /// <summary>Echoes everything it reads until the peer ends the stream, then completes its output (half-close).</summary>
    public static async Task EchoAsync(UringConnection connection)
    {
        try
        {
            await IoUring.Samples.PipeEcho.CopyAsync(connection.Input, connection.Output);
        }
        finally
        {
            await connection.Output.CompleteAsync();
            await connection.Input.CompleteAsync();
        }
    }

    /// <summary>Accepts until the listener is disposed, echoing on each connection; returns the per-connection tasks.</summary>
    public static async Task<List<Task>> ServeEchoAsync(UringSocket listener, UringConnectionOptions? options = null, List<UringConnection>? connections = null)
    {
        var served = new List<Task>();
        try
        {
            while (true)
            {
                UringSocket socket = await listener.AcceptAsync();
                UringConnection connection = socket.CreateConnection(options);
                lock (served)
                {
                    connections?.Add(connection);
                    served.Add(Task.Run(async () =>
                    {
                        await using (connection)
                        {
                            await EchoAsync(connection);
                        }
                    }));
                }
            }
        }
        catch (ObjectDisposedException)
        {
        }

        return served;
    }

    public static byte[] Pattern(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes from a plain socket.</summary>
    public static async Task<byte[]> ReceiveExactlyAsync(Socket socket, int count, CancellationToken cancellationToken)
    {
        var data = new byte[count];
        int got = 0;
        while (got < count)
        {
            int n = await socket.ReceiveAsync(data.AsMemory(got), SocketFlags.None, cancellationToken);
            if (n == 0)
            {
                throw new EndOfStreamException($"The peer ended the stream after {got} of {count} bytes.");
            }

            got += n;
        }

        return data;
    }

    /// <summary>
    /// Sends <paramref name="data"/> through a <see cref="UringSocket"/> to an echo server while receiving the echo
    /// concurrently (so neither side's buffers fill up), and asserts that every byte came back in order.
    /// </summary>
    public static async Task AssertEchoesAsync(UringSocket client, byte[] data, CancellationToken cancellationToken)
    {
        Task sending = client.SendAsync(data, cancellationToken).AsTask();
        var back = new byte[data.Length];
        int got = 0;
        while (got < back.Length)
        {
            int n = await client.ReceiveAsync(back.AsMemory(got), cancellationToken).AsTask().Within();
            Assert.NotEqual(0, n);
            got += n;
        }

        await sending.Within();
        Assert.Equal(data, back);
    }

    /// <summary>
    /// Connects <paramref name="client"/> (a plain socket) to <paramref name="listener"/> and returns the accepted
    /// socket; the accept is started first, so the connection is the one it returns.
    /// </summary>
    public static async Task<UringSocket> AcceptFromAsync(UringSocket listener, Socket client, CancellationToken cancellationToken)
    {
        Task<UringSocket> accepting = listener.AcceptAsync(cancellationToken).AsTask();
        await client.ConnectAsync(listener.LocalEndPoint!, cancellationToken);
        return await accepting.Within();
    }

    /// <summary>
    /// A <see cref="UringConnection"/> (made with <paramref name="options"/>) accepted on a fresh loopback listener of
    /// <paramref name="engine"/>, and the plain socket client at its other end. The pair owns the engine: disposing it
    /// closes the connection, the client, the listener and then the engine.
    /// </summary>
    public static async Task<LoopbackConnection> ConnectionPairAsync(IoUringEngine engine, UringConnectionOptions? options = null)
    {
        try
        {
            UringSocket listener = UringSocket.Listen(engine, AnyLoopback);
            var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
            UringConnection server = (await AcceptFromAsync(listener, client, Wait.Timeout())).CreateConnection(options);
            return new LoopbackConnection(server, client, listener, engine);
        }
        catch
        {
            await engine.DisposeAsync();
            throw;
        }
    }

    /// <summary>Open descriptors of this process.</summary>
    public static int OpenFds() => Directory.GetFiles("/proc/self/fd").Length;
}


/// <summary>A connection, its plain-socket peer, its listener and its engine (<see cref="SocketKit.ConnectionPairAsync"/>).</summary>
/// <param name="Server">The accepted end, as a connection.</param>
/// <param name="Client">The plain socket that connected.</param>
/// <param name="Listener">The listener that accepted it.</param>
/// <param name="Engine">The engine all of it runs on.</param>
internal sealed record LoopbackConnection(UringConnection Server, Socket Client, UringSocket Listener, IoUringEngine Engine) : IAsyncDisposable
{
    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Client.Dispose();
        await Listener.DisposeAsync();
        await Engine.DisposeAsync();
    }
}
