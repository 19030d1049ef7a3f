using System.IO.Pipelines;
using System.Net.Sockets;

namespace IoUring.Tests.Sockets;

/// <summary>Counts the process's descriptors, so it runs alone.</summary>
[CollectionDefinition(nameof(DescriptorCounting), DisableParallelization = true)]
public sealed class DescriptorCounting;

[Collection(nameof(DescriptorCounting))]
public sealed class AcceptAndDisposeTests
{
    public static TheoryData<bool> MultishotOrNot => new() { true, false };

    [UringTheory]
    [MemberData(nameof(MultishotOrNot))]
    public async Task Hundreds_of_connections_are_accepted_and_each_works(bool multishot)
    {
        const int Count = 400;
        await using var engine = new IoUringEngine();
        await using UringSocket listener = UringSocket.Listen(engine, SocketKit.AnyLoopback,
            new UringSocketOptions { UseMultishotAccept = multishot, ListenBacklog = 1024, MaxQueuedAccepts = 64 });
        CancellationToken ct = Wait.Timeout();

        // Clients connect in a burst while the server accepts; more than MaxQueuedAccepts arrive before they are taken.
        var clients = new Socket[Count];
        Task connecting = Task.Run(async () =>
        {
            for (int i = 0; i < Count; i++)
            {
                clients[i] = new Socket(SocketType.Stream, ProtocolType.Tcp);
                await clients[i].ConnectAsync(listener.LocalEndPoint!, ct);
            }
        }, ct);

        var accepted = new List<UringSocket>(Count);
        try
        {
            for (int i = 0; i < Count; i++)
            {
                accepted.Add(await listener.AcceptAsync(ct).AsTask().Within());
            }

            await connecting.Within();
            // Each accepted socket is a distinct, working connection: one byte out from each client, back through its server side.
            var buffer = new byte[1];
            for (int i = 0; i < Count; i++)
            {
                await clients[i].SendAsync(new[] { (byte)i }, SocketFlags.None, ct);
            }

            var seen = new HashSet<int>();
            foreach (UringSocket s in accepted)
            {
                Assert.Equal(1, await s.ReceiveAsync(buffer, ct).AsTask().Within());
                await s.SendAsync(buffer, ct);
                seen.Add(((System.Net.IPEndPoint)s.RemoteEndPoint!).Port);
            }

            Assert.Equal(Count, seen.Count);
            for (int i = 0; i < Count; i++)
            {
                Assert.Equal(1, await clients[i].ReceiveAsync(buffer, SocketFlags.None, ct));
                Assert.Equal((byte)i, buffer[0]);
            }
        }
        finally
        {
            foreach (UringSocket s in accepted)
            {
                s.Dispose();
            }

            foreach (Socket? c in clients)
            {
                c?.Dispose();
            }
        }
    }

    [UringFact]
    public async Task Cancelling_AcceptAsync_throws_OperationCanceled_and_the_next_accept_works()
    {
        await using var engine = new IoUringEngine();
        await using UringSocket listener = UringSocket.Listen(engine, SocketKit.AnyLoopback);
        using var cts = new CancellationTokenSource();
        ValueTask<UringSocket> pending = listener.AcceptAsync(cts.Token);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending.AsTask().Within());

        CancellationToken ct = Wait.Timeout();
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint!, ct);
        using UringSocket accepted = await listener.AcceptAsync(ct).AsTask().Within();
        Assert.NotNull(accepted.RemoteEndPoint);
    }

    [UringTheory]
    [MemberData(nameof(EngineModes.Both), MemberType = typeof(EngineModes))]
    public async Task Disposing_the_engine_with_connections_open_fails_their_reads_and_releases_every_descriptor(ContinuationMode mode)
    {
        CancellationToken ct = Wait.Timeout();
        // Warm up whatever the runtime opens once (sockets engine, thread pool), then count.
        await RunOnceAsync(mode, connections: 2, ct);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        int before = SocketKit.OpenFds();

        await RunOnceAsync(mode, connections: 40, ct);

        GC.Collect();
        GC.WaitForPendingFinalizers();
        int after = 0;
        for (int attempt = 0; attempt < 100; attempt++)
        {
            after = SocketKit.OpenFds();
            if (after <= before)
            {
                break;
            }

            await Task.Delay(100, ct);
        }

        Assert.True(after <= before, $"{after - before} descriptors leaked (before {before}, after {after})");
    }

    private static async Task RunOnceAsync(ContinuationMode mode, int connections, CancellationToken ct)
    {
        var engine = EngineModes.NewEngine(mode);
        UringSocket listener = UringSocket.Listen(engine, SocketKit.AnyLoopback);
        var clients = new List<Socket>();
        var servers = new List<UringConnection>();
        var reads = new List<Task<ReadResult>>();
        for (int i = 0; i < connections; i++)
        {
            var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
            clients.Add(client);
            UringConnection server = (await SocketKit.AcceptFromAsync(listener, client, ct)).CreateConnection();
            servers.Add(server);
            reads.Add(server.Input.ReadAsync(ct).AsTask());
        }

        // Another connection accepted by the kernel but never taken, and a pending accept.
        var unaccepted = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await unaccepted.ConnectAsync(listener.LocalEndPoint!, ct);
        clients.Add(unaccepted);

        await engine.DisposeAsync().AsTask().Within();

        // Every pending read ends: ObjectDisposedException from the stopped engine (never a hang or a crash).
        foreach (Task<ReadResult> read in reads)
        {
            await Assert.ThrowsAsync<ObjectDisposedException>(() => read.Within());
        }

        foreach (UringConnection server in servers)
        {
            await server.DisposeAsync().AsTask().Within();
        }

        await listener.DisposeAsync().AsTask().Within();
        foreach (Socket client in clients)
        {
            client.Dispose();
        }
    }
}
