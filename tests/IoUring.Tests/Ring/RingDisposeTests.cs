using static IoUring.Tests.RingKit;

namespace IoUring.Tests.RingTests;

/// <summary>Dispose cancels and drains what is in flight, so the kernel never touches the caller's memory afterwards.</summary>
public sealed class RingDisposeTests
{
    [UringFact]
    public void Dispose_with_a_blocked_read_returns_promptly_and_the_buffer_is_never_written_afterwards()
    {
        using var pipe = new TestPipe();
        using var buffer = new NativeBuffer(64);
        buffer.Span.Fill(0xAA);
        var ring = new Ring(4);
        ring.GetSqe().PrepPipeRead(pipe.ReadFd, buffer, 1);
        Assert.Equal(1, ring.Submit());
        AssertNoCompletion(ring, TimeSpan.FromMilliseconds(20));
        Assert.Equal(1, ring.InFlight);

        TimeSpan took = Time(ring.Dispose);
        Assert.True(took < Wait.Patience, $"Dispose took {took.TotalMilliseconds} ms");
        Assert.True(ring.IsDisposed);

        // Data written now has no reader in the kernel any more: it stays in the pipe, the buffer stays untouched.
        pipe.Put("after dispose"u8);
        Thread.Sleep(50);
        Assert.All(buffer.Span.ToArray(), b => Assert.Equal(0xAA, b));
        Assert.Equal("after dispose"u8.ToArray(), pipe.ReadAvailable());
    }

    [UringFact]
    public void Dispose_drains_many_kinds_of_requests_at_once()
    {
        using var pipe = new TestPipe();
        using var other = new TestPipe();
        using var b1 = new NativeBuffer(16);
        using var b2 = new NativeBuffer(16);
        var ring = new Ring(16);
        ring.GetSqe().PrepPipeRead(pipe.ReadFd, b1, 1);
        ring.GetSqe().PrepPipeRead(other.ReadFd, b2, 2);
        ring.PrepTimeout(TimeSpan.FromSeconds(60)).UserData = 3;
        ring.NextSqe(4).PrepPollMultishot(other.ReadFd, 1);
        ring.NextSqe(5, SqeFlags.IoLink).PrepPollAdd(pipe.ReadFd, 1);
        ring.GetSqe().PrepNop();
        Assert.Equal(6, ring.Submit());
        // Prepared but never submitted: simply abandoned.
        ring.GetSqe().PrepNop();

        TimeSpan took = Time(ring.Dispose);
        Assert.True(took < Wait.Patience, $"Dispose took {took.TotalMilliseconds} ms");
        Assert.True(ring.IsDisposed);
    }

    [UringFact]
    public void Dispose_twice_is_fine_and_an_idle_ring_disposes_at_once()
    {
        var ring = new Ring(4);
        ring.GetSqe().PrepNop();
        Assert.Equal(1, ring.SubmitAndWait(1));
        // One unseen CQE, nothing owed: nothing to cancel.
        ring.Dispose();
        ring.Dispose();
        Assert.True(ring.IsDisposed);
    }

    [UringFact]
    public void Every_method_after_Dispose_throws_ObjectDisposedException()
    {
        var ring = new Ring(4);
        ring.GetSqe().PrepNop();
        Assert.Equal(1, ring.SubmitAndWait(1));
        Cqe cqe = ring.WaitCqe();
        ring.Dispose();

        var calls = new List<(string Name, Action Call)>
        {
            ("GetSqe", () => ring.GetSqe()),
            ("Submit", () => ring.Submit()),
            ("SubmitAndWait", () => ring.SubmitAndWait(1)),
            ("WaitCqe()", () => ring.WaitCqe()),
            ("WaitCqe(timeout)", () => ring.WaitCqe(TimeSpan.FromSeconds(1))),
            ("TryWaitCqe", () => ring.TryWaitCqe(TimeSpan.FromSeconds(1), out _)),
            ("TryWaitCqe(zero)", () => ring.TryWaitCqe(TimeSpan.Zero, out _)),
            ("TryPeekCqe", () => ring.TryPeekCqe(out _)),
            ("CqeSeen", () => ring.CqeSeen(cqe)),
            ("CqAdvance", () => ring.CqAdvance(0)),
            ("PeekBatchCqe", () => ring.PeekBatchCqe(new Cqe[4])),
            ("ReadyCqes", () => _ = ring.ReadyCqes.Count),
            ("BigCqe", () => _ = ring.BigCqe().Length),
            ("SqReady", () => _ = ring.SqReady),
            ("SqSpaceLeft", () => _ = ring.SqSpaceLeft),
            ("SqDropped", () => _ = ring.SqDropped),
            ("CqReady", () => _ = ring.CqReady),
            ("CqOverflow", () => _ = ring.CqOverflow),
            ("IsCqOverflowPending", () => _ = ring.IsCqOverflowPending),
            ("EventFdEnabled get", () => _ = ring.EventFdEnabled),
            ("EventFdEnabled set", () => ring.EventFdEnabled = false),
            ("PrepTimeout", () => ring.PrepTimeout(TimeSpan.FromSeconds(1))),
            ("PrepLinkTimeout", () => ring.PrepLinkTimeout(TimeSpan.FromSeconds(1))),
            ("PrepTimeoutUpdate", () => ring.PrepTimeoutUpdate(1, TimeSpan.FromSeconds(1))),
            ("PrepOpenAt2", () => ring.PrepOpenAt2(Sqe.AtFdCwd, 0, default)),
            ("RegisterBuffers", () => ring.RegisterBuffers([new byte[16]])),
            ("UnregisterBuffers", ring.UnregisterBuffers),
            ("RegisterFiles", () => ring.RegisterFiles([0])),
            ("RegisterFilesSparse", () => ring.RegisterFilesSparse(4)),
            ("UpdateRegisteredFiles", () => ring.UpdateRegisteredFiles(0, [0])),
            ("UnregisterFiles", ring.UnregisterFiles),
            ("RegisterEventFd", () => ring.RegisterEventFd(0)),
            ("UnregisterEventFd", ring.UnregisterEventFd),
            ("GetProbe", () => ring.GetProbe()),
            ("SetIoWqMaxWorkers", () => ring.SetIoWqMaxWorkers(0, 0)),
            ("SetupBufferRing", () => ring.SetupBufferRing(1, 8, 64)),
        };

        foreach ((string name, Action call) in calls)
        {
            Exception? e = Record.Exception(call);
            Assert.True(e is ObjectDisposedException, $"{name} after Dispose threw {e?.GetType().Name ?? "nothing"}");
        }

        // Plain facts about the ring stay readable.
        Assert.True(ring.IsDisposed);
        Assert.Equal(4u, ring.SqEntries);
    }

    [UringFact]
    public void A_CompletionBatch_read_after_Dispose_throws_instead_of_reading_unmapped_memory()
    {
        var ring = new Ring(4);
        ring.GetSqe().PrepNop();
        Assert.Equal(1, ring.SubmitAndWait(1));
        CompletionBatch batch = ring.ReadyCqes;
        Assert.Equal(1u, batch.Count);
        ring.Dispose();

        bool threw = false;
        try
        {
            _ = batch[0].Res;
        }
        catch (ObjectDisposedException)
        {
            threw = true;
        }

        Assert.True(threw);
    }
}
