using System.Diagnostics;
using System.Runtime.InteropServices;
using IoUring.Interop;

namespace IoUring.Tests.Reliability;

/// <summary>
/// A signal delivered to a thread blocked in io_uring_enter makes the kernel return -EINTR (shown with a raw enter).
/// The Ring's waits treat it as "keep waiting": WaitCqe and SubmitAndWait return only once the CQE they wait for is
/// there, TryWaitCqe still honours its whole timeout, and no SQE is submitted twice.
/// </summary>
/// <remarks>
/// SIGWINCH is used because it is harmless; registering a handler makes the runtime install one, without which the
/// signal would be ignored at delivery and interrupt nothing. The tests share the process-wide handler, so they run
/// in one collection, one at a time.
/// </remarks>
[Collection(nameof(SignalCollection))]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SignalInterruptTests
{
    private const int SIGWINCH = 28;

    [UringFact]
    public async Task A_signal_makes_a_raw_io_uring_enter_wait_return_EINTR()
    {
        using var signals = new SignalCounter();
        using var blocked = new BlockedPipeRead(userData: 1);
        (TestPipe pipe, _, Ring ring) = blocked;

        var waiter = Block(() => Syscalls.Enter(ring.Fd, 0, 1, EnterFlags.GetEvents));
        int ret = await waiter.SignalUntilDone(TestContext.Current.CancellationToken);
        Assert.Equal(-E.EINTR, ret);
        Assert.True(signals.WaitForAtLeast(1), "the SIGWINCH handler never ran");

        pipe.Put("x"u8);
        Assert.Equal(1, RingKit.ReapByUserData(ring, 1)[1].Res);
    }

    [UringFact]
    public async Task WaitCqe_interrupted_by_signals_keeps_waiting_and_returns_the_right_CQE()
    {
        using var signals = new SignalCounter();
        using var blocked = new BlockedPipeRead(userData: 7);
        (TestPipe pipe, _, Ring ring) = blocked;

        var waiter = Block(() => ring.WaitCqe());
        await waiter.SendSignals(5, TestContext.Current.CancellationToken);
        Assert.False(waiter.IsDone, "WaitCqe returned although nothing completed");
        Assert.True(signals.WaitForAtLeast(1), "the SIGWINCH handler never ran");

        pipe.Put("hello"u8);
        Cqe cqe = await waiter.Result.WaitAsync(Wait.Patience, TestContext.Current.CancellationToken);
        Assert.Equal(7UL, cqe.UserData);
        Assert.Equal(5, cqe.Res);
        ring.CqeSeen(cqe);
        RingKit.AssertQuiet(ring);
    }

    [UringFact]
    public async Task SubmitAndWait_interrupted_by_signals_submits_once_and_returns_only_when_the_CQE_is_ready()
    {
        using var signals = new SignalCounter();
        using var pipe = new TestPipe();
        using var buffer = new NativeBuffer(64);
        using var ring = new Ring(4);

        // Prepared on the thread that submits it: a ring moves between threads only between batches.
        var waiter = Block(() =>
        {
            ring.GetSqe().PrepPipeRead(pipe.ReadFd, buffer, 9);
            return (Submitted: ring.SubmitAndWait(1), Ready: ring.CqReady);
        });
        await waiter.SendSignals(5, TestContext.Current.CancellationToken);
        Assert.False(waiter.IsDone, "SubmitAndWait(1) returned before any completion was ready");

        pipe.Put("abc"u8);
        (int submitted, uint ready) = await waiter.Result.WaitAsync(Wait.Patience, TestContext.Current.CancellationToken);
        Assert.Equal(1, submitted);
        Assert.True(ready >= 1, "SubmitAndWait(1) returned with no CQE ready");
        Dictionary<ulong, Cqe> cqes = RingKit.ReapByUserData(ring, 1);
        Assert.Equal(3, cqes[9].Res);
        RingKit.AssertQuiet(ring);
        Assert.False(ring.TryWaitCqe(TimeSpan.FromMilliseconds(30), out _), "the read was submitted twice");
    }

    [UringFact]
    public async Task TryWaitCqe_interrupted_by_signals_still_waits_out_its_timeout()
    {
        using var signals = new SignalCounter();
        using var blocked = new BlockedPipeRead(userData: 1);
        (TestPipe pipe, _, Ring ring) = blocked;

        var timeout = TimeSpan.FromMilliseconds(600);
        var waiter = Block(() =>
        {
            long start = Stopwatch.GetTimestamp();
            bool got = ring.TryWaitCqe(timeout, out Cqe cqe);
            return (got, cqe, Stopwatch.GetElapsedTime(start));
        });
        await waiter.SendSignals(5, TestContext.Current.CancellationToken);
        (bool got, Cqe cqe, TimeSpan elapsed) = await waiter.Result.WaitAsync(Wait.Patience, TestContext.Current.CancellationToken);
        Assert.False(got, $"a completion appeared from nowhere: {cqe}");
        Assert.True(elapsed >= timeout - TimeSpan.FromMilliseconds(20), $"TryWaitCqe gave up after {elapsed.TotalMilliseconds} ms of {timeout.TotalMilliseconds} ms");

        pipe.Put("x"u8);
        Assert.Equal(1, RingKit.ReapByUserData(ring, 1)[1].Res);
    }

    /// <summary>Counts SIGWINCH deliveries while registered.</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private sealed class SignalCounter : IDisposable
    {
        private readonly PosixSignalRegistration _registration;
        private int _count;

        public SignalCounter()
        {
            _registration = PosixSignalRegistration.Create(PosixSignal.SIGWINCH, _ => Interlocked.Increment(ref _count));
        }

        public bool WaitForAtLeast(int n)
        {
            return SpinWait.SpinUntil(() => Volatile.Read(ref _count) >= n, Wait.Patience);
        }

        public void Dispose() => _registration.Dispose();
    }

    /// <summary>Runs a blocking call on a dedicated thread and signals that thread with tgkill.</summary>
    private static BlockedThread<T> Block<T>(Func<T> call) => new(call);

    private sealed class BlockedThread<T>
    {
        private readonly TaskCompletionSource<int> _tid = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public BlockedThread(Func<T> call)
        {
            Result = Background.RunAsync(() =>
            {
                _tid.SetResult(Libc.GetTid());
                return call();
            });
        }

        public Task<T> Result { get; }

        public bool IsDone => Result.IsCompleted;

        /// <summary>Sends <paramref name="count"/> signals 30 ms apart once the thread is (very likely) blocked.</summary>
        public async Task SendSignals(int count, CancellationToken token)
        {
            int tid = await _tid.Task.WaitAsync(Wait.Patience, token);
            for (int i = 0; i < count && !Result.IsCompleted; i++)
            {
                await Task.Delay(30, token);
                int sent = Libc.TgKill(tid, SIGWINCH);
                if (sent == -E.ESRCH)
                {
                    // The call returned and its thread exited between the check and the signal (a slow machine
                    // stretches five 30 ms gaps past a short wait): nothing left to interrupt.
                    await Result.WaitAsync(Wait.Patience, token);
                    break;
                }

                Assert.Equal(0, sent);
            }

            await Task.Delay(30, token);
        }

        /// <summary>Signals the thread every 30 ms until its call returns; returns the call's result.</summary>
        public async Task<T> SignalUntilDone(CancellationToken token)
        {
            int tid = await _tid.Task.WaitAsync(Wait.Patience, token);
            var deadline = Stopwatch.StartNew();
            while (!Result.IsCompleted && deadline.Elapsed < Wait.Patience)
            {
                await Task.Delay(30, token);
                if (!Result.IsCompleted)
                {
                    _ = Libc.TgKill(tid, SIGWINCH);
                }
            }

            return await Result.WaitAsync(Wait.Patience, token);
        }
    }
}

[CollectionDefinition(nameof(SignalCollection))]
public sealed class SignalCollection
{
}
