using System.Net;
using IoUring;
using IoUring.Samples;

// EchoServer [--port 7007] [--address 127.0.0.1]
// Echoes every byte back over io_uring sockets: each accepted UringSocket becomes a UringConnection, an IDuplexPipe,
// and the echo is a copy from its Input to its Output. Try it with: nc 127.0.0.1 7007
if (SampleArgs.Parse(args, "EchoServer [--port 7007] [--address 127.0.0.1]", ["--port", "--address"]) is not { } options)
{
    return 2;
}

IPAddress address = options.Get("--address", IPAddress.Loopback);
int port = options.Get("--port", 7007);

if (!IoUringSupport.IsAvailable)
{
    Console.Error.WriteLine($"io_uring is not usable here: {IoUringSupport.Current}");
    return 1;
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

// One engine: a ring and the loop thread that submits and reaps for every socket on it.
await using var engine = new IoUringEngine();
await using UringSocket listener = UringSocket.Listen(engine, new IPEndPoint(address, port));
Console.WriteLine($"echo server listening on {listener.LocalEndPoint} (Ctrl+C to stop)");
await AcceptLoop.RunAsync(ct => listener.AcceptAsync(ct), static client => _ = EchoAsync(client.CreateConnection()), stop.Token);

return 0;

static async Task EchoAsync(UringConnection connection)
{
    EndPoint? peer = connection.RemoteEndPoint;
    try
    {
        await PipeEcho.CopyAsync(connection.Input, connection.Output);
    }
    catch (IOException e)
    {
        Console.Error.WriteLine($"{peer}: {e.Message}");
    }
    finally
    {
        // Completing Output sends what is left and shuts down our side; DisposeAsync then closes the socket.
        await connection.Input.CompleteAsync();
        await connection.Output.CompleteAsync();
        await connection.DisposeAsync();
    }
}
