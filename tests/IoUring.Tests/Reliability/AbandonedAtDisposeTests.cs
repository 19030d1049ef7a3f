// The operations under test take their own tokens (or none, on purpose); the test's token would change what is tested.
#pragma warning disable xUnit1051

using System.Net.Sockets;

namespace IoUring.Tests.Reliability;

/// <summary>
/// What an engine does with requests the kernel has not given back when its dispose timeout runs out (here a timeout
/// of zero, so the drain gives up at once): they keep their pins for good, but nobody waits for them forever and no
/// descriptor stays open because of them.
/// </summary>
[Collection(nameof(PinnedForeverCollection))]
public sealed class AbandonedAtDisposeTests
{
    private static IoUringEngine EngineThatGivesUpAtOnce() => new(new IoUringEngineOptions { DisposeTimeout = TimeSpan.Zero });

    [UringFact]
    public async Task A_write_blocked_on_a_full_pipe_fails_with_ObjectDisposedException_and_its_descriptor_can_close()
    {
        using var pipe = new TestPipe();
        FdWatch writeEnd = Fds.Watch(pipe.WriteFd);
        IoUringEngine engine = EngineThatGivesUpAtOnce();
        int pinnedBefore = PinnedForever.Count;

        // Far more than a pipe holds (64 KiB by default) and nobody reads: the write stays in the kernel.
        byte[] data = TestData.Bytes(1 << 20, seed: 3);
        Task write = engine.WriteAsync(pipe.Write, data, -1).AsTask();
        await Wait.UntilAsync(() => engine.OperationsInFlight == 1, "the write is in the kernel");
        await Task.Delay(50); // let it fill the pipe and park

        engine.Dispose();

        // Before the fix an abandoned write never completed: whoever awaited it (a connection's send loop) waited forever.
        await Assert.ThrowsAsync<ObjectDisposedException>(() => write.WaitAsync(Wait.Patience));
        Assert.Equal(1, engine.AbandonedOperations);
        Assert.True(PinnedForever.Count > pinnedBefore, "the abandoned write keeps its pins for the kernel");

        // The request let go of its handle reference (the kernel holds its own on the file), so closing the handle
        // really closes the descriptor.
        pipe.CloseWriteEnd();
        writeEnd.AssertClosed();
    }

    [UringFact]
    public async Task A_read_into_the_callers_buffer_never_completes_but_lets_its_descriptor_close()
    {
        using var pipe = new TestPipe();
        FdWatch readEnd = Fds.Watch(pipe.ReadFd);
        IoUringEngine engine = EngineThatGivesUpAtOnce();
        byte[] buffer = new byte[64];
        Task<int> read = engine.ReadAsync(pipe.Read, buffer, -1).AsTask();
        await Wait.UntilAsync(() => engine.OperationsInFlight == 1, "the read is in the kernel");

        engine.Dispose();

        // Completing it would hand the buffer back while the kernel may still write into it: it stays pending, pinned.
        await Task.Delay(200);
        Assert.False(read.IsCompleted, "an abandoned read must not hand its buffer back");
        Assert.Equal(1, engine.AbandonedOperations);

        // Its handle reference is gone, though: the read end closes for real.
        pipe.CloseReadEnd();
        readEnd.AssertClosed();
    }

    [UringFact]
    public async Task Disposing_an_adopted_Socket_after_its_engine_abandoned_a_receive_returns()
    {
        (Socket client, Socket server) = Loopback.TcpPair();
        using Socket peer = server;
        IoUringEngine engine = EngineThatGivesUpAtOnce();
        UringSocket adopted = UringSocket.FromSocket(engine, client);
        byte[] buffer = new byte[64];
        Task<int> receive = adopted.ReceiveAsync(buffer).AsTask();
        await Wait.UntilAsync(() => engine.OperationsInFlight == 1, "the receive is in the kernel");

        engine.Dispose();
        Assert.Equal(1, engine.AbandonedOperations);

        // Socket.Dispose spins until every reference on its SafeSocketHandle is released. Before the fix the abandoned
        // receive kept its reference forever and this never returned.
        Task dispose = Task.Run(adopted.Dispose);
        await dispose.WaitAsync(Wait.Patience);
        Assert.True(client.SafeHandle.IsClosed);
        Assert.False(receive.IsCompleted, "the receive into the caller's buffer stays abandoned");
    }

    [UringFact]
    public async Task A_connection_whose_send_was_abandoned_ends_its_send_loop_and_closes()
    {
        (Socket client, Socket server) = Loopback.TcpPair();
        using Socket peer = server;
        client.SendBufferSize = 4096;
        peer.ReceiveBufferSize = 4096;
        IoUringEngine engine = EngineThatGivesUpAtOnce();
        UringSocket adopted = UringSocket.FromSocket(engine, client);

        // Zero-copy off: an ordinary send request, which the peer (never reading) leaves parked in the kernel.
        UringConnection connection = adopted.CreateConnection(new UringConnectionOptions { ZeroCopySendThreshold = int.MaxValue });
        byte[] data = TestData.Bytes(4 << 20, seed: 9);
        Task flush = Task.Run(async () =>
        {
            await connection.Output.WriteAsync(data);
        });
        // The peer never reads: the send (which must send everything) parks in the kernel.
        await Task.Delay(300);
        Assert.False(flush.IsCompleted, "the write waits for the parked send");

        engine.Dispose();

        // Before the fix the abandoned send never completed and the connection's send loop, its DisposeAsync and the
        // descriptor were held forever.
        await connection.DisposeAsync().AsTask().WaitAsync(Wait.Patience);
        await Wait.UntilAsync(() => client.SafeHandle.IsClosed, "the adopted socket is closed");
        try
        {
            await flush.WaitAsync(Wait.Patience);
        }
        catch (Exception e) when (e is ObjectDisposedException or IOException or InvalidOperationException or OperationCanceledException)
        {
            // The write may fail once the connection ended; it must not hang.
        }
    }
}
