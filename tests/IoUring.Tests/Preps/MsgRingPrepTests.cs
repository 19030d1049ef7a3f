namespace IoUring.Tests.Preps;

/// <summary>msg_ring: data messages, passed CQE flags, and passing a direct descriptor between rings.</summary>
public sealed class MsgRingPrepTests
{
    [UringFact(Opcode.MsgRing)]
    public void Msg_ring_posts_a_CQE_with_the_given_result_and_user_data_on_the_target()
    {
        using var source = new Ring(4);
        using var target = new Ring(4) { ExpectExternalCompletions = true };

        source.NextSqe(1).PrepMsgRing(target.Fd, 1234, 0xABCDEF);
        Cqe sent = RingKit.Run(source);
        Assert.Equal(1UL, sent.UserData);
        Assert.Equal(0, sent.Res);

        Cqe got = RingKit.Next(target);
        Assert.Equal(0xABCDEFUL, got.UserData);
        Assert.Equal(1234, got.Res);
        Assert.Equal(CqeFlags.None, got.Flags);
        Assert.Equal(0, target.InFlight);
    }

    [UringFact(Opcode.MsgRing)]
    public void Msg_ring_with_FLAGS_PASS_sets_the_target_CQE_flags()
    {
        using var source = new Ring(4);
        using var target = new Ring(4) { ExpectExternalCompletions = true };
        var flags = (CqeFlags)(0x5A5A_0000u | (uint)CqeFlags.Buffer);

        source.GetSqe().PrepMsgRingCqeFlags(target.Fd, 7, 8, flags);
        int res = RingKit.Run(source).Res;
        if (res == -E.EINVAL)
        {
            Assert.Skip("This kernel has no IORING_MSG_RING_FLAGS_PASS (6.2+).");
        }

        Assert.Equal(0, res);
        Cqe got = RingKit.Next(target);
        Assert.Equal(8UL, got.UserData);
        Assert.Equal(7, got.Res);
        Assert.Equal(flags, got.Flags);
        Assert.Equal((ushort)0x5A5A, got.BufferId);
    }

    [UringFact(Opcode.MsgRing)]
    public void Msg_ring_to_a_non_ring_fd_fails_with_EBADFD()
    {
        using var pipe = new TestPipe();
        using var ring = new Ring(4);
        ring.GetSqe().PrepMsgRing(pipe.ReadFd, 1, 2);
        Assert.Equal(-77, RingKit.Run(ring).Res);
    }

    [UringFact(Opcode.MsgRing)]
    public void Msg_ring_passes_a_direct_descriptor_that_the_target_can_use()
    {
        using var pipe = new TestPipe();
        using var source = new Ring(4);
        using var target = new Ring(4) { ExpectExternalCompletions = true };
        source.RegisterFiles([pipe.WriteFd]);
        target.RegisterFilesSparse(4);

        source.GetSqe().PrepMsgRingFd(target.Fd, sourceFileIndex: 0, targetFileIndex: 2, targetUserData: 55);
        Assert.Equal(0, RingKit.Run(source).Res);
        Cqe arrived = RingKit.Next(target);
        Assert.Equal(55UL, arrived.UserData);
        Assert.Equal(0, arrived.Res);

        var data = new Pinned<byte>("passed"u8);
        target.NextSqe(0, SqeFlags.FixedFile).PrepWrite(2, data.Address, 6, 0);
        Assert.Equal(6, RingKit.Run(target).Res);
        byte[] got = new byte[6];
        Assert.Equal(6, IoUring.Interop.Libc.Read(pipe.ReadFd, got));
        Assert.Equal("passed"u8.ToArray(), got);

        // Into a slot the kernel picks, announced by both the sender's and the target's CQE result.
        source.GetSqe().PrepMsgRingFd(target.Fd, 0, SqeConstants.FileIndexAlloc, 56);
        int picked = RingKit.Run(source).Res;
        Assert.InRange(picked, 0, 3);
        Assert.NotEqual(2, picked);
        Cqe alloc = RingKit.Next(target);
        Assert.Equal(56UL, alloc.UserData);
        Assert.Equal(picked, alloc.Res);
        Pinned.KeepAlive(data);
    }
}
