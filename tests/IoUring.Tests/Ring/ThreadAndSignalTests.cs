using System.Runtime.InteropServices;
using IoUring.Interop;
using static IoUring.Tests.RingKit;

namespace IoUring.Tests.RingTests;

/// <summary>
/// A ring used from several threads one after the other, and signals that interrupt a thread blocked in
/// io_uring_enter (EINTR): neither may lose a completion or surface as an error.
/// </summary>
public sealed class ThreadAndSignalTests
{
    private const int SIGUSR1 = 10;

    [UringTheory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_ring_can_move_to_another_thread(bool registerRingFd)
    {
        using var pipe = new TestPipe();
        using var buffer = new NativeBuffer(16);
        using var ring = new Ring(4, new RingOptions { RegisterRingFd = registerRingFd });

        // Another thread submits and waits (with its own ring registered, so a registered index means something else there).
        Cqe cqe = Background.Run(() =>
        {
            using var own = new Ring(2, new RingOptions { RegisterRingFd = true });
            ring.GetSqe().PrepPipeRead(pipe.ReadFd, buffer, 1);
            Assert.Equal(1, ring.Submit());
            pipe.Put("moved"u8);
            Cqe c = ring.WaitCqe();
            ring.CqeSeen(c);
            Assert.True(ring.TryWaitCqe(TimeSpan.FromMilliseconds(1), out _) is false);
            return c;
        }).Join<Cqe>();

        Assert.Equal(1UL, cqe.UserData);
        Assert.Equal(5, cqe.Res);
        Assert.Equal("moved"u8.ToArray(), buffer.Span[..5].ToArray());

        // And back on the creating thread.
        ring.GetSqe().PrepNop();
        Assert.Equal(1, ring.SubmitAndWait(1));
        ring.CqeSeen(ring.WaitCqe());
        Assert.Equal(0, ring.InFlight);
    }

    [UringFact]
    public void Disposing_a_registered_ring_on_another_thread_leaves_that_threads_own_ring_working()
    {
        var ring = new Ring(4, new RingOptions { RegisterRingFd = true });
        Assert.True(ring.IsRingFdRegistered);

        Background.Run(() =>
        {
            // This thread's first registration takes the same index the other ring has on its creating thread.
            using var own = new Ring(2, new RingOptions { RegisterRingFd = true });
            Assert.True(own.IsRingFdRegistered);
            ring.Dispose();
            own.GetSqe().PrepNop();
            Assert.Equal(1, own.SubmitAndWait(1));
            own.CqeSeen(own.WaitCqe());
        }).Join();

        Assert.True(ring.IsDisposed);
    }

    [UringFact]
    public void The_kernel_answers_a_signalled_io_uring_enter_with_EINTR()
    {
        // The premise of the next tests: a handled signal makes a blocking GETEVENTS enter return -EINTR (not restart it).
        using var signals = new SignalCounter(SIGUSR1);
        using var blocked = new BlockedPipeRead(options: new RingOptions { RegisterRingFd = false });
        (TestPipe pipe, NativeBuffer buffer, Ring ring) = blocked;

        using var entered = new ManualResetEventSlim();
        int tid = 0;
        Background waiter = Background.Run(() =>
        {
            tid = Libc.GetTid();
            entered.Set();
            return Syscalls.Enter(ring.Fd, 0, 1, EnterFlags.GetEvents);
        });
        Assert.True(entered.Wait(Wait.Patience, TestContext.Current.CancellationToken));

        int sent = signals.KeepSignalling(tid, until: () => waiter.IsFinished);
        Assert.Equal(-Errno.EINTR, waiter.Join<int>());
        Assert.True(sent >= 1);
        Assert.Equal(0u, ring.CqReady);

        pipe.Put("x"u8);
        Cqe cqe = ring.WaitCqe(Wait.Patience);
        ring.CqeSeen(cqe);
        Assert.Equal(1, cqe.Res);
    }

    public enum WaitKind
    {
        WaitCqe,
        TryWaitCqe,
        SubmitAndWait,
    }

    [UringTheory]
    [InlineData(WaitKind.WaitCqe, true)]
    [InlineData(WaitKind.WaitCqe, false)]
    [InlineData(WaitKind.TryWaitCqe, true)]
    [InlineData(WaitKind.SubmitAndWait, true)]
    [InlineData(WaitKind.SubmitAndWait, false)]
    public void Signals_interrupting_a_blocked_wait_neither_lose_the_completion_nor_throw(WaitKind kind, bool registerRingFd)
    {
        using var signals = new SignalCounter(SIGUSR1);
        using var pipe = new TestPipe();
        using var buffer = new NativeBuffer(16);
        buffer.Span.Fill(0xAA);

        using var blocked = new ManualResetEventSlim();
        int tid = 0;
        Background waiter = Background.Run(() =>
        {
            using var ring = new Ring(4, new RingOptions { RegisterRingFd = registerRingFd });
            ring.GetSqe().PrepPipeRead(pipe.ReadFd, buffer, 1);
            if (kind != WaitKind.SubmitAndWait)
            {
                Assert.Equal(1, ring.Submit());
            }

            tid = Libc.GetTid();
            blocked.Set();
            Cqe cqe;
            switch (kind)
            {
                case WaitKind.WaitCqe:
                    cqe = ring.WaitCqe();
                    break;
                case WaitKind.TryWaitCqe:
                    Assert.True(ring.TryWaitCqe(TimeSpan.FromSeconds(30), out cqe));
                    break;
                default:
                    Assert.Equal(1, ring.SubmitAndWait(1));
                    Assert.Equal(1u, ring.CqReady);
                    Assert.True(ring.TryPeekCqe(out cqe));
                    break;
            }

            ring.CqeSeen(cqe);
            Assert.Equal(0, ring.InFlight);
            return cqe;
        });
        Assert.True(blocked.Wait(Wait.Patience, TestContext.Current.CancellationToken));

        // Interrupt the wait several times; it must keep waiting, because the read has not completed.
        for (int i = 0; i < 5; i++)
        {
            Thread.Sleep(20);
            Assert.False(waiter.IsFinished, "the wait returned (or failed) before its completion arrived");
            Assert.True(signals.Send(tid));
        }

        signals.WaitForHandled(1);
        Thread.Sleep(20);
        Assert.False(waiter.IsFinished, "the wait returned (or failed) before its completion arrived");

        pipe.Put("sig"u8);
        Cqe done = waiter.Join<Cqe>();
        Assert.Equal(1UL, done.UserData);
        Assert.Equal(3, done.Res);
        Assert.Equal("sig"u8.ToArray(), buffer.Span[..3].ToArray());
        Assert.Equal(0xAA, buffer.Span[3]);
    }

    /// <summary>Handles a signal for the test's duration and counts deliveries, so a stray one cannot kill the process.</summary>
    private sealed class SignalCounter : IDisposable
    {
        private readonly PosixSignalRegistration _registration;
        private readonly int _signal;
        private int _handled;
        private int _sent;

        public SignalCounter(int signal)
        {
            _signal = signal;
            _registration = PosixSignalRegistration.Create((PosixSignal)signal, ctx =>
            {
                ctx.Cancel = true;
                _ = Interlocked.Increment(ref _handled);
            });
        }

        public int Handled => Volatile.Read(ref _handled);

        /// <summary>Sends the signal to one thread; false when that thread has already exited.</summary>
        public bool Send(int tid)
        {
            int r = Libc.TgKill(Environment.ProcessId, tid, _signal);
            if (r == -3)
            {
                return false; // ESRCH
            }

            Assert.Equal(0, r);
            _sent++;
            return true;
        }

        /// <summary>Signals <paramref name="tid"/> every 20 ms until <paramref name="until"/> holds; returns how many were sent.</summary>
        public int KeepSignalling(int tid, Func<bool> until)
        {
            int sent = 0;
            long deadline = Environment.TickCount64 + (long)Wait.Patience.TotalMilliseconds;
            while (!until() && Environment.TickCount64 < deadline)
            {
                Thread.Sleep(20);
                if (!until() && Send(tid))
                {
                    sent++;
                }
            }

            return sent;
        }

        public void WaitForHandled(int count)
        {
            long deadline = Environment.TickCount64 + (long)Wait.Patience.TotalMilliseconds;
            while (Volatile.Read(ref _handled) < count && Environment.TickCount64 < deadline)
            {
                Thread.Sleep(5);
            }

            Assert.True(Volatile.Read(ref _handled) >= count, $"only {_handled} of {count} signals were handled");
        }

        public void Dispose()
        {
            // Unregistering restores the default action (terminate) for SIGUSR1: first let every signal sent be handled.
            // Signals to a thread blocked in the kernel are delivered at once; two sent close together may merge into one.
            long deadline = Environment.TickCount64 + 1000;
            while (Handled < _sent && Environment.TickCount64 < deadline)
            {
                Thread.Sleep(5);
            }

            Thread.Sleep(20);
            _registration.Dispose();
        }
    }
}
