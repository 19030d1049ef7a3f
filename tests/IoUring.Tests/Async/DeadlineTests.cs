using System.Diagnostics;
using System.Net.Sockets;

namespace IoUring.Tests.Async;

/// <summary>
/// Per-request deadlines (<c>IORING_OP_LINK_TIMEOUT</c> linked to the request): a request that outlives its deadline
/// fails with <see cref="TimeoutException"/>, gives back its slot and its pinned buffer, and leaves the engine (and
/// the file or socket) usable; one that finishes first is unaffected; the caller's token still cancels.
/// </summary>
public sealed class DeadlineTests
{
    [UringTheory(Opcode.LinkTimeout)]
    [MemberData(nameof(EngineModes.Both), MemberType = typeof(EngineModes))]
    public async Task A_read_past_its_deadline_fails_with_TimeoutException_and_the_kernel_never_writes_its_buffer(ContinuationMode mode)
    {
        using var engine = EngineModes.NewEngine(mode);
        using var pipe = new TestPipe();
        var buffer = new byte[64];
        buffer.AsSpan().Fill(0xAA);

        var clock = Stopwatch.StartNew();
        TimeoutException e = await Assert.ThrowsAsync<TimeoutException>(async () => await engine.ReadAsync(pipe.Read, buffer, -1, TimeSpan.FromMilliseconds(150)));
        clock.Stop();
        Assert.Contains("read", e.Message, StringComparison.Ordinal);
        Assert.Contains("00:00:00.1500000", e.Message, StringComparison.Ordinal);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(140) / Wait.TimeScale, $"the deadline fired after {clock.Elapsed}");
        Assert.True(clock.Elapsed < Wait.Patience, $"the deadline fired after {clock.Elapsed}");
        Assert.Equal(0, engine.OperationsInFlight);

        // The timed-out read is gone: the next one gets the data, the old buffer stays untouched.
        pipe.Put([1, 2, 3]);
        var other = new byte[64];
        Assert.Equal(3, await engine.ReadAsync(pipe.Read, other, -1, TimeSpan.FromSeconds(30)));
        Assert.All(buffer, b => Assert.Equal(0xAA, b));
    }

    [UringFact(Opcode.LinkTimeout)]
    public async Task Requests_that_finish_before_their_deadline_return_their_results_and_leave_nothing_in_the_kernel()
    {
        using var engine = new IoUringEngine(new IoUringEngineOptions { QueueEntries = 8 });
        using var temp = new TempFile(64 * 1024, seed: 5);
        using Microsoft.Win32.SafeHandles.SafeFileHandle handle = temp.Open();
        byte[] expected = File.ReadAllBytes(temp.Path);

        // More at once than the engine lets into the kernel (its budget counts the linked timeouts too).
        var reads = new List<Task<int>>();
        var buffers = new List<byte[]>();
        for (int i = 0; i < 200; i++)
        {
            var b = new byte[4096];
            buffers.Add(b);
            reads.Add(engine.ReadAsync(handle, b, (i % 16) * 4096L, TimeSpan.FromSeconds(30)).AsTask());
        }

        int[] counts = await Task.WhenAll(reads).WaitAsync(Wait.Patience);
        for (int i = 0; i < 200; i++)
        {
            Assert.Equal(4096, counts[i]);
            Assert.True(expected.AsSpan((i % 16) * 4096, 4096).SequenceEqual(buffers[i]), $"read {i} returned the wrong bytes");
        }

        // The timeouts' own CQEs (cancelled, since each read finished first) were reaped: the engine drains at once.
        await Wait.UntilAsync(() => engine.OperationsInFlight == 0, "every read is reaped");
        var clock = Stopwatch.StartNew();
        engine.Dispose();
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1) * Wait.TimeScale, $"dispose took {clock.Elapsed}: something was left in the kernel");
    }

    [UringFact(Opcode.LinkTimeout)]
    public async Task The_token_still_cancels_a_request_with_a_deadline()
    {
        using var engine = new IoUringEngine();
        using var pipe = new TestPipe();
        using var cts = new CancellationTokenSource();
        Task<int> read = engine.ReadAsync(pipe.Read, new byte[8], -1, TimeSpan.FromSeconds(60), cts.Token).AsTask();
        await Wait.UntilAsync(() => engine.OperationsInFlight == 1, "the read is in the kernel");
        cts.Cancel();
        OperationCanceledException e = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read.WaitAsync(Wait.Patience));
        Assert.Equal(cts.Token, e.CancellationToken);
        Assert.Equal(0, engine.OperationsInFlight);
    }

    [UringFact(Opcode.LinkTimeout)]
    public async Task A_timed_out_request_unpins_its_buffer()
    {
        // A registered buffer given back while a request pins it returns to the pool only when the request lets go:
        // the pool's count shows that the timed-out read released its pin.
        using var engine = new IoUringEngine(new IoUringEngineOptions { RegisteredBufferCount = 2, RegisteredBufferSize = 4096 });
        using var pipe = new TestPipe();
        RegisteredBuffer buffer = engine.RentRegisteredBuffer();
        Task<int> read = engine.ReadAsync(pipe.Read, buffer.Memory, -1, TimeSpan.FromMilliseconds(100)).AsTask();
        ((IDisposable)buffer).Dispose();
        Assert.Equal(1, engine.AvailableRegisteredBuffers);

        await Assert.ThrowsAsync<TimeoutException>(() => read.WaitAsync(Wait.Patience));
        await Wait.UntilAsync(() => engine.AvailableRegisteredBuffers == 2, "the timed-out read gives its buffer back");
        Assert.Equal(0, engine.OperationsInFlight);
    }

    [UringFact(Opcode.LinkTimeout)]
    public async Task A_zero_timeout_times_out_a_request_that_cannot_complete_at_once_and_a_negative_one_is_refused()
    {
        using var engine = new IoUringEngine();
        using var pipe = new TestPipe();
        await Assert.ThrowsAsync<TimeoutException>(async () => await engine.ReadAsync(pipe.Read, new byte[8], -1, TimeSpan.Zero));
        ArgumentOutOfRangeException e = Assert.Throws<ArgumentOutOfRangeException>(() => engine.ReadAsync(pipe.Read, new byte[8], -1, TimeSpan.FromSeconds(-2)));
        Assert.Equal("timeout", e.ParamName);
        Assert.Equal(0, engine.OperationsInFlight);

        // Infinite is no deadline.
        Task<int> read = engine.ReadAsync(pipe.Read, new byte[8], -1, Timeout.InfiniteTimeSpan).AsTask();
        pipe.Put([7]);
        Assert.Equal(1, await read.WaitAsync(Wait.Patience));
    }

    [UringFact(Opcode.LinkTimeout)]
    public async Task A_write_resubmitted_after_a_short_write_keeps_the_deadline_of_the_call()
    {
        using var engine = new IoUringEngine();
        using var pipe = new TestPipe();

        // Nobody reads: the pipe takes its 64 KiB (a short write), and the rest waits until the deadline.
        var clock = Stopwatch.StartNew();
        await Assert.ThrowsAsync<TimeoutException>(async () => await engine.WriteAsync(pipe.Write, new byte[1 << 20], -1, TimeSpan.FromMilliseconds(200)));
        Assert.True(clock.Elapsed < Wait.Patience, $"took {clock.Elapsed}");
        Assert.Equal(0, engine.OperationsInFlight);
        Assert.NotEmpty(pipe.ReadAvailable());
    }

    [UringFact(Opcode.LinkTimeout)]
    public async Task UringFile_reads_take_a_deadline()
    {
        using var engine = new IoUringEngine();
        using var pipe = new TestPipe();
        await using UringFile file = UringFile.FromHandle(engine, pipe.Read, FileAccess.Read);
        await Assert.ThrowsAsync<TimeoutException>(async () => await file.ReadAsync(new byte[8], 0, TimeSpan.FromMilliseconds(50)).ConfigureAwait(false));
        pipe.Put([9, 9]);
        Assert.Equal(2, await file.ReadAsync(new byte[8], 0, TimeSpan.FromSeconds(30)));
    }

    [UringFact(Opcode.LinkTimeout)]
    public async Task A_socket_receive_times_out_and_the_socket_still_receives_afterwards()
    {
        using var engine = new IoUringEngine();
        (Socket client, Socket server) = Loopback.TcpPair();
        using var _ = server;
        using UringSocket socket = UringSocket.FromSocket(engine, client);
        var buffer = new byte[16];
        await Assert.ThrowsAsync<TimeoutException>(async () => await socket.ReceiveAsync(buffer, TimeSpan.FromMilliseconds(100)));

        server.Send([1, 2, 3]);
        Assert.Equal(3, await socket.ReceiveAsync(buffer, TimeSpan.FromSeconds(30)));
        await socket.SendAsync(new byte[] { 4, 5 }, TimeSpan.FromSeconds(30));
        Assert.Equal([4, 5], server.ReceiveExactly(2));
    }

    [UringFact(Opcode.LinkTimeout)]
    public async Task A_connect_that_gets_no_answer_fails_at_its_ConnectTimeout()
    {
        using var engine = new IoUringEngine();

        // A listener that never accepts, with the smallest backlog: once its accept queue is full the kernel drops
        // further SYNs, so a connect waits for an answer that does not come.
        using Socket listener = Loopback.Listener(backlog: 0);
        var options = new UringSocketOptions { ConnectTimeout = TimeSpan.FromMilliseconds(300) };
        var connected = new List<UringSocket>();
        TimeoutException? timedOut = null;
        try
        {
            for (int i = 0; i < 16 && timedOut is null; i++)
            {
                try
                {
                    connected.Add(await UringSocket.ConnectAsync(engine, listener.EndPoint(), options));
                }
                catch (TimeoutException e)
                {
                    timedOut = e;
                }
            }
        }
        finally
        {
            connected.ForEach(s => s.Dispose());
        }

        Assert.NotNull(timedOut);
        Assert.Contains("connect", timedOut.Message, StringComparison.Ordinal);
        Assert.Equal(0, engine.OperationsInFlight);
        ArgumentOutOfRangeException bad = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () =>
            await UringSocket.ConnectAsync(engine, listener.EndPoint(), new UringSocketOptions { ConnectTimeout = TimeSpan.FromSeconds(-3) }));
        Assert.Equal("ConnectTimeout", bad.ParamName);
    }
}
