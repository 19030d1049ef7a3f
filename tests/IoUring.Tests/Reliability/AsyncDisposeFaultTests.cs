// The operations under test take their own tokens (or none, on purpose); the test's token would change what is tested.
#pragma warning disable xUnit1051

using System.Runtime.CompilerServices;
using IoUring.Interop;
using IoUring.Tests.Async;

namespace IoUring.Tests.Reliability;

/// <summary>
/// The async engine disposed in awkward moments: a write split into short writes while it is drained, disposal from
/// another thread racing continuations, from an inline continuation, a whole group, and every entry point after
/// disposal. Each operation must complete exactly once (with its result or <see cref="ObjectDisposedException"/>),
/// nothing may stay in flight or be abandoned, and no buffer may change after its await returned.
/// </summary>
public sealed class AsyncDisposeFaultTests
{
    /// <summary>Slower than most waits (see <see cref="Wait.Patience"/>): a bound of 2 times the patience.</summary>
    private static readonly TimeSpan Generous = Wait.Patience * 2;

    [UringTheory]
    [MemberData(nameof(EngineModes.Both), MemberType = typeof(EngineModes))]
    public async Task Disposing_while_a_big_pipe_write_advances_by_short_writes_completes_the_write(ContinuationMode mode)
    {
        for (int round = 0; round < 12; round++)
        {
            using var pipe = new TestPipe();
            var engine = EngineModes.NewEngine(mode);
            byte[] data = new byte[1 << 20];
            new Random(round).NextBytes(data);
            Task write = engine.WriteAsync(pipe.Write, data, -1).AsTask();

            // A reader drains the pipe in small pieces, so the write advances by many short writes; each one is a
            // CQE the engine answers with a new submission of the rest.
            long drained = 0;
            var reader = new Thread(() =>
            {
                byte[] chunk = new byte[4096];
                while (true)
                {
                    long n = Libc.Read((int)pipe.Read.DangerousGetHandle(), chunk);
                    if (n <= 0)
                    {
                        return;
                    }

                    Interlocked.Add(ref drained, n);
                }
            }) { IsBackground = true };
            reader.Start();
            await Wait.UntilAsync(() => Interlocked.Read(ref drained) > (64 << 10) * (1 + (round % 4)), "the write is advancing");

            engine.Dispose();

            // The write must end: written in full, or ObjectDisposedException. It must not be lost.
            Task done = await Task.WhenAny(write, Task.Delay(Generous));
            Assert.True(done == write, $"round {round}: the write never completed after Dispose ({Interlocked.Read(ref drained)} bytes drained)");
            Exception? error = write.Exception?.InnerException;
            Assert.True(error is null or ObjectDisposedException, $"round {round}: {error}");
            Assert.Equal(0, engine.OperationsInFlight);
            Assert.Equal(0, engine.AbandonedOperations);
            Assert.Null(engine.Fault);

            // The reader drains to end of file: a completed write means its bytes are in the pipe, not that the
            // reader has taken them all (up to the pipe's 64 KiB may still be buffered).
            pipe.Write.Dispose();
            Assert.True(reader.Join(Generous));
            if (error is null)
            {
                Assert.Equal(data.Length, Interlocked.Read(ref drained));
            }
        }
    }

    [UringTheory]
    [MemberData(nameof(EngineModes.Both), MemberType = typeof(EngineModes))]
    public async Task Disposing_from_another_thread_while_continuations_issue_more_work_completes_every_operation_once(ContinuationMode mode)
    {
        using var file = new TempFile(1 << 20, seed: 5);
        using var handle = file.Open();
        for (int round = 0; round < 6; round++)
        {
            var engine = new IoUringEngine(new IoUringEngineOptions { Continuations = mode, QueueEntries = 8 });
            long completed = 0, refused = 0;

            // Chains: each completion starts the next read from its continuation (on the loop in inline mode).
            Task[] chains = Enumerable.Range(0, 16).Select(c => Task.Run(async () =>
            {
                byte[] buffer = new byte[4096];
                var rnd = new Random((round * 100) + c);
                while (true)
                {
                    long offset = rnd.Next(256) * 4096L;
                    buffer.AsSpan().Fill(0xEE);
                    try
                    {
                        int n = await engine.ReadAsync(handle, buffer, offset);
                        Assert.Equal(4096, n);
                        Assert.True(buffer.AsSpan().SequenceEqual(file.Content.AsSpan((int)offset, 4096)));
                        Interlocked.Increment(ref completed);
                    }
                    catch (ObjectDisposedException)
                    {
                        Assert.All(buffer, b => Assert.Equal(0xEE, b));
                        Interlocked.Increment(ref refused);
                        return;
                    }
                }
            })).ToArray();

            await Wait.UntilAsync(() => Interlocked.Read(ref completed) > 200 * (round + 1), "the chains are running");
            await Task.Run(engine.Dispose);

            Task all = Task.WhenAll(chains);
            Assert.True(await Task.WhenAny(all, Task.Delay(Generous)) == all, "a chain never ended after Dispose");
            await all;
            Assert.Equal(16, Interlocked.Read(ref refused));
            Assert.Equal(0, engine.OperationsInFlight);
            Assert.Equal(0, engine.AbandonedOperations);
            Assert.Null(engine.Fault);
        }
    }

    [UringFact]
    public async Task Disposing_from_an_inline_continuation_with_reads_in_flight_fails_them_and_their_buffers_stay_untouched()
    {
        using var pipe = new TestPipe();
        var engine = new IoUringEngine(new IoUringEngineOptions { Continuations = ContinuationMode.Inline });
        byte[][] buffers = Enumerable.Range(0, 6).Select(_ => Enumerable.Repeat((byte)0x3C, 32).ToArray()).ToArray();
        Task<int>[] pending = buffers.Select(b => engine.ReadAsync(pipe.Read, b, -1).AsTask()).ToArray();
        await Wait.UntilAsync(() => engine.OperationsInFlight == 6, "the pipe reads are in the kernel");
        bool? onLoop = null;
        bool? disposingAfter = null;
        // The continuation of a read on a second pipe runs on the loop once data arrives (registered before, from a
        // pool thread: no scheduling context to capture). Dispose from there.
        using var trigger = new TestPipe();
        var disposed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await Task.Run(() =>
        {
            ValueTaskAwaiter<int> read = engine.ReadAsync(trigger.Read, new byte[1], -1).GetAwaiter();
            read.UnsafeOnCompleted(() =>
            {
                Assert.Equal(1, read.GetResult());
                onLoop = engine.IsOnLoopThread;
                engine.Dispose();
                disposingAfter = engine.IsDisposing;
                disposed.SetResult();
            });
        });
        trigger.Put([1]);
        await disposed.Task.WaitAsync(Generous);
        Assert.True(onLoop);
        Assert.True(disposingAfter);

        foreach (Task<int> r in pending)
        {
            await Assert.ThrowsAsync<ObjectDisposedException>(() => r.WaitAsync(Generous));
        }

        await engine.DisposeAsync();
        Assert.Equal(0, engine.OperationsInFlight);
        Assert.Equal(0, engine.AbandonedOperations);

        // Data arriving now finds no reader: the buffers stay as they were.
        pipe.Put(new byte[32]);
        await Task.Delay(50);
        Assert.All(buffers, b => Assert.All(b, x => Assert.Equal(0x3C, x)));
    }

    [UringTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Disposing_a_group_with_reads_in_flight_on_every_engine_fails_them_all_and_stops_every_loop(bool async)
    {
        var group = new IoUringEngineGroup(3);
        var pipes = Enumerable.Range(0, 3).Select(_ => new TestPipe()).ToArray();
        try
        {
            byte[][] buffers = Enumerable.Range(0, 9).Select(_ => Enumerable.Repeat((byte)0x77, 16).ToArray()).ToArray();
            Task<int>[] reads = buffers.Select((b, i) => group.Engines[i % 3].ReadAsync(pipes[i % 3].Read, b, -1).AsTask()).ToArray();
            await Wait.UntilAsync(() => group.Engines.All(e => e.OperationsInFlight == 3), "three reads in each engine");

            if (async)
            {
                await group.DisposeAsync();
            }
            else
            {
                group.Dispose();
            }

            foreach (Task<int> r in reads)
            {
                await Assert.ThrowsAsync<ObjectDisposedException>(() => r.WaitAsync(Generous));
            }

            Assert.All(group.Engines, e =>
            {
                Assert.True(e.IsDisposing);
                Assert.Equal(0, e.OperationsInFlight);
                Assert.Equal(0, e.AbandonedOperations);
                Assert.Null(e.Fault);
                Assert.Throws<ObjectDisposedException>(() => e.NopAsync());
            });

            foreach (TestPipe p in pipes)
            {
                p.Put(new byte[16]);
            }

            await Task.Delay(50);
            Assert.All(buffers, b => Assert.All(b, x => Assert.Equal(0x77, x)));

            // A file on the disposed group refuses work; disposing the group again is harmless.
            using var file = new TempFile(4096, seed: 2);
            using UringFile f = UringFile.Open(group, file.Path, FileMode.Open);
            Assert.Throws<ObjectDisposedException>(() => f.ReadAsync(new byte[16], 0));
            group.Dispose();
            await group.DisposeAsync();
        }
        finally
        {
            foreach (TestPipe p in pipes)
            {
                p.Dispose();
            }
        }
    }

    [UringTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_close_still_queued_when_the_engine_is_disposed_closes_the_descriptor_anyway(bool throughFile)
    {
        using var temp = new TempFile(4096, seed: 9);
        using var pipe = new TestPipe();

        // One entry: the engine lets a single operation into the kernel at a time. A pipe read takes that place, so
        // the close waits in the engine's pending list when Dispose comes.
        var engine = new IoUringEngine(new IoUringEngineOptions { QueueEntries = 1 });
        Task<int> blocker = engine.ReadAsync(pipe.Read, new byte[8], -1).AsTask();
        await Wait.UntilAsync(() => engine.OperationsInFlight == 1, "the pipe read holds the only place");

        Microsoft.Win32.SafeHandles.SafeFileHandle handle = File.OpenHandle(temp.Path);
        int fd = (int)handle.DangerousGetHandle();
        string target = Fds.Target(fd);
        Assert.Equal(temp.Path, target);
        Task close;
        if (throughFile)
        {
            UringFile file = UringFile.FromHandle(engine, handle, FileAccess.Read, ownsHandle: true);
            close = file.DisposeAsync().AsTask();
        }
        else
        {
            close = engine.CloseAsync(handle).AsTask();
        }

        await Task.Delay(20);
        Assert.False(close.IsCompleted);
        engine.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => blocker.WaitAsync(Generous));
        // The close either ran or was refused, but the descriptor must not outlive it: no leaked fd.
        try
        {
            await close.WaitAsync(Generous);
        }
        catch (ObjectDisposedException)
        {
        }

        Assert.NotEqual(temp.Path, Fds.Target(fd));
        Assert.Equal(0, engine.AbandonedOperations);
    }

    [UringFact]
    public async Task After_dispose_every_engine_and_file_entry_point_throws_ObjectDisposedException()
    {
        using var temp = new TempFile(8192, seed: 3);
        using var handle = temp.Open();
        var engine = new IoUringEngine();
        UringFile file = UringFile.FromHandle(engine, handle);
        engine.Dispose();

        byte[] buffer = new byte[16];
        var buffers = new List<Memory<byte>> { buffer };
        var wbuffers = new List<ReadOnlyMemory<byte>> { buffer };
        Assert.Throws<ObjectDisposedException>(() => engine.ReadAsync(handle, buffer, 0));
        Assert.Throws<ObjectDisposedException>(() => engine.WriteAsync(handle, buffer, 0));
        Assert.Throws<ObjectDisposedException>(() => engine.ReadAsync(handle, buffers, 0));
        Assert.Throws<ObjectDisposedException>(() => engine.WriteAsync(handle, wbuffers, 0));
        Assert.Throws<ObjectDisposedException>(() => engine.FlushAsync(handle));
        Assert.Throws<ObjectDisposedException>(() => engine.AllocateAsync(handle, 0, 4096));
        Assert.Throws<ObjectDisposedException>(() => engine.SetLengthAsync(handle, 8192));
        Assert.Throws<ObjectDisposedException>(() => engine.NopAsync());
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await engine.OpenAsync(temp.Path, 0));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await engine.StatAsync(handle));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await engine.StatAsync(temp.Path));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await UringFile.OpenAsync(engine, temp.Path, FileMode.Open));

        Assert.Throws<ObjectDisposedException>(() => file.ReadAsync(buffer, 0));
        Assert.Throws<ObjectDisposedException>(() => file.WriteAsync(buffer, 0));
        Assert.Throws<ObjectDisposedException>(() => file.FlushAsync());
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await file.StatAsync());

        // A zero-length write and an empty gather write touch no engine: they complete while the handle is open.
        await engine.WriteAsync(handle, ReadOnlyMemory<byte>.Empty, 0);
        await engine.WriteAsync(handle, new List<ReadOnlyMemory<byte>>(), 0);

        // A token cancelled before the call wins over the disposed engine: OperationCanceledException, as documented.
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await engine.ReadAsync(handle, buffer, 0, cts.Token));

        // The file can still be disposed (its handle is not owned), twice, in both ways.
        await file.DisposeAsync();
        file.Dispose();
        Assert.False(handle.IsClosed);
        engine.Dispose();
        await engine.DisposeAsync();
        Assert.Equal(0, engine.AbandonedOperations);
    }
}
