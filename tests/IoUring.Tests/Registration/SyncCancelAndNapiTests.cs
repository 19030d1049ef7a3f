namespace IoUring.Tests.Registration;

/// <summary>IORING_REGISTER_SYNC_CANCEL (6.0) and NAPI busy-poll registration (6.9).</summary>
public sealed class SyncCancelAndNapiTests
{
    [UringFact(Opcode.Read)]
    public void CancelSync_cancels_pending_reads_by_user_data_fd_and_opcode_and_reports_none_left()
    {
        using var pipe = new TestPipe();
        using var buffer = new NativeBuffer(64);
        using var ring = new Ring(8);
        for (ulong i = 1; i <= 4; i++)
        {
            ring.GetSqe().PrepPipeRead(pipe.ReadFd, buffer, i);
        }

        Assert.Equal(4, ring.Submit());
        Assert.Equal(1, ring.CancelSync(1));
        Assert.Equal(-E.ECANCELED, RingKit.Next(ring).Res);
        Assert.Equal(0, ring.CancelSync(1)); // gone
        Assert.Equal(1, ring.CancelSyncFd(pipe.ReadFd));
        Assert.Equal(-E.ECANCELED, RingKit.Next(ring).Res);
        int cancelled;
        try
        {
            cancelled = ring.CancelSyncOp(Opcode.Read, AsyncCancelFlags.All, TimeSpan.FromSeconds(5));
        }
        catch (IoUringException e) when (e.Errno == E.EINVAL)
        {
            // The user-data and fd matches above work from 6.0; matching on the opcode came in 6.6.
            Kernel.RequireRefusalMeansOldKernel(true, 6, 6, "IORING_ASYNC_CANCEL_OP (sync cancel by opcode)");
            throw;
        }

        Assert.Equal(2, cancelled);
        Dictionary<ulong, Cqe> rest = RingKit.ReapByUserData(ring, 2);
        Assert.All(rest.Values, c => Assert.Equal(-E.ECANCELED, c.Res));
        RingKit.AssertQuiet(ring);
    }

    [UringFact]
    public void RegisterNapi_returns_the_previous_settings_and_UnregisterNapi_the_active_ones()
    {
        using var ring = new Ring(4);
        NapiSettings before;
        try
        {
            before = ring.RegisterNapi(TimeSpan.FromMicroseconds(100), preferBusyPoll: true);
        }
        catch (IoUringException e) when (e.Errno == E.EINVAL)
        {
            Kernel.RequireRefusalMeansOldKernel(true, 6, 9, "IORING_REGISTER_NAPI");
            throw;
        }

        Assert.Equal(new NapiSettings(TimeSpan.Zero, false), before);
        Assert.Equal(new NapiSettings(TimeSpan.FromMicroseconds(100), true), ring.RegisterNapi(TimeSpan.FromMicroseconds(50)));
        Assert.Equal(new NapiSettings(TimeSpan.FromMicroseconds(50), false), ring.UnregisterNapi());
        string fdinfo = File.ReadAllText($"/proc/self/fdinfo/{ring.Fd}");
        Assert.Contains("NAPI:\tdisabled", fdinfo, StringComparison.Ordinal);
    }
}
