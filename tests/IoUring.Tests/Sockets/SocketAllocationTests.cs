using System.Buffers;
using System.IO.Pipelines;
using IoUring.Tests.Async;

namespace IoUring.Tests.Sockets;

/// <summary>
/// Steady state of an echoed request over two <see cref="UringConnection"/>s: client writes and flushes, the server's
/// multishot receive lands it in the input pipe, the server echo loop reads, writes and flushes, its send loop sends,
/// and the client's receive brings it back. Measured like <see cref="AllocationTests"/>: the whole process's
/// allocated bytes around windows of requests, after a warm-up; one window must be exactly 0 bytes.
/// </summary>
[Collection(nameof(AllocationMeasurement))]
public sealed class SocketAllocationTests
{
    private const int Warmup = 3000;
    private const int Measured = 10_000;
    private const int Windows = 6;
    private const int RequestSize = 64;

    public static TheoryData<ContinuationMode, bool> Paths => new()
    {
        { ContinuationMode.ThreadPool, true },
        { ContinuationMode.Inline, true },
        { ContinuationMode.ThreadPool, false },
    };

    /// <summary>Writes one request tagged <paramref name="tag"/> (its first byte) into the output pipe, without allocating.</summary>
    private static void Put(PipeWriter output, byte[] request, byte tag)
    {
        request[0] = tag;
        request.CopyTo(output.GetSpan(RequestSize));
        output.Advance(RequestSize);
    }

    /// <summary>
    /// Consumes the echo of the request tagged <paramref name="tag"/> from a read's result: true once it was there
    /// whole, false when more bytes are needed; throws on anything else. Synchronous, so the caller's loop stays the
    /// only async method (an async helper per operation would allocate its state machine).
    /// </summary>
    private static bool TakeEcho(PipeReader input, ReadResult r, byte tag)
    {
        ReadOnlySequence<byte> b = r.Buffer;
        if (b.Length >= RequestSize)
        {
            if (b.FirstSpan[0] != tag || b.Length != RequestSize)
            {
                throw new InvalidOperationException($"request {tag}: got {b.Length} bytes starting with {b.FirstSpan[0]}");
            }

            input.AdvanceTo(b.End);
            return true;
        }

        if (r.IsCompleted)
        {
            throw new InvalidOperationException("the echo ended early");
        }

        input.AdvanceTo(b.Start, b.End);
        return false;
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public async Task An_echoed_request_allocates_nothing_in_steady_state(ContinuationMode mode, bool multishot)
    {
        await using var engine = EngineModes.NewEngine(mode);
        await using UringSocket listener = UringSocket.Listen(engine, SocketKit.AnyLoopback);
        CancellationToken ct = Wait.Timeout();
        var options = new UringConnectionOptions { UseMultishotReceive = multishot };
        Task<UringSocket> accepting = listener.AcceptAsync(ct).AsTask();
        UringSocket clientSocket = await UringSocket.ConnectAsync(engine, listener.LocalEndPoint!, cancellationToken: ct);
        await using UringConnection server = (await accepting.Within()).CreateConnection(options);
        await using UringConnection client = clientSocket.CreateConnection(options);
        Task echo = Task.Run(() => SocketKit.EchoAsync(server), ct);
        var request = new byte[RequestSize];

        List<long> windows = await Task.Run(async () =>
        {
            var windows = new List<long>(Windows);
            PipeReader input = client.Input;
            PipeWriter output = client.Output;
            long before = 0;
            for (int i = 0; i < Warmup + (Windows * Measured); i++)
            {
                if (i >= Warmup && (i - Warmup) % Measured == 0)
                {
                    long now = GC.GetTotalAllocatedBytes(precise: true);
                    if (i > Warmup)
                    {
                        windows.Add(now - before);
                        if (now == before)
                        {
                            break;
                        }
                    }

                    before = GC.GetTotalAllocatedBytes(precise: true);
                }

                Put(output, request, (byte)i);
                _ = await output.FlushAsync();
                while (!TakeEcho(input, await input.ReadAsync(), (byte)i))
                {
                }
            }

            if (windows.Count < Windows && !windows.Contains(0))
            {
                windows.Add(GC.GetTotalAllocatedBytes(precise: true) - before);
            }

            return windows;
        }, ct);

        await client.Output.CompleteAsync();
        await echo.Within();

        string all = string.Join(", ", windows);
        Assert.True(windows.TrueForAll(w => w < 8L * Measured), $"a window allocated 8 bytes or more per request: [{all}] bytes per {Measured} requests");
        Assert.True(windows.Contains(0), $"no window of {Measured} echoed requests allocated 0 bytes: [{all}]");
    }

    /// <summary>
    /// Many connections at once on one engine (the http scenario's shape): the loop rents input blocks for a whole
    /// batch of receives while other threads return them. With the default pool (<see cref="PinnedBlockMemoryPool.Shared"/>)
    /// this allocates nothing in steady state; the shared array pool used to overflow here.
    /// </summary>
    [Theory]
    [MemberData(nameof(EngineModes.Both), MemberType = typeof(EngineModes))]
    public async Task Many_connections_echo_without_allocating_in_steady_state(ContinuationMode mode)
    {
        const int Connections = 64;
        const int WindowRequests = 20_000;
        await using var engine = EngineModes.NewEngine(mode);
        await using UringSocket listener = UringSocket.Listen(engine, SocketKit.AnyLoopback);
        CancellationToken ct = Wait.Timeout();
        var servers = new List<UringConnection>(Connections);
        var clients = new List<UringConnection>(Connections);
        var echoes = new List<Task>(Connections);
        for (int i = 0; i < Connections; i++)
        {
            Task<UringSocket> accepting = listener.AcceptAsync(ct).AsTask();
            UringSocket clientSocket = await UringSocket.ConnectAsync(engine, listener.LocalEndPoint!, cancellationToken: ct);
            UringConnection server = (await accepting.Within()).CreateConnection();
            servers.Add(server);
            clients.Add(clientSocket.CreateConnection());
            echoes.Add(Task.Run(() => SocketKit.EchoAsync(server), ct));
        }

        long completed = 0;
        int stop = 0;
        async Task ClientAsync(UringConnection client, int seed)
        {
            var request = new byte[RequestSize];
            PipeReader input = client.Input;
            PipeWriter output = client.Output;
            for (int i = 0; Volatile.Read(ref stop) == 0; i++)
            {
                Put(output, request, (byte)(i + seed));
                _ = await output.FlushAsync();
                while (!TakeEcho(input, await input.ReadAsync(), (byte)(i + seed)))
                {
                }

                _ = Interlocked.Increment(ref completed);
            }

            await output.CompleteAsync();
        }

        var load = new List<Task>(Connections);
        for (int i = 0; i < Connections; i++)
        {
            UringConnection client = clients[i];
            int seed = i;
            load.Add(Task.Run(() => ClientAsync(client, seed), ct));
        }

        // Measured on a thread of its own that allocates nothing while it waits (no Task.Delay).
        var windows = new List<long>(Windows + 2);
        string? failure = null;
        var measure = new Thread(() =>
        {
            long deadline = Environment.TickCount64 + (long)(Wait.Patience.TotalMilliseconds * 3);
            bool Reach(long target)
            {
                while (Interlocked.Read(ref completed) < target)
                {
                    if (Environment.TickCount64 > deadline || load.Exists(t => t.IsCompleted))
                    {
                        return false;
                    }

                    Thread.Sleep(1);
                }

                return true;
            }

            if (!Reach(3 * WindowRequests))
            {
                failure = "the warm-up did not finish";
                return;
            }

            for (int w = 0; w < Windows + 2; w++)
            {
                long before = GC.GetTotalAllocatedBytes(precise: true);
                long start = Interlocked.Read(ref completed);
                if (!Reach(start + WindowRequests))
                {
                    failure = $"window {w} did not finish";
                    return;
                }

                long bytes = GC.GetTotalAllocatedBytes(precise: true) - before;
                windows.Add(bytes);
                if (bytes == 0)
                {
                    return;
                }
            }
        });
        measure.Start();
        await Task.Run(measure.Join, ct);
        Volatile.Write(ref stop, 1);
        foreach (Task t in load)
        {
            await t.Within();
        }

        foreach (Task t in echoes)
        {
            await t.Within();
        }

        foreach (UringConnection c in clients.Concat(servers))
        {
            await c.DisposeAsync();
        }

        string all = string.Join(", ", windows);
        Assert.Null(failure);
        Assert.True(windows.Contains(0), $"no window of {WindowRequests} echoed requests over {Connections} connections allocated 0 bytes: [{all}]");
    }
}
