namespace IoUring.Tests.RingTests;

/// <summary>Rings in library memory (NO_MMAP, 6.5), registered-fd-only rings (6.5) and ring resizing (6.13).</summary>
public sealed class RingMemoryTests
{
    [UringFact(Opcode.Read)]
    public void A_no_mmap_ring_reads_a_file_through_rings_in_library_memory()
    {
        using var file = new TempFile(4096, seed: 4);
        using var handle = file.Open();
        using var buffer = new NativeBuffer(4096);
        using Ring ring = Create(64, new RingOptions { NoMmap = true, CqEntries = 256 });
        Assert.True((ring.SetupFlags & SetupFlags.NoMmap) != 0);
        Assert.Equal(256u, ring.CqEntries);
        for (int round = 0; round < 3; round++)
        {
            for (ulong i = 0; i < 64; i++)
            {
                ring.NextSqe(i).PrepRead((int)handle.DangerousGetHandle(), buffer.Address + (nint)(i * 64), 64, i * 64);
            }

            Dictionary<ulong, Cqe> cqes = RingKit.ReapByUserData(ring, 0 + Submit(ring, 64));
            Assert.All(cqes.Values, c => Assert.Equal(64, c.Res));
        }

        Assert.Equal(file.Content, buffer.Span.ToArray());
    }

    [UringFact]
    public void A_registered_fd_only_ring_has_no_fd_and_works_only_on_its_thread()
    {
        Create(8, new RingOptions { NoMmap = true, RegisteredFdOnly = true }).Dispose(); // skips here, not on the thread below
        Background.Run(() =>
        {
            using var ring = new Ring(8, new RingOptions { NoMmap = true, RegisteredFdOnly = true });
            Assert.Equal(-1, ring.Fd);
            Assert.True(ring.IsRingFdRegistered);
            ring.GetSqe().PrepNop();
            Assert.Equal(0, RingKit.Run(ring).Res);
            Assert.True(ring.GetProbe().IsSupported(Opcode.Nop)); // register calls go through the registered index
            using BufferRing br = ring.SetupBufferRing(1, 4, 64);

            Exception? fromOtherThread = Background.Run(() =>
            {
                try
                {
                    ring.GetSqe().PrepNop();
                    ring.Submit();
                    return null;
                }
                catch (InvalidOperationException e)
                {
                    return e;
                }
            }).Join<Exception?>();
            Assert.NotNull(fromOtherThread);
            Assert.Contains("RegisteredFdOnly", fromOtherThread.Message, StringComparison.Ordinal);
        }).Join();
    }

    [UringFact]
    public void Resize_grows_the_rings_and_keeps_completions_and_requests_in_flight()
    {
        using var pipe = new TestPipe();
        using var buffer = new NativeBuffer(16);
        using var ring = new Ring(4, new RingOptions { DeferTaskRun = true });
        ring.GetSqe().PrepPipeRead(pipe.ReadFd, buffer, 1);
        ring.GetSqe().PrepNop();
        ring.GetSqe().PrepNop();
        Assert.Equal(3, ring.Submit());
        _ = ring.WaitCqes(2, Wait.Patience, TimeSpan.Zero); // both NOPs posted, not reaped
        try
        {
            ring.Resize(64, 256);
        }
        catch (IoUringException e) when (e.Errno == E.EINVAL)
        {
            Kernel.RequireRefusalMeansOldKernel(true, 6, 13, "IORING_REGISTER_RESIZE_RINGS");
            throw;
        }

        Assert.Equal(64u, ring.SqEntries);
        Assert.Equal(256u, ring.CqEntries);
        Assert.Equal(2u, ring.CqReady); // the unreaped CQEs moved over
        ring.CqAdvance(2);
        for (ulong i = 0; i < 40; i++)
        {
            ring.NextSqe(100 + i).PrepNop();
        }

        Assert.Equal(40, RingKit.ReapByUserData(ring, 0 + Submit(ring, 40)).Count);
        pipe.Put([5]);
        Cqe read = RingKit.Next(ring); // the read in flight across the resize completes
        Assert.Equal(1UL, read.UserData);
        Assert.Equal(1, read.Res);
    }

    [UringFact]
    public void Resize_refuses_rings_without_DEFER_TASKRUN_and_pending_SQEs()
    {
        using var plain = new Ring(4);
        Assert.Equal(E.EINVAL, Assert.Throws<IoUringException>(() => plain.Resize(8)).Errno);
        using var ring = new Ring(4, new RingOptions { DeferTaskRun = true });
        ring.GetSqe().PrepNop();
        Assert.Throws<InvalidOperationException>(() => ring.Resize(8));
    }

    /// <summary>A ring with NO_MMAP (and REGISTERED_FD_ONLY), both 6.5: an older kernel refuses the unknown flags with EINVAL.</summary>
    private static Ring Create(uint entries, RingOptions options)
    {
        try
        {
            return new Ring(entries, options);
        }
        catch (IoUringSetupException e) when (e.Errno == E.EINVAL)
        {
            Kernel.RequireRefusalMeansOldKernel(true, 6, 5, "IORING_SETUP_NO_MMAP and IORING_SETUP_REGISTERED_FD_ONLY");
            throw;
        }
    }

    private static int Submit(Ring ring, int expected)
    {
        Assert.Equal(expected, ring.Submit());
        return expected;
    }
}
