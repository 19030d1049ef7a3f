namespace IoUring.Tests.Reliability;

/// <summary>
/// Cancellation that finds nothing to cancel is an answer, not a failure: after completion, a second time, or for
/// user data that never existed, the cancel's own CQE says -ENOENT (or -EALREADY while the target is finishing),
/// every target completes exactly once, and requests that were not targeted stay in flight untouched.
/// </summary>
public sealed class CancelFaultTests
{
    [UringFact]
    public void Cancel_after_completion_is_ENOENT_and_the_completed_result_stands()
    {
        using var file = new TempFile(4096, seed: 21);
        using var handle = file.Open();
        using var buffer = new NativeBuffer(4096);
        using var ring = new Ring(4);

        ring.NextSqe(1).PrepRead((int)handle.DangerousGetHandle(), buffer, 0);
        ring.Submit();
        Assert.Equal(4096, RingKit.ReapByUserData(ring, 1)[1].Res);

        ring.NextSqe(2).PrepCancel(1);
        ring.Submit();
        Assert.Equal(-E.ENOENT, RingKit.ReapByUserData(ring, 1)[2].Res);
        Assert.True(buffer.Span.SequenceEqual(file.Content));
        RingKit.AssertQuiet(ring);
    }

    [UringFact]
    public void Cancel_twice_the_target_completes_once_and_the_second_cancel_finds_nothing()
    {
        using var pipe = new TestPipe();
        using var buffer = new NativeBuffer(64);
        buffer.Span.Fill(0x42);
        using var ring = new Ring(8);

        ring.GetSqe().PrepPipeRead(pipe.ReadFd, buffer, 1);
        ring.Submit();

        ring.NextSqe(2).PrepCancel(1);
        ring.Submit();
        Dictionary<ulong, Cqe> cqes = RingKit.ReapByUserData(ring, 2);
        Assert.Equal(-E.ECANCELED, cqes[1].Res);
        Assert.Equal(0, cqes[2].Res);

        ring.NextSqe(3).PrepCancel(1);
        ring.Submit();
        Assert.Equal(-E.ENOENT, RingKit.ReapByUserData(ring, 1)[3].Res);

        pipe.Put("x"u8);
        RingKit.AssertNoCompletion(ring, TimeSpan.FromMilliseconds(30));
        Assert.True(TestData.AllEqual(buffer.Span, 0x42));
        RingKit.AssertQuiet(ring);
    }

    [UringFact]
    public void Cancel_of_unknown_user_data_is_ENOENT_and_leaves_other_requests_in_flight()
    {
        using var pipe = new TestPipe();
        using var buffer = new NativeBuffer(64);
        using var ring = new Ring(8);

        ring.GetSqe().PrepPipeRead(pipe.ReadFd, buffer, 1);
        foreach (ulong unknown in new ulong[] { 0, 2, ulong.MaxValue - 5 })
        {
            ring.NextSqe(100 + (unknown % 50)).PrepCancel(unknown);
        }

        Assert.Equal(4, ring.Submit());
        Dictionary<ulong, Cqe> cqes = RingKit.ReapByUserData(ring, 3);
        Assert.All(cqes.Values, c => Assert.Equal(-E.ENOENT, c.Res));
        Assert.DoesNotContain(1UL, cqes.Keys);
        Assert.Equal(1, ring.InFlight);

        // The untouched read still works.
        pipe.Put("still here"u8);
        Assert.Equal(10, RingKit.ReapByUserData(ring, 1)[1].Res);
        Assert.Equal("still here"u8.ToArray(), buffer.Span[..10].ToArray());
        RingKit.AssertQuiet(ring);
    }
}
