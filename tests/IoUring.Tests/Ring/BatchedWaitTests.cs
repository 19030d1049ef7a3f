using System.Diagnostics;

namespace IoUring.Tests.RingTests;

/// <summary>min_wait_usec (6.12) and registered wait regions (6.13).</summary>
public sealed class BatchedWaitTests
{
    [UringFact]
    public void A_minimum_wait_returns_a_partial_batch_after_the_minimum_instead_of_the_timeout()
    {
        using var ring = new Ring(8);
        if ((ring.Features & RingFeatures.MinTimeout) == 0)
        {
            Assert.Skip("The running kernel has no IORING_FEAT_MIN_TIMEOUT (6.12+).");
        }

        using var pipe = new TestPipe();
        using var buffer = new NativeBuffer(16);
        ring.GetSqe().PrepNop();
        ring.GetSqe().PrepPipeRead(pipe.ReadFd, buffer, 2); // never completes during the wait
        Assert.Equal(2, ring.Submit());

        var sw = Stopwatch.StartNew();
        uint ready = ring.WaitCqes(2, TimeSpan.FromSeconds(8), TimeSpan.FromMilliseconds(50));
        sw.Stop();
        Assert.Equal(1u, ready);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(4), $"the wait took {sw.Elapsed}: the minimum wait did not end it");

        ring.CqeSeen(ring.WaitCqe());
        Assert.Equal(0u, ring.WaitCqes(1, TimeSpan.FromMilliseconds(30), TimeSpan.FromMilliseconds(10))); // only the read is left: timeout
        pipe.Put([1]);
        Assert.Equal(1u, ring.WaitCqes(1, Wait.Patience, TimeSpan.Zero));
        ring.CqeSeen(ring.WaitCqe());
    }

    [UringFact]
    public void A_registered_wait_region_supplies_the_timeout_of_a_wait()
    {
        using var ring = new Ring(8, new RingOptions { StartDisabled = true });
        WaitRegion region;
        try
        {
            region = ring.RegisterWaitRegion(4);
        }
        catch (IoUringException e) when (e.Errno == E.EINVAL)
        {
            Kernel.RequireRefusalMeansOldKernel(true, 6, 13, "registered wait regions");
            throw;
        }

        Assert.True(region.Slots >= 4); // rounded up to a page of slots
        Assert.Throws<InvalidOperationException>(() => ring.RegisterWaitRegion(1));
        ring.EnableRings();
        region.Set(0, TimeSpan.FromMilliseconds(40));
        region.Set(1, TimeSpan.FromSeconds(8));

        using var pipe = new TestPipe();
        using var buffer = new NativeBuffer(16);
        ring.GetSqe().PrepPipeRead(pipe.ReadFd, buffer, 1);
        Assert.Equal(1, ring.Submit());
        var sw = Stopwatch.StartNew();
        Assert.Equal(0u, ring.WaitCqes(1, region, 0));
        Assert.True(sw.Elapsed >= TimeSpan.FromMilliseconds(30) && sw.Elapsed < TimeSpan.FromSeconds(4), $"slot 0's 40 ms timeout took {sw.Elapsed}");

        Background.After(TimeSpan.FromMilliseconds(50), () => pipe.Put([9]));
        Assert.Equal(1u, ring.WaitCqes(1, region, 1));
        Assert.Equal(1, RingKit.Next(ring).Res);
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.WaitCqes(1, region, region.Slots));
    }

    [UringFact]
    public void A_wait_region_needs_a_disabled_ring()
    {
        using var ring = new Ring(4);
        Assert.Throws<InvalidOperationException>(() => ring.RegisterWaitRegion(1));
    }
}
