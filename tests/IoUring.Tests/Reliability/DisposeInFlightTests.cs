using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace IoUring.Tests.Reliability;

/// <summary>
/// These tests read the process-wide <see cref="PinnedForever"/> count, so they run alone (no other test disposes a
/// ring in parallel while they compare counts).
/// </summary>
[CollectionDefinition(nameof(PinnedForeverCollection), DisableParallelization = true)]
public sealed class PinnedForeverCollection
{
}

/// <summary>
/// Dispose with requests in flight: Dispose cancels them and waits for their CQEs, so once it returns the kernel
/// holds no reference to any buffer (proved with canaries: data written to the pipes afterwards never lands in the
/// buffers, and stays in the pipes), registered memory is unpinned, and nothing is added to the pinned-forever list.
/// When the drain cannot finish in time, the memory stays pinned for the life of the process instead.
/// </summary>
[Collection(nameof(PinnedForeverCollection))]
public sealed class DisposeInFlightTests
{
    [UringFact]
    public void Dispose_cancels_a_pending_read_so_a_later_write_never_reaches_its_buffer()
    {
        int pinnedBefore = PinnedForever.Count;
        using var pipe = new TestPipe();
        using var canary = new NativeBuffer(256);
        canary.Span.Fill(0xC5);

        var ring = new Ring(4);
        ring.GetSqe().PrepPipeRead(pipe.ReadFd, canary, 1);
        ring.Submit();
        RingKit.AssertNoCompletion(ring, TimeSpan.FromMilliseconds(30));
        Assert.Equal(1, ring.InFlight);

        ring.Dispose();
        Assert.True(ring.IsDisposed);
        Assert.Equal(0, ring.InFlight);

        pipe.AssertNobodyReads(canary, 0xC5);
        Assert.Equal(pinnedBefore, PinnedForever.Count);
    }

    [UringFact]
    public void Dispose_abandons_prepared_but_unsubmitted_SQEs_the_kernel_never_sees_them()
    {
        int pinnedBefore = PinnedForever.Count;
        using var pipe = new TestPipe();
        using var canary = new NativeBuffer(64);
        canary.Span.Fill(0xC5);

        var ring = new Ring(4);
        ring.GetSqe().PrepRead(pipe.ReadFd, canary, ulong.MaxValue);
        Assert.Equal(1u, ring.SqPending);
        ring.Dispose();

        pipe.Put("abc"u8);
        Thread.Sleep(20);
        Assert.True(TestData.AllEqual(canary.Span, 0xC5));
        Assert.Equal("abc"u8.ToArray(), pipe.ReadAvailable());
        Assert.Equal(pinnedBefore, PinnedForever.Count);
    }

    [UringFact]
    public void Dispose_with_fixed_reads_in_flight_cancels_them_and_unpins_the_registered_buffers()
    {
        int pinnedBefore = PinnedForever.Count;
        WeakReference registered = DisposeWithFixedReadsInFlight(TimeSpan.FromSeconds(5), expectDrained: true);
        Assert.Equal(pinnedBefore, PinnedForever.Count);

        // The pin is gone: once nothing else references the array, the GC can collect it.
        Assert.True(CollectedEventually(registered), "the registered array is still reachable: its pin was not released");
    }

    [UringFact]
    public void Dispose_that_cannot_drain_in_time_keeps_registered_memory_pinned_forever()
    {
        int pinnedBefore = PinnedForever.Count;
        WeakReference registered = DisposeWithFixedReadsInFlight(TimeSpan.Zero, expectDrained: false);
        Assert.True(PinnedForever.Count > pinnedBefore, "undrained registered memory must be kept pinned");
        Assert.False(CollectedEventually(registered), "memory the kernel may still write was released");
    }

    [UringFact(Opcode.Read)]
    public void Dispose_with_a_provided_buffer_read_in_flight_frees_the_buffer_ring_only_after_the_drain()
    {
        int pinnedBefore = PinnedForever.Count;
        using var pipe = new TestPipe();
        var ring = new Ring(4);
        BufferRing buffers;
        try
        {
            buffers = ring.SetupBufferRing(groupId: 7, entries: 4, bufferSize: 128);
        }
        catch (IoUringException e) when (e.Errno == E.EINVAL)
        {
            ring.Dispose();
            Assert.Skip("provided-buffer rings need Linux 5.19+");
            return;
        }

        ref Sqe read = ref ring.GetSqe();
        read.PrepRead(pipe.ReadFd, 0, 128, ulong.MaxValue);
        read.Flags |= SqeFlags.BufferSelect;
        read.BufGroup = buffers.GroupId;
        read.UserData = 1;
        ring.Submit();
        RingKit.AssertNoCompletion(ring, TimeSpan.FromMilliseconds(30));

        ring.Dispose();
        Assert.Equal(0, ring.InFlight);
        pipe.Put("after dispose"u8);
        Assert.Equal("after dispose"u8.ToArray(), pipe.ReadAvailable());
        Assert.Equal(pinnedBefore, PinnedForever.Count);
        buffers.Dispose();
        Assert.Throws<ObjectDisposedException>(() => buffers.Recycle(0));
    }

    [UringFact]
    public void Dispose_after_a_partial_submit_still_drains_although_failing_SQEs_wait_in_the_SQ()
    {
        int pinnedBefore = PinnedForever.Count;
        using var a = new TestPipe();
        using var b = new TestPipe();
        using var canaryA = new NativeBuffer(64);
        using var canaryB = new NativeBuffer(64);
        canaryA.Span.Fill(0xC5);
        canaryB.Span.Fill(0xC5);

        // [read a] [bad opcode] [read b] [bad opcode] [nop]: the kernel stops each batch after an SQE that fails to
        // start, so one Submit sends 2 and leaves 3 published in the SQ; a cancel queued behind them would stay there.
        var ring = new Ring(8, new RingOptions { DisposeDrainTimeout = TimeSpan.FromSeconds(30) });
        ring.GetSqe().PrepPipeRead(a.ReadFd, canaryA, 1);
        ring.GetSqe().Opcode = (Opcode)250;
        ring.GetSqe().PrepPipeRead(b.ReadFd, canaryB, 2);
        ring.GetSqe().Opcode = (Opcode)250;
        ring.GetSqe().PrepNop();
        Assert.Equal(2, ring.Submit());
        Assert.Equal(3u, ring.SqReady);

        long start = Stopwatch.GetTimestamp();
        ring.Dispose();
        Assert.True(Stopwatch.GetElapsedTime(start) < TimeSpan.FromSeconds(20), "Dispose waited out its drain timeout");
        Assert.Equal(0, ring.InFlight);
        Assert.Equal(pinnedBefore, PinnedForever.Count);

        a.Put("late a"u8);
        b.Put("late b"u8);
        Thread.Sleep(50);
        Assert.True(TestData.AllEqual(canaryA.Span, 0xC5));
        Assert.True(TestData.AllEqual(canaryB.Span, 0xC5));
        Assert.Equal("late a"u8.ToArray(), a.ReadAvailable());
        Assert.Equal("late b"u8.ToArray(), b.ReadAvailable());
    }

    [UringFact]
    public void Dispose_with_an_infinite_drain_timeout_drains_and_returns()
    {
        int pinnedBefore = PinnedForever.Count;
        using var pipe = new TestPipe();
        using var canary = new NativeBuffer(64);
        foreach (TimeSpan timeout in new[] { Timeout.InfiniteTimeSpan, TimeSpan.MaxValue })
        {
            var ring = new Ring(4, new RingOptions { DisposeDrainTimeout = timeout });
            ring.GetSqe().PrepRead(pipe.ReadFd, canary, ulong.MaxValue);
            ring.Submit();
            ring.Dispose();
            Assert.Equal(0, ring.InFlight);
        }

        Assert.Equal(pinnedBefore, PinnedForever.Count);
    }

    [UringFact]
    public void After_dispose_every_member_that_touches_the_ring_throws_ObjectDisposedException()
    {
        var ring = new Ring(4);
        ring.Dispose();
        ring.Dispose();
        Assert.Throws<ObjectDisposedException>(() => ring.GetSqe());
        Assert.Throws<ObjectDisposedException>(() => ring.Submit());
        Assert.Throws<ObjectDisposedException>(() => ring.SubmitAndWait(1));
        Assert.Throws<ObjectDisposedException>(() => ring.WaitCqe());
        Assert.Throws<ObjectDisposedException>(() => ring.TryWaitCqe(TimeSpan.FromMilliseconds(1), out _));
        Assert.Throws<ObjectDisposedException>(() => ring.TryPeekCqe(out _));
        Assert.Throws<ObjectDisposedException>(() => ring.CqAdvance(0));
        Assert.Throws<ObjectDisposedException>(() => ring.RegisterBuffers([new byte[16]]));
        Assert.Throws<ObjectDisposedException>(() => ring.RegisterFiles([0]));
        Assert.Throws<ObjectDisposedException>(() => ring.GetProbe());
        Assert.Throws<ObjectDisposedException>(() => ring.SetupBufferRing(1, 4, 64));
        Assert.Throws<ObjectDisposedException>(() => _ = ring.CqReady);
    }

    /// <summary>Registers a managed array, leaves two fixed reads blocked on pipes, disposes, then checks the canary.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference DisposeWithFixedReadsInFlight(TimeSpan drainTimeout, bool expectDrained)
    {
        using var a = new TestPipe();
        using var b = new TestPipe();
        byte[] array = new byte[8192];
        array.AsSpan().Fill(0xC5);
        var weak = new WeakReference(array);

        var ring = new Ring(4, new RingOptions { DisposeDrainTimeout = drainTimeout });
        ring.RegisterBuffers([array]);
        nint address;
        using (var pin = new MemoryHandleScope(array))
        {
            address = pin.Address;
        }

        // The registration pins the array, so the address taken above stays valid while it is registered.
        ring.NextSqe(1).PrepReadFixed(a.ReadFd, address, 4096, ulong.MaxValue, 0);
        ring.NextSqe(2).PrepReadFixed(b.ReadFd, address + 4096, 4096, ulong.MaxValue, 0);
        Assert.Equal(2, ring.Submit());
        RingKit.AssertNoCompletion(ring, TimeSpan.FromMilliseconds(30));

        ring.Dispose();
        Assert.Equal(expectDrained, ring.InFlight == 0);
        if (expectDrained)
        {
            a.Put("late a"u8);
            b.Put("late b"u8);
            Thread.Sleep(50);
            Assert.True(TestData.AllEqual(array, 0xC5), "the kernel wrote into registered memory after Dispose returned");
            Assert.Equal("late a"u8.ToArray(), a.ReadAvailable());
            Assert.Equal("late b"u8.ToArray(), b.ReadAvailable());
        }

        return weak;
    }

    private static bool CollectedEventually(WeakReference weak)
    {
        for (int i = 0; i < 5 && weak.IsAlive; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true);
            GC.WaitForPendingFinalizers();
        }

        return !weak.IsAlive;
    }
}
