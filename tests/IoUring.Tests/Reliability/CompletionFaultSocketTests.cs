// The tests' own requests are bounded by Wait.Patience; the test runner's token adds nothing here.
#pragma warning disable xUnit1051
using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;

namespace IoUring.Tests.Reliability;

/// <summary>
/// Completions rewritten at chosen points for the socket layer (<see cref="CompletionInjection"/> over the library's
/// internal hook): a multishot request (accept, receive, recvmsg) ending without <c>IORING_CQE_F_MORE</c>, a receive
/// ending with <c>ENOBUFS</c> or <c>ECONNRESET</c>, a send failing with <c>ECONNRESET</c>. The kernel is made to agree
/// with what the library is told: a request "ended" early is cancelled in the kernel at that moment (synchronously),
/// and its real last CQE (<c>-ECANCELED</c>, no buffer, no data) is swallowed or becomes the injected error; an error in
/// place of the end of stream replaces a CQE that carried nothing. So every byte and datagram sent is still there to
/// be received, and each test checks that it is, exactly once, and that the engine drains at Dispose.
/// </summary>
[Collection(nameof(PinnedForeverCollection))]
public sealed class CompletionFaultSocketTests
{
    private const int EndHere = 0;

    [Theory]
    [InlineData(EndHere)]
    [InlineData(E.ENOBUFS)]
    public async Task A_multishot_receive_the_kernel_ends_early_is_re_armed_and_every_byte_arrives_once_in_order(int endWith)
    {
        Kernel.RequireOp(Opcode.SendZc); // 6.0: multishot receive
        await using var rig = await ConnectionRig.StartAsync();
        Assert.True(rig.Server.UsesMultishotReceive);
        int chosen = 0;
        using var inject = CompletionInjection.On(rig.Engine, c => c.Request is ReceiveOperation && c.KernelHasMore && c.Res > 0 && chosen++ == 0 && End(c, endWith));

        // One small message at a time, each read before the next is sent: the first one's CQE ends the request.
        for (int i = 0; i < 6; i++)
        {
            byte[] message = SocketKit.Pattern(100 + i, seed: i);
            await rig.Client.SendAsync(message, SocketFlags.None);
            Assert.Equal(message, await ReadExactlyAsync(rig.Server.Input, message.Length));
        }

        await inject.KernelCaughtUpAsync();
        Assert.Equal(1, inject.Injected);
        AssertNoDataSwallowed(inject);
        Assert.True(inject.Requests(static c => c.Request is ReceiveOperation) >= 2, "the receive was not re-armed");
        inject.AssertOneAtATime(static c => c.Request is ReceiveOperation);
        Assert.True(rig.Server.UsesMultishotReceive);
        Assert.Equal(endWith == E.ENOBUFS ? 1 : 0, rig.Server.ReceiveBufferShortages);

        // No spin: an idle connection's re-armed receive posts nothing.
        int seen = inject.Seen(static c => c.Request is ReceiveOperation);
        await Task.Delay(200);
        Assert.Equal(seen, inject.Seen(static c => c.Request is ReceiveOperation));

        // The stream still ends normally, after every byte.
        rig.Client.Shutdown(SocketShutdown.Send);
        Assert.Empty(await PipeKit.ReadToEndAsync(rig.Server.Input, Wait.Timeout()).Within());
        await rig.DisposeAndAssertDrainedAsync();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ENOBUFS_from_a_buffer_ring_receive_re_arms_once_and_the_re_armed_receive_reads_the_rest(bool multishot)
    {
        Kernel.RequireOp(multishot ? Opcode.SendZc : Opcode.Socket); // 6.0 multishot receive, 5.19 buffer rings
        await using var rig = await ConnectionRig.StartAsync(new UringConnectionOptions { UseMultishotReceive = multishot });
        Assert.True(rig.Server.UsesBufferRing);
        Assert.Equal(multishot, rig.Server.UsesMultishotReceive);
        int chosen = 0;

        // The receive that would read the end of stream (a CQE with no buffer and no data) reports ENOBUFS instead.
        using var inject = CompletionInjection.On(rig.Engine, c => c.Request is ReceiveOperation && c.Res == 0 && !c.KernelHasMore && chosen++ == 0 && Fail(c, E.ENOBUFS));
        byte[] data = SocketKit.Pattern(300_000, seed: 21);

        // Every byte, then the end of stream (read by the re-armed receive), with no error.
        Assert.Equal(data, await rig.SendAndReadToEndAsync(data));
        await AssertOneShortageAsync(rig, inject);
    }

    [Fact]
    public async Task ENOBUFS_while_the_receive_is_paused_by_back_pressure_re_arms_once_when_the_reader_catches_up()
    {
        Kernel.RequireOp(Opcode.SendZc); // 6.0: multishot receive
        await using var rig = await ConnectionRig.StartAsync(new UringConnectionOptions { InputPauseThreshold = 4096, InputResumeThreshold = 1024 });
        int chosen = 0;

        // The first data pauses the receive (nobody reads yet: the library cancels its request) and, right after it,
        // the kernel ends that request with ENOBUFS: the library must arm again once, when the reader catches up.
        using var inject = CompletionInjection.On(rig.Engine, c => c.Request is ReceiveOperation && c.KernelHasMore && c.Res > 0 && chosen++ == 0 && End(c, E.ENOBUFS));
        byte[] data = SocketKit.Pattern(1024 * 1024, seed: 22);
        await rig.Client.SendAsync(data.AsMemory(0, 8192), SocketFlags.None);
        await Wait.UntilAsync(() => rig.Server.ReceivePauses > 0 && inject.Injected == 1, "the receive paused and ended with ENOBUFS");

        // The reader catches up: the first 8 KiB (held while paused), then the rest, read by the re-armed receive.
        Assert.Equal(data, await rig.SendAndReadToEndAsync(data.AsMemory(8192)));
        await AssertOneShortageAsync(rig, inject);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ECONNRESET_on_a_receive_fails_the_input_with_ConnectionReset_after_every_byte_before_it(bool multishot)
    {
        Kernel.RequireOp(multishot ? Opcode.SendZc : Opcode.Socket);
        await using var rig = await ConnectionRig.StartAsync(new UringConnectionOptions { UseMultishotReceive = multishot });
        int chosen = 0;

        // The receive that reads the end of stream (nothing, no buffer) reports the reset instead, once the data
        // before it has been read. (A reset that comes while received data is still unread fails the input at once:
        // System.IO.Pipelines hands a writer's error out before the data, as in Kestrel's socket transport.)
        using var inject = CompletionInjection.On(rig.Engine, c => c.Request is ReceiveOperation && c.Res == 0 && !c.KernelHasMore && chosen++ == 0 && Fail(c, E.ECONNRESET));
        byte[] first = SocketKit.Pattern(1000, seed: 31);
        await rig.Client.SendAsync(first, SocketFlags.None);
        Assert.Equal(first, await ReadExactlyAsync(rig.Server.Input, first.Length));
        Assert.Equal(multishot, rig.Server.UsesMultishotReceive);
        rig.Client.Shutdown(SocketShutdown.Send);

        IOException e = await Assert.ThrowsAsync<IOException>(() => ReadToEndAsync(rig.Server.Input)).Within();
        UringSocketException inner = Assert.IsType<UringSocketException>(e.InnerException);
        Assert.Equal(SocketError.ConnectionReset, inner.SocketErrorCode);
        await inject.KernelCaughtUpAsync();
        Assert.Equal(1, inject.Injected);
        AssertNoDataSwallowed(inject);

        // The receive is over: nothing more is asked of the kernel for it.
        int seen = inject.Seen(static c => c.Request is ReceiveOperation);
        await Task.Delay(200);
        Assert.Equal(seen, inject.Seen(static c => c.Request is ReceiveOperation));
        await rig.DisposeAndAssertDrainedAsync();
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    [InlineData(false, true)]
    public async Task ECONNRESET_on_a_send_ends_the_output_as_PeerResetFailsOutput_says_and_fires_ConnectionClosed(bool failsOutput, bool zeroCopy)
    {
        Kernel.RequireOp(zeroCopy ? Opcode.SendZc : Opcode.Send);
        await using var rig = await ConnectionRig.StartAsync(new UringConnectionOptions { PeerResetFailsOutput = failsOutput, ZeroCopySendThreshold = zeroCopy ? 1024 : 0 });
        int chosen = 0;
        bool? closedBeforeNotification = null;
        using var inject = CompletionInjection.On(rig.Engine, c =>
        {
            if (c.Request is ZeroCopySender && (c.Flags & CqeFlags.Notif) != 0 && chosen == 1)
            {
                // The kernel lets go of the pages only now: the send must not have failed (and the pipe's memory gone
                // back to its pool) before this.
                closedBeforeNotification ??= rig.Server.ConnectionClosed.IsCancellationRequested;
            }

            return IsSendResult(c) && c.Res > 0 && chosen++ == 0 && Fail(c, E.ECONNRESET);
        });
        PipeWriter output = rig.Server.Output;
        Exception? error = null;
        bool completed = false;
        for (int i = 0; i < 200 && error is null && !completed; i++)
        {
            try
            {
                completed = (await output.WriteAsync(new byte[4096])).IsCompleted;
            }
            catch (Exception ex)
            {
                error = ex;
            }

            await Task.Delay(5);
        }

        Assert.Equal(1, inject.Injected);
        if (failsOutput)
        {
            IOException io = Assert.IsType<IOException>(error);
            Assert.Equal(SocketError.ConnectionReset, Assert.IsType<UringSocketException>(io.InnerException).SocketErrorCode);
        }
        else
        {
            Assert.Null(error);
            Assert.True(completed, "the output never completed after the reset");
        }

        await Task.Delay(-1, rig.Server.ConnectionClosed).ContinueWith(static _ => { }, TaskScheduler.Default).Within();
        if (zeroCopy)
        {
            Assert.False(closedBeforeNotification, "the zero-copy send failed before the kernel let go of its pages");
            Assert.Equal(0, rig.Server.ZeroCopySends);
        }

        // No send after the failed one.
        Assert.Equal(1, inject.Seen(IsSendResult));
        await rig.DisposeAndAssertDrainedAsync();
    }

    [Fact]
    public async Task A_multishot_accept_the_kernel_ends_early_is_re_armed_and_accepts_every_connection_once()
    {
        Kernel.RequireOp(Opcode.Socket); // 5.19: multishot accept
        using var engine = new IoUringEngine();
        int pinned = PinnedForever.Count;
        UringSocket listener = UringSocket.Listen(engine, SocketKit.AnyLoopback);
        int chosen = 0;
        using var inject = CompletionInjection.On(engine, c => c.Request is AcceptOperation && c.KernelHasMore && c.Res >= 0 && chosen++ == 0 && End(c, EndHere));
        var clients = new List<Socket>();
        try
        {
            for (int i = 0; i < 5; i++)
            {
                var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                clients.Add(client);
                await client.ConnectAsync(listener.LocalEndPoint!);
                using UringSocket server = await listener.AcceptAsync().AsTask().Within();
                Assert.Equal(client.LocalEndPoint, server.RemoteEndPoint);
            }

            await inject.KernelCaughtUpAsync();
            Assert.Equal(1, inject.Injected);
            AssertNoDataSwallowed(inject);
            Assert.Equal(5, inject.Seen(static c => c.Request is AcceptOperation));
            Assert.True(inject.Requests(static c => c.Request is AcceptOperation) >= 2, "the accept was not re-armed");
            inject.AssertOneAtATime(static c => c.Request is AcceptOperation);

            // Nothing accepted twice: no sixth connection is waiting.
            using var none = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await listener.AcceptAsync(none.Token));
        }
        finally
        {
            clients.ForEach(static c => c.Dispose());
        }

        await listener.DisposeAsync();
        engine.Dispose();
        Assert.Equal(0, engine.AbandonedOperations);
        Assert.Equal(pinned, PinnedForever.Count);
    }

    [Theory]
    [InlineData(EndHere)]
    [InlineData(E.ENOBUFS)]
    [InlineData(E.ECONNRESET)]
    public async Task A_multishot_recvmsg_ended_early_is_re_armed_and_every_datagram_arrives_once_in_order(int endWith)
    {
        Kernel.RequireOp(Opcode.SendZc); // 6.0: multishot recvmsg
        int pinned = PinnedForever.Count;
        var engine = new IoUringEngine();
        var socket = UringUdpSocket.Bind(engine, new IPEndPoint(IPAddress.Loopback, 0));
        UringUdpReceiver receiver = socket.StartReceiving(new UdpReceiverOptions { BufferCount = 8 });
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        int chosen = 0;
        using var inject = CompletionInjection.On(engine, c => c.Request is UdpMultishotReceive && c.KernelHasMore && c.Res >= 0 && chosen++ == 0 && End(c, endWith));
        for (int i = 0; i < 10; i++)
        {
            byte[] datagram = SocketKit.Pattern(20 + i, seed: 40 + i);
            peer.SendTo(datagram, socket.LocalEndPoint!);
            Assert.Equal(datagram, (await receiver.ReceiveAsync().AsTask().Within()).Payload.ToArray());
            if (i == 0 && endWith == E.ECONNRESET)
            {
                // A datagram socket's pending error is reported once, after the datagrams before it; receiving goes on.
                UringSocketException e = await Assert.ThrowsAsync<UringSocketException>(() => receiver.ReceiveAsync().AsTask()).Within();
                Assert.Equal(SocketError.ConnectionReset, e.SocketErrorCode);
            }
        }

        await inject.KernelCaughtUpAsync();
        Assert.Equal(1, inject.Injected);
        AssertNoDataSwallowed(inject);
        Assert.Equal(10, receiver.DatagramsReceived);
        Assert.Equal(endWith == E.ENOBUFS ? 1 : 0, receiver.BufferShortages);
        Assert.Equal(1, receiver.Rearms);
        inject.AssertOneAtATime(static c => c.Request is UdpMultishotReceive);
        Assert.False(receiver.TryReceive(out _), "a datagram was delivered twice");

        receiver.Dispose();
        socket.Dispose();
        engine.Dispose();
        Assert.Equal(0, engine.AbandonedOperations);
        Assert.Equal(pinned, PinnedForever.Count);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_connection_send_that_makes_no_progress_fails_the_output_with_EIO_instead_of_asking_again_forever(bool zeroCopy)
    {
        Kernel.RequireOp(zeroCopy ? Opcode.SendZc : Opcode.Send);
        await using var rig = await ConnectionRig.StartAsync(new UringConnectionOptions { ZeroCopySendThreshold = zeroCopy ? 1024 : 0 });
        int chosen = 0;
        using var inject = CompletionInjection.On(rig.Engine, c => IsSendResult(c) && c.Res > 0 && chosen++ == 0 && NoProgress(c));
        PipeWriter output = rig.Server.Output;
        Exception? error = null;
        for (int i = 0; i < 200 && error is null; i++)
        {
            try
            {
                await output.WriteAsync(new byte[4096]);
            }
            catch (Exception ex)
            {
                error = ex;
            }

            await Task.Delay(5);
        }

        Assert.Equal(1, inject.Injected);
        IOException io = Assert.IsType<IOException>(error);
        Assert.Equal(E.EIO, Assert.IsType<UringSocketException>(io.InnerException).Errno);

        // The failed send was the last one: nothing was asked again.
        Assert.Equal(1, inject.Seen(IsSendResult));
        await rig.DisposeAndAssertDrainedAsync();
    }

    [UringFact(Opcode.Send)]
    public async Task UringSocket_SendAsync_that_makes_no_progress_throws_EIO_instead_of_asking_again_forever()
    {
        int pinned = PinnedForever.Count;
        var engine = new IoUringEngine();
        UringSocket listener = UringSocket.Listen(engine, SocketKit.AnyLoopback);
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        UringSocket server = await SocketKit.AcceptFromAsync(listener, client, Wait.Timeout());
        using (var inject = CompletionInjection.On(engine, static c => c.Kind is OpKind.Send && c.Res > 0 && NoProgress(c)))
        {
            UringSocketException e = await Assert.ThrowsAsync<UringSocketException>(() => server.SendAsync(new byte[100]).AsTask()).Within();
            Assert.Equal(E.EIO, e.Errno);
            Assert.Equal(1, inject.Injected);
            Assert.Equal(1, inject.Seen(static c => c.Kind is OpKind.Send));
        }

        await server.DisposeAsync();
        await listener.DisposeAsync();
        engine.Dispose();
        Assert.Equal(0, engine.AbandonedOperations);
        Assert.Equal(pinned, PinnedForever.Count);
    }

    /// <summary>The result CQE of a send (plain, gather or zero-copy; not a zero-copy notification).</summary>
    private static bool IsSendResult(ReapedCqe c) =>
        c.Kind is OpKind.Send or OpKind.SendV || c.Request is ZeroCopySender && (c.Flags & CqeFlags.Notif) == 0;

    /// <summary>Rewrites a send's count into 0 bytes sent (the bytes the kernel did send still reach the peer).</summary>
    private static bool NoProgress(ReapedCqe cqe)
    {
        cqe.Res = 0;
        return true;
    }

    /// <summary>Ends the request at this CQE (<see cref="EndHere"/>), or right after it with <paramref name="errno"/>.</summary>
    private static bool End(ReapedCqe cqe, int errno)
    {
        if (errno == EndHere)
        {
            cqe.EndHere();
            return true;
        }

        cqe.EndRequest(errno);
        return false;
    }

    /// <summary>Rewrites a CQE that carries no data into the error <paramref name="errno"/>.</summary>
    private static bool Fail(ReapedCqe cqe, int errno)
    {
        cqe.Res = -errno;
        return true;
    }

    /// <summary>One ENOBUFS was injected and counted, the receive was armed one request at a time, and the engine drains.</summary>
    private static async Task AssertOneShortageAsync(ConnectionRig rig, CompletionInjection inject)
    {
        Assert.Equal(1, inject.Injected);
        Assert.Equal(1, rig.Server.ReceiveBufferShortages);
        inject.AssertOneAtATime(static c => c.Request is ReceiveOperation);
        await rig.DisposeAndAssertDrainedAsync();
    }

    /// <summary>The kernel's own last CQEs of the requests ended early carried nothing: no data, no buffer.</summary>
    private static void AssertNoDataSwallowed(CompletionInjection inject) =>
        Assert.All(inject.Swallowed, static s =>
        {
            Assert.Equal(-E.ECANCELED, s.Res);
            Assert.Equal(CqeFlags.None, s.Flags & (CqeFlags.Buffer | CqeFlags.More));
        });

    private static async Task<byte[]> ReadExactlyAsync(PipeReader reader, int count)
    {
        while (true)
        {
            ReadResult result = await reader.ReadAsync().AsTask().Within();
            if (result.Buffer.Length >= count)
            {
                byte[] got = result.Buffer.Slice(0, count).ToArray();
                reader.AdvanceTo(result.Buffer.GetPosition(count));
                return got;
            }

            Assert.False(result.IsCompleted, $"the input ended after {result.Buffer.Length} of {count} bytes");
            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    private static async Task ReadToEndAsync(PipeReader reader)
    {
        while (true)
        {
            ReadResult result = await reader.ReadAsync();
            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return;
            }
        }
    }

    /// <summary>An engine of its own, a listener and one accepted connection with a plain client socket.</summary>
    private sealed class ConnectionRig : IAsyncDisposable
    {
        private readonly int _pinned = PinnedForever.Count;
        private bool _disposed;

        private ConnectionRig(IoUringEngine engine, UringSocket listener, Socket client, UringConnection server)
        {
            Engine = engine;
            Listener = listener;
            Client = client;
            Server = server;
        }

        public IoUringEngine Engine { get; }

        public UringSocket Listener { get; }

        public Socket Client { get; }

        public UringConnection Server { get; }

        public static async Task<ConnectionRig> StartAsync(UringConnectionOptions? options = null)
        {
            var engine = new IoUringEngine();
            UringSocket listener = UringSocket.Listen(engine, SocketKit.AnyLoopback);
            var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
            UringConnection server = (await SocketKit.AcceptFromAsync(listener, client, Wait.Timeout())).CreateConnection(options);
            return new ConnectionRig(engine, listener, client, server);
        }

        /// <summary>
        /// Sends <paramref name="data"/> from the client and shuts its side down while the server reads its input to
        /// the end; returns everything the server read (also what was sent before).
        /// </summary>
        public async Task<byte[]> SendAndReadToEndAsync(ReadOnlyMemory<byte> data)
        {
            Task sending = Task.Run(async () =>
            {
                await Client.SendAsync(data, SocketFlags.None);
                Client.Shutdown(SocketShutdown.Send);
            });
            byte[] got = await PipeKit.ReadToEndAsync(Server.Input, Wait.Timeout()).Within();
            await sending.Within();
            return got;
        }

        /// <summary>Closes everything, then checks that the engine drained: nothing abandoned, nothing pinned forever.</summary>
        public async Task DisposeAndAssertDrainedAsync()
        {
            await DisposeAsync();
            Assert.Equal(0, Engine.AbandonedOperations);
            Assert.Equal(_pinned, PinnedForever.Count);
        }

        public async ValueTask DisposeAsync()
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            Client.Dispose();
            await Server.DisposeAsync();
            await Listener.DisposeAsync();
            Engine.Dispose();
        }
    }
}
