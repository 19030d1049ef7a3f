namespace IoUring.Tests.Reliability;

/// <summary>
/// Closing a descriptor while a request on it is in flight: the request took its own reference to the file at
/// submission, so close(2) neither completes nor breaks it, and a new file that reuses the fd number is not affected.
/// The request still completes exactly once (with data, EOF, or -ECANCELED) and nothing crashes.
/// </summary>
public sealed class FdClosedInFlightTests
{
    [UringFact]
    public void A_read_in_flight_keeps_its_pipe_after_close_and_ignores_a_new_file_on_the_same_fd_number()
    {
        using var ring = new Ring(4);
        using var buffer = new NativeBuffer(64);
        using var original = new TestPipe();
        int closedFd = original.ReadFd;

        ref Sqe read = ref ring.GetSqe();
        read.PrepRead(closedFd, buffer, ulong.MaxValue);
        read.UserData = 1;
        Assert.Equal(1, ring.Submit());
        RingKit.AssertNoCompletion(ring, TimeSpan.FromMilliseconds(50));

        original.CloseReadEnd();
        RingKit.AssertNoCompletion(ring, TimeSpan.FromMilliseconds(50));

        // Open new pipes until one lands on the freed number (another test thread may grab it first).
        var others = new List<TestPipe>();
        try
        {
            TestPipe? reuse = null;
            for (int i = 0; i < 16 && reuse is null; i++)
            {
                var p = new TestPipe();
                others.Add(p);
                if (p.ReadFd == closedFd)
                {
                    reuse = p;
                }
            }

            foreach (TestPipe p in others)
            {
                p.Put("new file"u8);
            }

            RingKit.AssertNoCompletion(ring, TimeSpan.FromMilliseconds(100));
            if (reuse is not null)
            {
                Assert.Equal("new file"u8.ToArray(), reuse.ReadAvailable());
            }

            // The write end of the original pipe still reaches the in-flight read.
            original.Put("old file"u8);
            Cqe cqe = RingKit.ReapByUserData(ring, 1)[1];
            Assert.Equal(8, cqe.Res);
            Assert.Equal("old file"u8.ToArray(), buffer.Span[..8].ToArray());
            RingKit.AssertQuiet(ring);
        }
        finally
        {
            foreach (TestPipe p in others)
            {
                p.Dispose();
            }
        }
    }

    [UringFact]
    public void Closing_both_ends_while_a_read_is_in_flight_completes_it_with_EOF()
    {
        using var ring = new Ring(4);
        using var buffer = new NativeBuffer(64);
        buffer.Span.Fill(0x77);
        using var pipe = new TestPipe();

        ring.GetSqe().PrepPipeRead(pipe.ReadFd, buffer, 1);
        ring.Submit();
        pipe.CloseReadEnd();
        RingKit.AssertNoCompletion(ring, TimeSpan.FromMilliseconds(50));

        // The last writer goes away: the read (still holding the pipe) sees end of file.
        pipe.CloseWriteEnd();
        Cqe cqe = RingKit.ReapByUserData(ring, 1)[1];
        Assert.Equal(0, cqe.Res);
        Assert.True(TestData.AllEqual(buffer.Span, 0x77));
        RingKit.AssertQuiet(ring);
    }

    [UringFact]
    public void A_read_whose_fd_was_closed_can_still_be_cancelled_and_never_touches_its_buffer()
    {
        using var ring = new Ring(4);
        using var buffer = new NativeBuffer(64);
        buffer.Span.Fill(0x33);
        using var pipe = new TestPipe();
        int fd = pipe.ReadFd;

        ref Sqe read = ref ring.GetSqe();
        read.PrepRead(fd, buffer, ulong.MaxValue);
        read.UserData = 1;
        ring.Submit();
        pipe.CloseReadEnd();

        ring.NextSqe(2).PrepCancel(1);
        ring.Submit();
        Dictionary<ulong, Cqe> cqes = RingKit.ReapByUserData(ring, 2);
        Assert.Equal(-E.ECANCELED, cqes[1].Res);
        Assert.Equal(0, cqes[2].Res);

        // The cancelled request dropped the last reference to the read end: the pipe has no reader any more.
        Assert.Equal(-32 /* EPIPE */, global::IoUring.Interop.Libc.Write(pipe.WriteFd, "late"u8));
        Assert.True(TestData.AllEqual(buffer.Span, 0x33), "a cancelled read must never write its buffer");
        RingKit.AssertQuiet(ring);
    }
}
