using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;

namespace IoUring.Tests.RingTests;

/// <summary>
/// Issue 15, item 2: a <see cref="Ring"/> used from two threads at once fails with a clear exception instead of
/// corrupting itself, and never hands out a completion the kernel did not post (the CQ head never passes the tail).
/// </summary>
public sealed class ConcurrentMisuseTests
{
    /// <summary>Every public entry point that touches the rings, called from a second thread.</summary>
    public static TheoryData<string> EntryPoints() =>
    [
        "GetSqe", "Submit", "SubmitAndWait", "WaitCqe", "WaitCqe(timeout)", "TryWaitCqe", "TryPeekCqe", "CqeSeen",
        "CqAdvance", "PeekBatchCqe", "ReadyCqes", "CqReady", "SqReady", "Dispose", "PrepTimeout", "RegisterFiles",
    ];

    private static void Touch(Ring ring, string entryPoint)
    {
        switch (entryPoint)
        {
            case "GetSqe": ring.GetSqe().PrepNop(); break;
            case "Submit": _ = ring.Submit(); break;
            case "SubmitAndWait": _ = ring.SubmitAndWait(1); break;
            case "WaitCqe": _ = ring.WaitCqe(); break;
            case "WaitCqe(timeout)": _ = ring.WaitCqe(TimeSpan.FromMilliseconds(1)); break;
            case "TryWaitCqe": _ = ring.TryWaitCqe(TimeSpan.FromMilliseconds(1), out _); break;
            case "TryPeekCqe": _ = ring.TryPeekCqe(out _); break;
            case "CqeSeen": ring.CqeSeen(default); break;
            case "CqAdvance": ring.CqAdvance(0); break;
            case "PeekBatchCqe": _ = ring.PeekBatchCqe(new Cqe[4]); break;
            case "ReadyCqes": _ = ring.ReadyCqes.Count; break;
            case "CqReady": _ = ring.CqReady; break;
            case "SqReady": _ = ring.SqReady; break;
            case "Dispose": ring.Dispose(); break;
            case "PrepTimeout": ring.PrepTimeout(TimeSpan.FromSeconds(1)); break;
            case "RegisterFiles": ring.RegisterFiles([-1]); break;
            default: throw new ArgumentOutOfRangeException(nameof(entryPoint), entryPoint, null);
        }
    }

    [UringTheory]
    [MemberData(nameof(EntryPoints))]
    public void Every_entry_point_called_while_another_thread_waits_in_WaitCqe_throws_and_changes_nothing(string entryPoint)
    {
        using var pipe = new TestPipe();
        using var buffer = new NativeBuffer(16);
        using var ring = new Ring(4);
        ring.GetSqe().PrepPipeRead(pipe.ReadFd, buffer, userData: 7);
        Assert.Equal(1, ring.Submit());

        Background waiter = Background.Run(ring.WaitCqe);
        WaitUntilBlockedInside(ring);

        var e = Assert.Throws<InvalidOperationException>(() => Touch(ring, entryPoint));
        Assert.Contains("not thread-safe", e.Message, StringComparison.Ordinal);
        Assert.Contains("WaitCqe", e.Message, StringComparison.Ordinal);
        Assert.False(ring.IsDisposed);

        // Nothing was taken or published by the refused call: the waiter gets its read, and the ring is consistent.
        pipe.Put("abc"u8);
        Cqe cqe = waiter.Join<Cqe>();
        Assert.Equal(7UL, cqe.UserData);
        Assert.Equal(3, cqe.Res);
        ring.CqeSeen(cqe);
        Assert.Equal(0u, ring.CqReady);
        Assert.Equal(0u, ring.SqPending);
        Assert.Equal(0, ring.InFlight);
        ring.GetSqe().PrepNop();
        Assert.Equal(1, ring.SubmitAndWait(1));
        ring.CqeSeen(ring.WaitCqe());
    }

    [UringFact]
    public void GetSqe_on_a_second_thread_while_the_first_has_SQEs_prepared_but_not_submitted_throws_and_loses_nothing()
    {
        using var ring = new Ring(4);
        ring.NextSqe(1).PrepNop();

        Exception? other = Background.Run(() => Record.Exception(() => ring.GetSqe().PrepNop())).Join<Exception?>();

        var e = Assert.IsType<InvalidOperationException>(other);
        Assert.Contains("prepared on it and not submitted", e.Message, StringComparison.Ordinal);
        Assert.Equal(1u, ring.SqPending);
        Assert.Equal(1, ring.SubmitAndWait(1));
        Cqe cqe = ring.WaitCqe();
        Assert.Equal(1UL, cqe.UserData);
        ring.CqeSeen(cqe);
    }

    [UringFact]
    public void Two_threads_looping_on_one_ring_are_stopped_by_an_exception_and_never_get_a_completion_that_was_not_posted()
    {
        var ring = new Ring(64, new RingOptions { DisposeDrainTimeout = TimeSpan.FromSeconds(1) });
        var written = new ConcurrentDictionary<ulong, bool>();
        var reaped = new ConcurrentDictionary<ulong, int>();
        var failures = new ConcurrentQueue<Exception>();
        long handedOut = 0;
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        void Loop(ulong tag)
        {
            ulong next = tag;
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    ring.NextSqe(++next).PrepNop();
                    written[next] = true;
                    _ = ring.Submit();
                    while (ring.TryPeekCqe(out Cqe cqe))
                    {
                        ring.CqeSeen(cqe);
                        Interlocked.Increment(ref handedOut);
                        reaped.AddOrUpdate(cqe.UserData, 1, static (_, n) => n + 1);
                    }
                }
            }
            catch (Exception e) when (e is InvalidOperationException or SubmissionQueueFullException)
            {
                failures.Enqueue(e);
            }
            finally
            {
                // One thread stopping is the point; the other stops too so that the ring can be disposed.
                stop.Cancel();
            }
        }

        Background a = Background.Run(() => Loop(0));
        Background b = Background.Run(() => Loop(1UL << 40));
        a.Join();
        b.Join();
        TimeSpan took = clock.Elapsed;

        Assert.Contains(failures, e => e is InvalidOperationException && e.Message.Contains("not thread-safe", StringComparison.Ordinal));
        Assert.True(took < TimeSpan.FromSeconds(9), $"the misuse went unnoticed for {took}");
        Assert.All(reaped.Keys, ud => Assert.True(written.ContainsKey(ud), $"a CQE with user_data {ud:x} that no SQE carried was handed out"));
        Assert.True(Volatile.Read(ref handedOut) <= written.Count, $"{handedOut} completions handed out for {written.Count} NOPs");
        Assert.True(ring.CqReady <= ring.CqEntries);
        ring.Dispose();
    }

    [UringFact]
    public void A_head_that_passed_the_tail_is_refused_by_every_reaping_call_instead_of_handing_out_stale_slots()
    {
        using var ring = new Ring(4);
        ring.GetSqe().PrepNop();
        Assert.Equal(1, ring.SubmitAndWait(1));
        ring.CqeSeen(ring.WaitCqe());

        // What a racing second thread does: advance our copy of the head beyond the kernel's tail.
        FieldInfo head = typeof(Ring).GetField("_cqHead", BindingFlags.NonPublic | BindingFlags.Instance)!;
        uint real = (uint)head.GetValue(ring)!;
        head.SetValue(ring, real + 1);

        foreach (string call in new[] { "TryPeekCqe", "CqReady", "PeekBatchCqe", "ReadyCqes", "CqAdvance", "WaitCqe" })
        {
            var e = Assert.Throws<InvalidOperationException>(() => Touch(ring, call));
            Assert.Contains("two threads at once", e.Message, StringComparison.Ordinal);
        }

        Assert.Throws<InvalidOperationException>(() => ring.CqeSeen(default));
        head.SetValue(ring, real);
    }

    [UringFact]
    public async Task Sequential_hand_over_between_batches_is_allowed()
    {
        using var ring = new Ring(4);
        Assert.Equal(1, await RingKit.SubmitNopOnThreadPoolAsync(ring));
        Cqe cqe = await Task.Run(ring.WaitCqe, TestContext.Current.CancellationToken);
        ring.CqeSeen(cqe);
        Assert.Equal(0, ring.InFlight);
    }

    /// <summary>Polls until a call from this thread reports the other thread as inside the ring.</summary>
    private static void WaitUntilBlockedInside(Ring ring)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < Wait.Patience)
        {
            Thread.Sleep(10);
            if (Record.Exception(() => _ = ring.SqSpaceLeft) is InvalidOperationException)
            {
                return;
            }
        }

        Assert.Fail("the waiter never blocked inside the ring");
    }
}
