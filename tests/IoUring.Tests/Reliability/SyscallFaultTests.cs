using System.Collections.Concurrent;
using IoUring.Interop;

namespace IoUring.Tests.Reliability;

/// <summary>
/// The error paths of <c>io_uring_enter</c> and <c>io_uring_register</c>, provoked at chosen calls by the library's
/// internal injector (<see cref="SyscallFaults"/>): the call returns the errno as the kernel does when it refuses a
/// call at entry, before doing anything. Each test injects only on one thread (its own, or an engine's loop), so tests
/// running alongside are not affected; the tests of this class run one at a time (one injector at a time).
/// </summary>
[Collection(nameof(PinnedForeverCollection))]
public sealed class SyscallFaultTests
{
    [UringFact]
    public void Submit_interrupted_by_EINTR_retries_and_submits_every_SQE_exactly_once()
    {
        using var ring = new Ring(8);
        PrepNops(ring, 4);
        using (Inject.OnThisThread(SyscallKind.Enter, E.EINTR, calls: [0, 1, 2]))
        {
            Assert.Equal(4, ring.Submit());
        }

        AssertNopsComplete(ring, 4);
    }

    [UringTheory]
    [InlineData(E.EBUSY)]
    [InlineData(E.EAGAIN)]
    [InlineData(E.ENOMEM)]
    [InlineData(E.EFAULT)]
    public void A_refused_submit_throws_with_the_errno_and_the_SQEs_go_out_once_with_the_next_submit(int errno)
    {
        using var ring = new Ring(8);
        PrepNops(ring, 4);
        using (Inject.OnThisThread(SyscallKind.Enter, errno, calls: [0]))
        {
            IoUringException e = Assert.Throws<IoUringException>(() => ring.Submit());
            Assert.Equal(errno, e.Errno);
            if (errno is E.EBUSY or E.EAGAIN)
            {
                Assert.Contains("still queued", e.Message, StringComparison.Ordinal);
            }
        }

        Assert.Equal(0, ring.InFlight);
        Assert.Equal(4, ring.Submit());
        AssertNopsComplete(ring, 4);
    }

    [Fact]
    public void A_wait_interrupted_by_EINTR_keeps_waiting_and_returns_the_right_CQE()
    {
        const int errno = E.EINTR;
        Kernel.RequireIoUring();
        using var ring = new Ring(8);
        using var pipe = new TestPipe();
        using var buffer = new NativeBuffer(16);
        ring.GetSqe().PrepPipeRead(pipe.ReadFd, buffer, 7);
        Assert.Equal(1, ring.Submit());
        using (Inject.OnThisThread(SyscallKind.Enter, errno, calls: [0, 1, 2]))
        {
            Background late = Background.After(TimeSpan.FromMilliseconds(50), () => pipe.Put("xyz"u8));
            Cqe cqe = ring.WaitCqe();
            Assert.Equal(7UL, cqe.UserData);
            Assert.Equal(3, cqe.Res);
            ring.CqeSeen(cqe);
        }

        Assert.Equal(0, ring.InFlight);
    }

    [UringTheory]
    [InlineData(E.EAGAIN)]
    [InlineData(E.EBUSY)]
    [InlineData(E.ENOMEM)]
    [InlineData(E.EFAULT)]
    public void A_blocking_wait_refused_with_another_errno_throws_it_and_loses_no_completion(int errno)
    {
        using var ring = new Ring(8);
        using var pipe = new TestPipe();
        using var buffer = new NativeBuffer(16);
        ring.GetSqe().PrepPipeRead(pipe.ReadFd, buffer, 9);
        Assert.Equal(1, ring.Submit());
        using (Inject.OnThisThread(SyscallKind.Enter, errno, calls: [0]))
        {
            IoUringException e = Assert.Throws<IoUringException>(() => ring.WaitCqe());
            Assert.Equal(errno, e.Errno);
        }

        pipe.Put("ab"u8);
        Cqe cqe = ring.WaitCqe();
        Assert.Equal(9UL, cqe.UserData);
        Assert.Equal(2, cqe.Res);
        ring.CqeSeen(cqe);
        Assert.Equal(0, ring.InFlight);
    }

    [UringTheory]
    [InlineData(E.ENOMEM, "RLIMIT_MEMLOCK")]
    [InlineData(E.EBUSY, "already registered")]
    [InlineData(E.EFAULT, "not valid user memory")]
    [InlineData(E.EINTR, null)]
    public void A_refused_buffer_registration_says_why_pins_nothing_and_can_be_retried(int errno, string? says)
    {
        using var ring = new Ring(4);
        byte[] memory = new byte[8192];
        int pinnedBefore = PinnedForever.Count;
        using (Inject.OnThisThread(SyscallKind.Register, errno, calls: [0]))
        {
            IoUringException e = Assert.Throws<IoUringException>(() => ring.RegisterBuffers([memory]));
            Assert.Equal(errno, e.Errno);
            if (says is not null)
            {
                Assert.Contains(says, e.Message, StringComparison.Ordinal);
            }
        }

        // Nothing was registered, so registering again works, and fixed I/O through it works.
        ring.RegisterBuffers([memory]);
        ring.UnregisterBuffers();
        Assert.Equal(pinnedBefore, PinnedForever.Count);
    }

    [UringTheory]
    [InlineData(E.EBUSY)]
    [InlineData(E.ENOMEM)]
    [InlineData(E.EINTR)]
    public void A_refused_file_registration_throws_with_the_errno_and_leaves_no_table(int errno)
    {
        using var ring = new Ring(4);
        using var temp = new TempFile(64, seed: 2);
        using var handle = temp.Open();
        using (Inject.OnThisThread(SyscallKind.Register, errno, calls: [0]))
        {
            IoUringException e = Assert.Throws<IoUringException>(() => ring.RegisterFiles([(int)handle.DangerousGetHandle()]));
            Assert.Equal(errno, e.Errno);
        }

        ring.RegisterFiles([(int)handle.DangerousGetHandle()]);
        ring.UnregisterFiles();
    }

    [UringTheory]
    [InlineData(E.EINTR)]
    [InlineData(E.EAGAIN)]
    [InlineData(E.EBUSY)]
    public void Dispose_whose_drain_is_interrupted_still_cancels_and_drains(int errno)
    {
        using var pipe = new TestPipe();
        using var buffer = new NativeBuffer(16);
        int pinnedBefore = PinnedForever.Count;
        var ring = new Ring(8);
        ring.GetSqe().PrepPipeRead(pipe.ReadFd, buffer, 1);
        Assert.Equal(1, ring.Submit());
        using (Inject.OnThisThread(SyscallKind.Enter, errno, calls: [0, 1, 3]))
        {
            ring.Dispose();
        }

        // Drained: the read was cancelled, so data written now stays in the pipe and the buffer is untouched.
        pipe.Put("late"u8);
        Assert.Equal(0, buffer.Span[0]);
        Assert.Equal(pinnedBefore, PinnedForever.Count);
    }

    [UringTheory]
    [InlineData(E.EINTR)]
    [InlineData(E.EAGAIN)]
    [InlineData(E.EBUSY)]
    public async Task The_engine_retries_enters_refused_with_EINTR_EAGAIN_or_EBUSY_and_completes_every_operation_once(int errno)
    {
        using var temp = new TempFile(64 * 1024, seed: 11);
        using var handle = temp.Open();
        await using var engine = new IoUringEngine();

        // Every other enter of the loop fails for the first 200 of them.
        using (Inject.OnThread(engine.LoopThreadId, SyscallKind.Enter, errno, calls: [.. Enumerable.Range(0, 100).Select(i => 2 * i)]))
        {
            byte[][] buffers = [.. Enumerable.Range(0, 64).Select(_ => new byte[1024])];
            Task<int>[] reads = [.. buffers.Select((b, i) => engine.ReadAsync(handle, b, i * 1024L).AsTask())];
            int[] done = await Task.WhenAll(reads).WaitAsync(Wait.Scaled(TimeSpan.FromSeconds(60)), TestContext.Current.CancellationToken);
            Assert.All(done, n => Assert.Equal(1024, n));
            for (int i = 0; i < buffers.Length; i++)
            {
                Assert.Equal(temp.Content.AsSpan(i * 1024, 1024).ToArray(), buffers[i]);
            }
        }

        Assert.Null(engine.Fault);
        Assert.Equal(0, engine.OperationsInFlight);
    }

    [UringTheory]
    [InlineData(E.ENOMEM)]
    [InlineData(E.EFAULT)]
    public async Task An_enter_the_engine_cannot_handle_faults_it_and_every_operation_ends_once_after_a_full_drain(int errno)
    {
        using var pipe = new TestPipe();
        int pinnedBefore = PinnedForever.Count;
        var engine = new IoUringEngine();
        byte[][] buffers = [.. Enumerable.Range(0, 8).Select(_ => new byte[4])];
        Task<int>[] reads = [.. buffers.Select(b => engine.ReadAsync(pipe.Read, b, -1).AsTask())];
        await Wait.UntilAsync(() => engine.OperationsInFlight == reads.Length, "the reads are in the kernel");

        // The next enter of the loop (woken by a NOP) fails once; the loop faults and shuts down like Dispose. The
        // NOP was queued in the SQ when the enter failed: the shutdown's drain submits it, so it completes (once).
        using (Inject.OnThread(engine.LoopThreadId, SyscallKind.Enter, errno, calls: [0]))
        {
            Task nop = engine.NopAsync(TestContext.Current.CancellationToken).AsTask();
            await Wait.UntilAsync(() => engine.Fault is not null, "the engine faulted");
            Exception? nopError = await Record.ExceptionAsync(() => nop.WaitAsync(Wait.Scaled(TimeSpan.FromSeconds(30)), TestContext.Current.CancellationToken));
            Assert.True(nopError is null or ObjectDisposedException or OperationCanceledException, nopError?.ToString());
        }

        IoUringException fault = Assert.IsType<IoUringException>(engine.Fault);
        Assert.Equal(errno, fault.Errno);

        // Every pending read ended exactly once, with the engine's shutdown exception, and none wrote its buffer later.
        foreach (Task<int> read in reads)
        {
            Exception e = await Assert.ThrowsAnyAsync<Exception>(() => read.WaitAsync(Wait.Scaled(TimeSpan.FromSeconds(30)), TestContext.Current.CancellationToken));
            Assert.True(e is ObjectDisposedException or OperationCanceledException, e.ToString());
        }

        pipe.Put("late"u8);
        Assert.All(buffers, b => Assert.Equal(new byte[4], b));
        Assert.Throws<ObjectDisposedException>(() => engine.ReadAsync(pipe.Read, new byte[1], -1, TestContext.Current.CancellationToken));
        engine.Dispose();
        Assert.Equal(0, engine.OperationsInFlight);
        Assert.Equal(pinnedBefore, PinnedForever.Count);
    }

    private static void PrepNops(Ring ring, int count)
    {
        for (int i = 0; i < count; i++)
        {
            ring.NextSqe((ulong)(100 + i)).PrepNop();
        }
    }

    private static void AssertNopsComplete(Ring ring, int count)
    {
        var seen = new List<ulong>();
        for (int i = 0; i < count; i++)
        {
            Cqe cqe = ring.WaitCqe();
            Assert.Equal(0, cqe.Res);
            seen.Add(cqe.UserData);
            ring.CqeSeen(cqe);
        }

        Assert.Equal(Enumerable.Range(100, count).Select(i => (ulong)i), seen.Order());
        Assert.Equal(0, ring.InFlight);
        Assert.Equal(0u, ring.CqReady);
    }

    /// <summary>Installs an injector for the calls of one kind made on one thread: the listed ones (0 = the first after installing) fail.</summary>
    private sealed class Inject : IDisposable
    {
        private readonly ConcurrentDictionary<SyscallKind, int> _counts = new();

        private Inject(int thread, SyscallKind kind, int errno, HashSet<int> calls)
        {
            SyscallFaults.Injector = (call, fd, arg) =>
            {
                if (call != kind || Environment.CurrentManagedThreadId != thread)
                {
                    return 0;
                }

                int n = _counts.AddOrUpdate(call, 0, static (_, c) => c + 1);
                return calls.Contains(n) ? -errno : 0;
            };
        }

        public static Inject OnThisThread(SyscallKind kind, int errno, int[] calls) => new(Environment.CurrentManagedThreadId, kind, errno, [.. calls]);

        public static Inject OnThread(int thread, SyscallKind kind, int errno, int[] calls) => new(thread, kind, errno, [.. calls]);

        public void Dispose()
        {
            SyscallFaults.Injector = null;
        }
    }
}
