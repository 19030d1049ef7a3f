using static IoUring.Tests.RingKit;

namespace IoUring.Tests.RingTests;

/// <summary>Bounded waits and the guard that turns a wait that can never end into an exception.</summary>
public sealed class WaitTests
{
    [UringFact]
    public void TryWaitCqe_times_out_after_its_timeout_while_a_read_is_blocked()
    {
        using var blocked = new BlockedPipeRead();
        (TestPipe pipe, NativeBuffer buffer, Ring ring) = blocked;

        bool got = true;
        TimeSpan took = Time(() => got = ring.TryWaitCqe(TimeSpan.FromMilliseconds(200), out _));
        Assert.False(got);
        Assert.True(took >= TimeSpan.FromMilliseconds(190) || Wait.TimeScale > 1, $"returned after {took.TotalMilliseconds} ms");
        Assert.True(took < Wait.Patience, $"returned after {took.TotalMilliseconds} ms");
        Assert.Equal(1, ring.InFlight);

        pipe.Put("x"u8);
        Assert.True(ring.TryWaitCqe(Wait.Patience, out Cqe cqe));
        Assert.Equal(1, cqe.Res);
        ring.CqeSeen(cqe);
    }

    [UringFact]
    public void TryWaitCqe_returns_as_soon_as_a_completion_arrives()
    {
        using var blocked = new BlockedPipeRead();
        (TestPipe pipe, NativeBuffer buffer, Ring ring) = blocked;

        Background writer = Background.After(TimeSpan.FromMilliseconds(50), () => pipe.Put("hey"u8));

        bool got = false;
        Cqe cqe = default;
        TimeSpan took = Time(() => got = ring.TryWaitCqe(TimeSpan.FromSeconds(30), out cqe));
        Assert.True(got);
        Assert.Equal(1UL, cqe.UserData);
        Assert.Equal(3, cqe.Res);
        Assert.True(took < Wait.Patience, $"returned after {took.TotalMilliseconds} ms of a 30 s timeout");
        ring.CqeSeen(cqe);
        Assert.Equal("hey"u8.ToArray(), buffer.Span[..3].ToArray());
        writer.Join();
    }

    [UringFact]
    public void TryWaitCqe_with_zero_only_peeks()
    {
        using var blocked = new BlockedPipeRead();
        (TestPipe pipe, NativeBuffer buffer, Ring ring) = blocked;

        bool got = true;
        TimeSpan took = Time(() => got = ring.TryWaitCqe(TimeSpan.Zero, out _));
        Assert.False(got);
        Assert.True(took < TimeSpan.FromSeconds(1), $"a peek took {took.TotalMilliseconds} ms");

        // A zero wait does not submit either: the NOP stays queued until Submit.
        ring.NextSqe(2).PrepNop();
        Assert.False(ring.TryWaitCqe(TimeSpan.Zero, out _));
        Assert.Equal(1u, ring.SqPending);
        Assert.Equal(1, ring.Submit());
        Assert.True(ring.TryWaitCqe(TimeSpan.Zero, out Cqe cqe));
        Assert.Equal(2UL, cqe.UserData);
        // Peeking does not consume.
        Assert.True(ring.TryWaitCqe(TimeSpan.Zero, out Cqe again));
        Assert.Equal(cqe, again);
        ring.CqeSeen(cqe);
        Assert.False(ring.TryWaitCqe(TimeSpan.Zero, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.TryWaitCqe(TimeSpan.FromMilliseconds(-5), out _));
    }

    [UringFact]
    public void WaitCqe_with_a_timeout_throws_TimeoutException()
    {
        using var blocked = new BlockedPipeRead();
        (TestPipe pipe, NativeBuffer buffer, Ring ring) = blocked;

        var e = Assert.Throws<TimeoutException>(() => ring.WaitCqe(TimeSpan.FromMilliseconds(50)));
        Assert.Contains("No completion arrived within", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, ring.InFlight);
    }

    [UringFact]
    public void WaitCqe_and_SubmitAndWait_on_an_empty_ring_throw_instead_of_hanging()
    {
        using var ring = new Ring(4);
        var e = Assert.Throws<WaitWouldBlockForeverException>(() => ring.WaitCqe());
        Assert.Contains("would block forever", e.Message, StringComparison.Ordinal);
        Assert.Contains("No request is in flight", e.Message, StringComparison.Ordinal);
        Assert.Contains("ExpectExternalCompletions", e.Message, StringComparison.Ordinal);

        var e2 = Assert.Throws<WaitWouldBlockForeverException>(() => ring.SubmitAndWait(1));
        Assert.Contains("Waiting for 1 completion(s)", e2.Message, StringComparison.Ordinal);

        // After everything completed and was seen, the ring is "empty" again.
        ring.GetSqe().PrepNop();
        Assert.Equal(1, ring.SubmitAndWait(1));
        ring.CqeSeen(ring.WaitCqe());
        Assert.Throws<WaitWouldBlockForeverException>(() => ring.WaitCqe());
        Assert.Throws<WaitWouldBlockForeverException>(() => ring.SubmitAndWait(1));
    }

    [UringFact]
    public void SubmitAndWait_counts_CQEs_already_ready()
    {
        using var ring = new Ring(4);
        ring.GetSqe().PrepNop();
        ring.GetSqe().PrepNop();
        Assert.Equal(2, ring.SubmitAndWait(2));
        Assert.Equal(2u, ring.CqReady);
        // Nothing in flight, but two CQEs ready: waiting for up to 2 returns at once.
        Assert.Equal(0, ring.SubmitAndWait(2));
        var e = Assert.Throws<WaitWouldBlockForeverException>(() => ring.SubmitAndWait(3));
        Assert.Contains("the completion queue holds 2", e.Message, StringComparison.Ordinal);
        ring.CqAdvance(2);
    }

    [UringFact]
    public void Waits_with_a_request_in_flight_block_until_it_completes()
    {
        using var pipe = new TestPipe();
        using var buffer = new NativeBuffer(16);
        using var ring = new Ring(4);

        // SubmitAndWait submits the read and waits in the same call.
        ring.GetSqe().PrepPipeRead(pipe.ReadFd, buffer, 1);
        Background writer = Background.Run(() =>
        {
            Thread.Sleep(50);
            pipe.Put("a"u8);
            Thread.Sleep(50);
            pipe.Put("b"u8);
        });
        Assert.Equal(1, ring.SubmitAndWait(1));
        Cqe first = ring.WaitCqe();
        Assert.Equal(1, first.Res);
        ring.CqeSeen(first);

        // WaitCqe with a request in flight waits for it.
        ring.GetSqe().PrepPipeRead(pipe.ReadFd, buffer, 2);
        Assert.Equal(1, ring.Submit());
        Cqe second = ring.WaitCqe();
        ring.CqeSeen(second);
        Assert.Equal(2UL, second.UserData);
        Assert.Equal(1, second.Res);
        Assert.Equal((byte)'b', buffer.Span[0]);
        writer.Join();

        // SubmitAndWait with nothing new to submit but a read already in flight waits for that read.
        ring.GetSqe().PrepPipeRead(pipe.ReadFd, buffer, 3);
        Assert.Equal(1, ring.Submit());
        Background third = Background.After(TimeSpan.FromMilliseconds(50), () => pipe.Put("c"u8));
        Assert.Equal(0, ring.SubmitAndWait(1));
        Assert.Equal(1u, ring.CqReady);
        Cqe last = ring.WaitCqe();
        ring.CqeSeen(last);
        Assert.Equal(3UL, last.UserData);
        Assert.Equal((byte)'c', buffer.Span[0]);
        third.Join();
    }

    [UringFact(Opcode.MsgRing)]
    public void ExpectExternalCompletions_allows_waiting_for_a_MSG_RING_from_another_ring()
    {
        using var target = new Ring(4) { ExpectExternalCompletions = true };
        using var sender = new Ring(4);
        Background send = Background.Run(() =>
        {
            Thread.Sleep(50);
            sender.NextSqe(1).PrepMsgRing(target.Fd, 1234, 0xFEED);
            Assert.Equal(1, sender.Submit());
            Cqe sent = sender.WaitCqe();
            sender.CqeSeen(sent);
            return sent;
        });

        Cqe cqe = target.WaitCqe();
        Assert.Equal(0xFEEDUL, cqe.UserData);
        Assert.Equal(1234, cqe.Res);
        target.CqeSeen(cqe);
        Assert.Equal(0, target.InFlight);
        Assert.Equal(0, send.Join<Cqe>().Res);

        // Without the flag the same wait is refused.
        target.ExpectExternalCompletions = false;
        Assert.Throws<WaitWouldBlockForeverException>(() => target.WaitCqe());
    }

    [UringFact]
    public void A_multishot_poll_stays_in_flight_until_its_final_CQE()
    {
        using var pipe = new TestPipe();
        using var ring = new Ring(4);
        ring.NextSqe(5).PrepPollMultishot(pipe.ReadFd, 1);
        Assert.Equal(1, ring.Submit());

        for (int i = 0; i < 2; i++)
        {
            pipe.Put("p"u8);
            Cqe cqe = ring.WaitCqe(Wait.Patience);
            Assert.Equal(5UL, cqe.UserData);
            Assert.True((cqe.Res & 1) != 0, $"POLLIN expected, got {cqe.Res}");
            Assert.True(cqe.HasMore);
            ring.CqeSeen(cqe);
            Assert.Equal(1, ring.InFlight);
        }

        // Still in flight, so a blocking wait is legitimate (it times out instead of being refused).
        Assert.False(ring.TryWaitCqe(TimeSpan.FromMilliseconds(20), out _));

        ring.NextSqe(6).PrepPollRemove(5);
        Assert.Equal(1, ring.Submit());
        Dictionary<ulong, Cqe> done = ReapByUserData(ring, 2);
        Assert.Equal(-E.ECANCELED, done[5].Res);
        Assert.False(done[5].HasMore);
        Assert.Equal(0, done[6].Res);
        Assert.Equal(0, ring.InFlight);
        Assert.Throws<WaitWouldBlockForeverException>(() => ring.WaitCqe());
    }
}
