namespace IoUring.Tests.Reliability;

/// <summary>
/// A bad file descriptor is the request's failure, not the batch's: Submit accepts every SQE, the bad one completes
/// with -EBADF in its CQE, its buffer is untouched, and its neighbours in the batch complete normally.
/// </summary>
public sealed class BadFdTests
{
    [UringFact]
    public void A_bad_fd_fails_in_its_CQE_with_EBADF_and_Submit_does_not_throw()
    {
        using var ring = new Ring(8);
        using var buffer = new NativeBuffer(4096);
        buffer.Span.Fill(0x5A);

        ref Sqe read = ref ring.GetSqe();
        read.PrepRead(RingKit.BadFd, buffer, 0);
        read.UserData = 1;
        ring.NextSqe(2).PrepWrite(RingKit.BadFd, buffer, 0);
        ring.NextSqe(3).PrepFsync(RingKit.BadFd);
        ring.NextSqe(4).PrepRead(-1, buffer, 0);

        Assert.Equal(4, ring.Submit());
        Dictionary<ulong, Cqe> cqes = RingKit.ReapByUserData(ring, 4);
        foreach (ulong ud in new ulong[] { 1, 2, 3, 4 })
        {
            Assert.Equal(-E.EBADF, cqes[ud].Res);
        }

        Assert.True(TestData.AllEqual(buffer.Span, 0x5A), "a failed read must not touch its buffer");
        RingKit.AssertQuiet(ring);
    }

    [UringFact]
    public void A_bad_fd_in_the_middle_of_a_batch_does_not_disturb_its_neighbours()
    {
        using var file = new TempFile(8192, seed: 3);
        using var handle = file.Open();
        int fd = (int)handle.DangerousGetHandle();
        using var a = new NativeBuffer(4096);
        using var b = new NativeBuffer(4096);
        using var bad = new NativeBuffer(4096);
        using var ring = new Ring(8);

        ring.NextSqe(1).PrepRead(fd, a, 0);
        ring.NextSqe(2).PrepRead(RingKit.BadFd, bad, 0);
        ring.NextSqe(3).PrepRead(fd, b, 4096);

        Assert.Equal(3, ring.Submit());
        Dictionary<ulong, Cqe> cqes = RingKit.ReapByUserData(ring, 3);
        Assert.Equal(4096, cqes[1].Res);
        Assert.Equal(-E.EBADF, cqes[2].Res);
        Assert.Equal(4096, cqes[3].Res);
        Assert.True(a.Span.SequenceEqual(file.Content.AsSpan(0, 4096)));
        Assert.True(b.Span.SequenceEqual(file.Content.AsSpan(4096, 4096)));
        Assert.True(TestData.AllEqual(bad.Span, 0));
        RingKit.AssertQuiet(ring);
    }

    [UringFact]
    public void Reading_a_write_only_fd_or_writing_a_read_only_fd_is_EBADF()
    {
        using var pipe = new TestPipe();
        using var buffer = new NativeBuffer(64);
        using var ring = new Ring(4);

        ring.NextSqe(1).PrepRead(pipe.WriteFd, buffer, ulong.MaxValue);
        ring.NextSqe(2).PrepWrite(pipe.ReadFd, buffer, ulong.MaxValue);

        Assert.Equal(2, ring.Submit());
        Dictionary<ulong, Cqe> cqes = RingKit.ReapByUserData(ring, 2);
        Assert.Equal(-E.EBADF, cqes[1].Res);
        Assert.Equal(-E.EBADF, cqes[2].Res);
        Assert.Empty(pipe.ReadAvailable());
        RingKit.AssertQuiet(ring);
    }

    [UringFact]
    public void Reading_a_directory_is_EISDIR()
    {
        using var buffer = new NativeBuffer(64);
        using var ring = new Ring(2);
        int dirFd = Fds.OpenAt(ring, Path.GetTempPath(), Posix.O_RDONLY | Posix.O_DIRECTORY);
        try
        {
            ring.NextSqe(1).PrepRead(dirFd, buffer, 0);
            ring.Submit();
            Assert.Equal(-E.EISDIR, RingKit.ReapByUserData(ring, 1)[1].Res);
        }
        finally
        {
            _ = global::IoUring.Interop.Libc.Close(dirFd);
        }
    }

    [UringFact]
    public void A_fixed_file_index_outside_the_table_is_EBADF_with_or_without_a_table()
    {
        using var pipe = new TestPipe();
        using var buffer = new NativeBuffer(64);
        using var ring = new Ring(4);

        // No table registered at all.
        ring.NextSqe(1, SqeFlags.FixedFile).PrepRead(0, buffer, ulong.MaxValue);
        ring.Submit();
        Assert.Equal(-E.EBADF, RingKit.ReapByUserData(ring, 1)[1].Res);

        // A table of one slot; index 1 and a huge index are outside it, and an empty slot is no file either.
        ring.RegisterFiles([pipe.ReadFd, -1]);
        foreach ((int index, ulong ud) in new[] { (2, 2UL), (1 << 20, 3UL), (1, 4UL) })
        {
            ring.NextSqe(ud, SqeFlags.FixedFile).PrepRead(index, buffer, ulong.MaxValue);
        }

        Assert.Equal(3, ring.Submit());
        Dictionary<ulong, Cqe> cqes = RingKit.ReapByUserData(ring, 3);
        Assert.Equal(-E.EBADF, cqes[2].Res);
        Assert.Equal(-E.EBADF, cqes[3].Res);
        Assert.Equal(-E.EBADF, cqes[4].Res);
        Assert.True(TestData.AllEqual(buffer.Span, 0));
        RingKit.AssertQuiet(ring);
    }
}
