namespace IoUring.Tests.Reliability;

/// <summary>
/// Cancellation that finds nothing to cancel is an answer, not a failure: after completion, a second time, or for
/// user data that never existed, the cancel's own CQE says -ENOENT (or -EALREADY while the target is finishing),
/// every target completes exactly once, and requests that were not targeted stay in flight untouched.
/// </summary>
public sealed class CancelFaultTests
{
    [Fact]
    public void Cancel_after_completion_is_ENOENT_and_the_completed_result_stands()
    {
        Kernel.RequireIoUring();
        using var file = new TempFile(4096, seed: 21);
        using var handle = file.Open();
        using var buffer = new NativeBuffer(4096);
        using var ring = new Ring(4);

        ref Sqe read = ref ring.GetSqe();
        read.PrepRead((int)handle.DangerousGetHandle(), buffer, 0);
        read.UserData = 1;
        ring.Submit();
        Assert.Equal(4096, RingKit.ReapByUserData(ring, 1)[1].Res);

        ref Sqe cancel = ref ring.GetSqe();
        cancel.PrepCancel(1);
        cancel.UserData = 2;
        ring.Submit();
        Assert.Equal(-E.ENOENT, RingKit.ReapByUserData(ring, 1)[2].Res);
        Assert.True(buffer.Span.SequenceEqual(file.Content));
        RingKit.AssertQuiet(ring);
    }

    [Fact]
    public void Cancel_twice_the_target_completes_once_and_the_second_cancel_finds_nothing()
    {
        Kernel.RequireIoUring();
        using var pipe = new TestPipe();
        using var buffer = new NativeBuffer(64);
        buffer.Span.Fill(0x42);
        using var ring = new Ring(8);

        ring.GetSqe().PrepPipeRead(pipe.ReadFd, buffer, 1);
        ring.Submit();

        ref Sqe first = ref ring.GetSqe();
        first.PrepCancel(1);
        first.UserData = 2;
        ring.Submit();
        Dictionary<ulong, Cqe> cqes = RingKit.ReapByUserData(ring, 2);
        Assert.Equal(-E.ECANCELED, cqes[1].Res);
        Assert.Equal(0, cqes[2].Res);

        ref Sqe second = ref ring.GetSqe();
        second.PrepCancel(1);
        second.UserData = 3;
        ring.Submit();
        Assert.Equal(-E.ENOENT, RingKit.ReapByUserData(ring, 1)[3].Res);

        pipe.Put("x"u8);
        RingKit.AssertNoCompletion(ring, TimeSpan.FromMilliseconds(30));
        Assert.True(TestData.AllEqual(buffer.Span, 0x42));
        RingKit.AssertQuiet(ring);
    }

    [Fact]
    public void Cancel_of_unknown_user_data_is_ENOENT_and_leaves_other_requests_in_flight()
    {
        Kernel.RequireIoUring();
        using var pipe = new TestPipe();
        using var buffer = new NativeBuffer(64);
        using var ring = new Ring(8);

        ring.GetSqe().PrepPipeRead(pipe.ReadFd, buffer, 1);
        foreach (ulong unknown in new ulong[] { 0, 2, ulong.MaxValue - 5 })
        {
            ref Sqe cancel = ref ring.GetSqe();
            cancel.PrepCancel(unknown);
            cancel.UserData = 100 + (unknown % 50);
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
