namespace IoUring.Tests.Reliability;

/// <summary>
/// A linked chain whose head fails: the head's CQE carries its error, every later link completes with -ECANCELED
/// and has no effect (a linked write never reaches the file, a linked read never fills its buffer); with
/// IOSQE_IO_HARDLINK the later links run anyway. Every SQE of the chain yields exactly one CQE.
/// </summary>
public sealed class LinkFailureTests
{
    [UringFact]
    public void After_a_failed_head_the_linked_write_never_reaches_the_file()
    {
        using var file = new TempFile(4096, seed: 31);
        using var handle = file.Open(FileAccess.ReadWrite);
        int fd = (int)handle.DangerousGetHandle();
        using var data = new NativeBuffer(4096);
        data.Span.Fill(0xAB);
        using var readBack = new NativeBuffer(4096);
        readBack.Span.Fill(0xCD);
        using var ring = new Ring(8);

        ring.NextSqe(1, SqeFlags.IoLink).PrepRead(RingKit.BadFd, readBack, 0);
        ring.NextSqe(2, SqeFlags.IoLink).PrepWrite(fd, data, 0);
        ring.NextSqe(3, SqeFlags.IoLink).PrepFsync(fd);
        ring.NextSqe(4).PrepRead(fd, readBack, 0);

        Assert.Equal(4, ring.Submit());
        Dictionary<ulong, Cqe> cqes = RingKit.ReapByUserData(ring, 4);
        Assert.Equal(-E.EBADF, cqes[1].Res);
        Assert.Equal(-E.ECANCELED, cqes[2].Res);
        Assert.Equal(-E.ECANCELED, cqes[3].Res);
        Assert.Equal(-E.ECANCELED, cqes[4].Res);
        Assert.True(TestData.AllEqual(readBack.Span, 0xCD));
        Assert.Equal(file.Content, File.ReadAllBytes(file.Path));
        RingKit.AssertQuiet(ring);
    }

    [UringFact]
    public void With_a_hard_link_the_rest_of_the_chain_runs_after_a_failed_head()
    {
        using var file = new TempFile(4096, seed: 32);
        using var handle = file.Open(FileAccess.ReadWrite);
        int fd = (int)handle.DangerousGetHandle();
        using var data = new NativeBuffer(4096);
        data.Span.Fill(0xAB);
        using var readBack = new NativeBuffer(4096);
        using var ring = new Ring(8);

        ring.NextSqe(1, SqeFlags.IoHardLink).PrepRead(RingKit.BadFd, readBack, 0);
        ref Sqe write = ref ring.GetSqe();
        write.PrepWrite(fd, data, 0);
        write.Flags |= SqeFlags.IoHardLink;
        write.UserData = 2;
        ref Sqe read = ref ring.GetSqe();
        read.PrepRead(fd, readBack, 0);
        read.UserData = 3;

        Assert.Equal(3, ring.Submit());
        Dictionary<ulong, Cqe> cqes = RingKit.ReapByUserData(ring, 3);
        Assert.Equal(-E.EBADF, cqes[1].Res);
        Assert.Equal(4096, cqes[2].Res);
        Assert.Equal(4096, cqes[3].Res);
        Assert.True(TestData.AllEqual(readBack.Span, 0xAB), "the hard-linked read must see the hard-linked write");
        RingKit.AssertQuiet(ring);
    }

    [UringFact]
    public void A_failed_head_with_a_link_timeout_completes_both_and_the_timer_never_fires_later()
    {
        using var buffer = new NativeBuffer(64);
        using var ring = new Ring(8);

        ring.NextSqe(1, SqeFlags.IoLink).PrepRead(RingKit.BadFd, buffer, 0);
        ring.PrepLinkTimeout(TimeSpan.FromMilliseconds(100)).UserData = 2;

        Assert.Equal(2, ring.Submit());
        Dictionary<ulong, Cqe> cqes = RingKit.ReapByUserData(ring, 2);
        Assert.Equal(-E.EBADF, cqes[1].Res);
        Assert.Equal(-E.ECANCELED, cqes[2].Res);
        RingKit.AssertQuiet(ring);
        ring.ExpectExternalCompletions = true;
        RingKit.AssertNoCompletion(ring, TimeSpan.FromMilliseconds(200));
    }
}
