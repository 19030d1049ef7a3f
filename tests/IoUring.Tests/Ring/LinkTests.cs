using static IoUring.Tests.RingKit;

namespace IoUring.Tests.RingTests;

/// <summary>IOSQE_IO_LINK, IOSQE_IO_HARDLINK and IOSQE_IO_DRAIN as the kernel really orders and fails them.</summary>
public sealed class LinkTests
{
    [UringFact]
    public void When_the_head_of_a_link_chain_fails_the_rest_complete_with_ECANCELED()
    {
        using var ring = new Ring(8);
        using var buffer = new NativeBuffer(64);

        ring.NextSqe(1, SqeFlags.IoLink).PrepRead(BadFd, buffer.Address, 64, 0);
        ring.NextSqe(2, SqeFlags.IoLink).PrepNop();
        ring.NextSqe(3).PrepNop();
        ring.NextSqe(4).PrepNop();

        Assert.Equal(4, ring.Submit());
        Dictionary<ulong, Cqe> done = ReapByUserData(ring, 4);
        Assert.Equal(-E.EBADF, done[1].Res);
        Assert.Equal(-E.ECANCELED, done[2].Res);
        Assert.Equal(-E.ECANCELED, done[3].Res);
        Assert.Equal(0, done[4].Res);
        Assert.Equal(0, ring.InFlight);
    }

    [UringFact]
    public void A_hard_link_continues_after_the_head_fails()
    {
        using var ring = new Ring(8);
        using var buffer = new NativeBuffer(64);

        ring.NextSqe(1, SqeFlags.IoHardLink).PrepRead(BadFd, buffer.Address, 64, 0);
        ring.NextSqe(2).PrepNop();

        Assert.Equal(2, ring.Submit());
        Cqe[] done = Reap(ring, 2);
        // A link chain completes in order.
        Assert.Equal([1UL, 2UL], done.Select(c => c.UserData));
        Assert.Equal(-E.EBADF, done[0].Res);
        Assert.Equal(0, done[1].Res);
    }

    [UringFact]
    public void A_linked_chain_runs_in_order_each_step_seeing_the_previous_ones_effect()
    {
        using var pipe = new TestPipe();
        using var source = new NativeBuffer(5);
        using var target = new NativeBuffer(5);
        "hello"u8.CopyTo(source.Span);
        using var ring = new Ring(4);

        // The read is submitted before the write ever runs; the link makes it wait.
        ring.NextSqe(1, SqeFlags.IoLink).PrepWrite(pipe.WriteFd, source.Address, 5, ulong.MaxValue);
        ring.GetSqe().PrepPipeRead(pipe.ReadFd, target, 2);

        Assert.Equal(2, ring.Submit());
        Cqe[] done = Reap(ring, 2);
        Assert.Equal([1UL, 2UL], done.Select(c => c.UserData));
        Assert.Equal(5, done[0].Res);
        Assert.Equal(5, done[1].Res);
        Assert.Equal("hello"u8.ToArray(), target.Span.ToArray());
    }

    [UringFact]
    public void A_drained_request_waits_for_everything_before_it_and_holds_back_everything_after_it()
    {
        using var pipe = new TestPipe();
        using var buffer = new NativeBuffer(8);
        using var ring = new Ring(8);

        ring.GetSqe().PrepPipeRead(pipe.ReadFd, buffer, 1);
        ref Sqe drained = ref ring.GetSqe();
        drained.PrepNop();
        drained.Flags = SqeFlags.IoDrain;
        drained.UserData = 2;
        ref Sqe after = ref ring.GetSqe();
        after.PrepNop();
        after.UserData = 3;

        Assert.Equal(3, ring.Submit());
        // Nothing can complete while the read before the drain is blocked: not the drained NOP, not the NOP after it.
        AssertNoCompletion(ring, TimeSpan.FromMilliseconds(100));
        Assert.Equal(3, ring.InFlight);

        pipe.Put("abc"u8);
        Cqe[] done = Reap(ring, 3);
        Assert.Equal(1UL, done[0].UserData);
        if (Kernel.AtLeast(6, 2))
        {
            Assert.Equal([1UL, 2UL, 3UL], done.Select(c => c.UserData));
        }
        else
        {
            // Linux 6.1 (seen on 6.1.192) holds both NOPs back until the read completes, but may then post the one
            // after the drain before the drained one: only "nothing passes the drain early" holds there.
            Assert.Equal([2UL, 3UL], done.Skip(1).Select(c => c.UserData).Order());
        }

        Assert.Equal([3, 0, 0], done.Select(c => c.Res));
        Assert.Equal("abc"u8.ToArray(), buffer.Span[..3].ToArray());
    }

    [UringFact]
    public void A_short_read_breaks_a_link_chain()
    {
        using var file = new TempFile(100);
        using var handle = file.Open();
        int fd = (int)handle.DangerousGetHandle();
        using var buffer = new NativeBuffer(4096);
        using var ring = new Ring(4);

        // Asking for 4096 bytes of a 100-byte file completes short, which the kernel treats as a failed link.
        ring.NextSqe(1, SqeFlags.IoLink).PrepRead(fd, buffer, 0);
        ring.NextSqe(2).PrepNop();

        Assert.Equal(2, ring.Submit());
        Cqe[] done = Reap(ring, 2);
        Assert.Equal(100, done[0].Res);
        Assert.Equal(-E.ECANCELED, done[1].Res);
        Assert.Equal(file.Content, buffer.Span[..100].ToArray());
    }
}
