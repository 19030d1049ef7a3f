namespace IoUring.Tests.Preps;

/// <summary>poll_add (one-shot and multishot), poll_remove and poll_update on pipes.</summary>
public sealed class PollPrepTests
{
    [UringFact(Opcode.PollAdd)]
    public void Poll_add_completes_with_POLLIN_once_the_pipe_becomes_readable()
    {
        using var pipe = new TestPipe();
        using var ring = new Ring(4);
        ring.NextSqe(11).PrepPollAdd(pipe.ReadFd, Posix.POLLIN);
        Assert.Equal(1, ring.Submit());
        Assert.True(RingKit.Quiet(ring), "The poll completed before the pipe had data.");

        Fds.WriteAll(pipe.WriteFd, [1]);
        Cqe cqe = RingKit.Next(ring);
        Assert.Equal(11UL, cqe.UserData);
        Assert.Equal(Posix.POLLIN, (uint)cqe.Res & Posix.POLLIN);
        Assert.False(cqe.HasMore);
    }

    [UringFact([Opcode.PollAdd, Opcode.PollRemove])]
    public void Multishot_poll_fires_each_time_and_poll_remove_ends_it()
    {
        using var pipe = new TestPipe();
        using var ring = new Ring(4);
        ring.NextSqe(21).PrepPollMultishot(pipe.ReadFd, Posix.POLLIN);
        Assert.Equal(1, ring.Submit());

        byte[] sink = new byte[16];
        for (int i = 0; i < 3; i++)
        {
            Fds.WriteAll(pipe.WriteFd, [(byte)i]);
            Cqe cqe = RingKit.Next(ring);
            Assert.Equal(21UL, cqe.UserData);
            Assert.True(cqe.HasMore, $"round {i}: {cqe}");
            Assert.Equal(Posix.POLLIN, (uint)cqe.Res & Posix.POLLIN);
            Assert.Equal(1, IoUring.Interop.Libc.Read(pipe.ReadFd, sink)); // drain, so the next write is a new edge
        }

        ring.NextSqe(22).PrepPollRemove(21);
        Cqe[] cqes = RingKit.RunMany(ring, 2);
        Assert.Equal(0, cqes.With(22).Res);
        RingKit.AssertMultishotEnded(ring, cqes.With(21), -E.ECANCELED);
    }

    [UringFact(Opcode.PollRemove)]
    public void Poll_remove_of_an_unknown_user_data_reports_ENOENT()
    {
        using var ring = new Ring(4);
        ring.GetSqe().PrepPollRemove(12345);
        Assert.Equal(-E.ENOENT, RingKit.Run(ring).Res);
    }

    [UringFact(Opcode.PollRemove)]
    public void Poll_update_changes_both_the_events_and_the_user_data()
    {
        using var pipe = new TestPipe();
        using var ring = new Ring(4);
        // A pipe's write end never reports POLLIN, so this poll stays armed until updated.
        ring.NextSqe(31).PrepPollAdd(pipe.WriteFd, Posix.POLLIN);
        Assert.Equal(1, ring.Submit());
        Assert.True(RingKit.Quiet(ring));

        ring.NextSqe(33).PrepPollUpdate(31, 32, Posix.POLLOUT, PollFlags.UpdateEvents | PollFlags.UpdateUserData);
        Cqe[] cqes = RingKit.RunMany(ring, 2);

        Assert.Equal(0, cqes.With(33).Res);
        Cqe fired = cqes.With(32);
        Assert.Equal(Posix.POLLOUT, (uint)fired.Res & Posix.POLLOUT);
        Assert.DoesNotContain(cqes, c => c.UserData == 31);
    }
}
