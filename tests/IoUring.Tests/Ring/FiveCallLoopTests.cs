namespace IoUring.Tests.RingTests;

public sealed class FiveCallLoopTests
{
    [UringFact]
    public void Reads_a_file_with_GetSqe_PrepRead_Submit_WaitCqe_CqeSeen()
    {
        using var file = new TempFile(8192);
        using var handle = file.Open();
        int fd = (int)handle.DangerousGetHandle();
        using var buffer = new NativeBuffer(4096);
        using var ring = new Ring(8);

        ring.NextSqe(42).PrepRead(fd, buffer, offset: 4096);
        Assert.Equal(1, ring.Submit());
        Cqe cqe = ring.WaitCqe();
        ring.CqeSeen(cqe);

        Assert.Equal(42UL, cqe.UserData);
        Assert.Equal(4096, cqe.Res);
        Assert.Equal(file.Content.AsSpan(4096, 4096).ToArray(), buffer.Span.ToArray());
        Assert.Equal(0, ring.InFlight);
        Assert.Equal(0u, ring.CqReady);
    }

    [UringFact]
    public void Waiting_with_nothing_in_flight_throws_instead_of_hanging()
    {
        using var ring = new Ring(4);
        var e = Assert.Throws<WaitWouldBlockForeverException>(() => ring.WaitCqe());
        Assert.Contains("nothing submitted", e.Message, StringComparison.Ordinal);
    }

    [UringFact]
    public void Waiting_after_prepping_without_submit_names_the_forgotten_submit()
    {
        using var ring = new Ring(4);
        ring.GetSqe().PrepNop();
        var e = Assert.Throws<WaitWouldBlockForeverException>(() => ring.WaitCqe());
        Assert.Contains("1 SQE(s) are prepared but not submitted", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, ring.Submit());
        Cqe cqe = ring.WaitCqe();
        ring.CqeSeen(cqe);
        Assert.Equal(0, cqe.Res);
    }

    [UringFact]
    public void CqeSeen_without_a_ready_cqe_or_out_of_order_throws_and_loses_nothing()
    {
        using var ring = new Ring(4);
        var bogus = new Cqe(1, 0, CqeFlags.None);
        var e = Assert.Throws<InvalidOperationException>(() => ring.CqeSeen(bogus));
        Assert.Contains("no CQE is ready", e.Message, StringComparison.Ordinal);

        for (ulong i = 1; i <= 2; i++)
        {
            ring.NextSqe(i).PrepNop();
        }

        ring.SubmitAndWait(2);
        var cqes = new Cqe[2];
        Assert.Equal(2, ring.PeekBatchCqe(cqes));
        e = Assert.Throws<InvalidOperationException>(() => ring.CqeSeen(cqes[1]));
        Assert.Contains("not the oldest", e.Message, StringComparison.Ordinal);

        // Nothing was lost: both CQEs are still there, in order.
        Assert.Equal(2u, ring.CqReady);
        ring.CqeSeen(cqes[0]);
        ring.CqeSeen(cqes[1]);
        Assert.Equal(0u, ring.CqReady);
        Assert.Equal(0, ring.InFlight);
    }
}
