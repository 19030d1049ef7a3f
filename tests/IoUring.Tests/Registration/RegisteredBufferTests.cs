using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace IoUring.Tests.Registration;

/// <summary>Registered (fixed) buffers: I/O through them, pinning of managed memory, and misuse.</summary>
public sealed class RegisteredBufferTests
{
    [UringFact([Opcode.WriteFixed, Opcode.ReadFixed])]
    public void WriteFixed_and_ReadFixed_through_a_registered_NativeBuffer()
    {
        using var file = new TempFile(0);
        using var handle = file.Open(FileAccess.ReadWrite);
        int fd = (int)handle.DangerousGetHandle();
        using var buf = new NativeBuffer(8192);
        TestData.Bytes(4096, 1).CopyTo(buf.Span);
        using var ring = new Ring(4);
        ring.RegisterBuffers([buf.Memory]);
        Assert.Equal(1, ring.RegisteredBufferCount);

        ring.GetSqe().PrepWriteFixed(fd, buf.Address, 4096, 0, bufIndex: 0);
        Assert.Equal(4096, RingKit.Run(ring).Res);
        Assert.Equal(buf.Span[..4096].ToArray(), File.ReadAllBytes(file.Path));

        // Read the second half of what was written into the second page of the same registered buffer.
        ring.GetSqe().PrepReadFixed(fd, buf.Address + 4096, 2048, 2048, bufIndex: 0);
        Assert.Equal(2048, RingKit.Run(ring).Res);
        Assert.Equal(buf.Span.Slice(2048, 2048).ToArray(), buf.Span.Slice(4096, 2048).ToArray());
    }

    [UringFact(Opcode.ReadFixed)]
    public void A_managed_array_stays_pinned_while_registered_even_across_compacting_GCs()
    {
        using var file = new TempFile(3000, seed: 2);
        using var handle = file.Open();
        byte[] first = new byte[64];
        byte[] managed = new byte[3000]; // an ordinary, movable array: RegisterBuffers pins it
        using var ring = new Ring(4);
        ring.RegisterBuffers([first.AsMemory(), managed.AsMemory()]);
        nint before = Marshal.UnsafeAddrOfPinnedArrayElement(managed, 0);

        for (int i = 0; i < 3; i++)
        {
            _ = new byte[100_000];
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        }

        Assert.Equal(before, Marshal.UnsafeAddrOfPinnedArrayElement(managed, 0));
        ring.GetSqe().PrepReadFixed((int)handle.DangerousGetHandle(), before, 3000, 0, bufIndex: 1);
        Assert.Equal(3000, RingKit.Run(ring).Res);
        Assert.Equal(file.Content, managed);
        ring.UnregisterBuffers();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference RegisterUnreferencedArray(Ring ring, int length = 4096)
    {
        byte[] array = new byte[length];
        ring.RegisterBuffers([array.AsMemory()]);
        return new WeakReference(array);
    }

    // In a helper so that no temporary in the test's own frame keeps the array alive (tier-0 code reports every slot).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static nint AddressOf(WeakReference weak) => Marshal.UnsafeAddrOfPinnedArrayElement((byte[])weak.Target!, 0);

    private static bool StillReachable(WeakReference weak)
    {
        for (int i = 0; i < 2; i++)
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true);
            GC.WaitForPendingFinalizers();
        }

        return weak.IsAlive;
    }

    [UringFact]
    public void Unregister_releases_the_pin_of_a_managed_array()
    {
        using var ring = new Ring(4);
        WeakReference weak = RegisterUnreferencedArray(ring);
        // Only the ring's pin keeps the array alive now.
        Assert.True(StillReachable(weak));

        ring.UnregisterBuffers();
        Assert.Equal(0, ring.RegisteredBufferCount);
        Assert.False(StillReachable(weak), "The array is still pinned after UnregisterBuffers.");
    }

    [UringFact]
    public void Disposing_the_ring_releases_registered_pins()
    {
        var ring = new Ring(4);
        WeakReference weak = RegisterUnreferencedArray(ring);
        Assert.True(StillReachable(weak));
        ring.Dispose();
        Assert.False(StillReachable(weak), "The array is still pinned after Ring.Dispose.");
    }

    [UringFact(Opcode.ReadFixed)]
    public async Task Unregister_with_a_request_in_flight_keeps_the_pin_until_the_ring_is_disposed()
    {
        using var pipe = new TestPipe();
        var ring = new Ring(4);
        WeakReference weak = RegisterUnreferencedArray(ring);
        ring.GetSqe().PrepReadFixed(pipe.ReadFd, AddressOf(weak), 16, 0, 0);
        Assert.Equal(1, ring.Submit());

        if (Kernel.AtLeast(6, 13))
        {
            ring.UnregisterBuffers();
            Assert.True(StillReachable(weak), "The pin was dropped while the kernel could still write into the array.");
            Fds.WriteAll(pipe.WriteFd, "late"u8);
        }
        else
        {
            // Before 6.13's resource-table rework (seen on 6.1.192: the smoke run hung here) IORING_UNREGISTER_BUFFERS
            // quiesces the table: it waits until the request using it has completed, so the data must arrive while it
            // waits. The array stays pinned meanwhile, and the unregister returns once the read has completed.
            Task unregister = Background.RunAsync(() =>
            {
                ring.UnregisterBuffers();
                return true;
            });
            await Task.Delay(100 * Wait.TimeScale, TestContext.Current.CancellationToken);
            Assert.True(StillReachable(weak), "The pin was dropped while the kernel could still write into the array.");
            Fds.WriteAll(pipe.WriteFd, "late"u8);
            await unregister.WaitAsync(Wait.Patience, TestContext.Current.CancellationToken);
        }

        Cqe cqe = RingKit.Next(ring);
        Assert.Equal(4, cqe.Res);
        ring.Dispose();
        Assert.False(StillReachable(weak), "The deferred pin was not released by Dispose.");
    }

    [UringFact]
    public void Registering_twice_fails_with_EBUSY_and_does_not_keep_the_second_set_pinned()
    {
        using var ring = new Ring(4);
        using var first = new NativeBuffer(4096);
        ring.RegisterBuffers([first.Memory]);

        (WeakReference weak, IoUringException e) = FailToRegisterASecondTime(ring);
        Assert.Equal(E.EBUSY, e.Errno);
        Assert.Contains("EBUSY", e.Message, StringComparison.Ordinal);
        Assert.Contains("UnregisterBuffers", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, ring.RegisteredBufferCount);
        Assert.False(StillReachable(weak), "The refused buffer stayed pinned.");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (WeakReference, IoUringException) FailToRegisterASecondTime(Ring ring)
    {
        byte[] array = new byte[4096];
        var e = Assert.Throws<IoUringException>(() => ring.RegisterBuffers([array.AsMemory()]));
        return (new WeakReference(array), e);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference FailToRegisterWithAnEmptySecondBuffer(Ring ring)
    {
        byte[] array = new byte[4096];
        Assert.Throws<ArgumentException>(() => ring.RegisterBuffers([array.AsMemory(), Memory<byte>.Empty]));
        return new WeakReference(array);
    }

    [UringFact]
    public void An_empty_list_or_an_empty_buffer_is_an_ArgumentException_that_leaks_no_pin()
    {
        using var ring = new Ring(4);
        Assert.Throws<ArgumentException>(() => ring.RegisterBuffers([]));
        WeakReference weak = FailToRegisterWithAnEmptySecondBuffer(ring);
        Assert.False(StillReachable(weak), "The first buffer stayed pinned after the argument check failed.");
        Assert.Equal(0, ring.RegisteredBufferCount);

        // Nothing was registered, so a valid registration still works.
        using var ok = new NativeBuffer(4096);
        ring.RegisterBuffers([ok.Memory]);
        Assert.Equal(1, ring.RegisteredBufferCount);
    }

    [UringFact]
    public void Unregistering_when_nothing_is_registered_is_a_clear_ENXIO()
    {
        using var ring = new Ring(4);
        var e = Assert.Throws<IoUringException>(ring.UnregisterBuffers);
        Assert.Equal(E.ENXIO, e.Errno);
    }

    [UringFact(Opcode.ReadFixed)]
    public void Fixed_IO_outside_the_registered_buffer_or_with_a_bad_index_is_refused_by_the_kernel()
    {
        using var file = new TempFile(8192);
        using var handle = file.Open();
        int fd = (int)handle.DangerousGetHandle();
        using var buf = new NativeBuffer(4096);
        using var ring = new Ring(4);
        ring.RegisterBuffers([buf.Memory]);

        ring.GetSqe().PrepReadFixed(fd, buf.Address + 2048, 4096, 0, 0);
        Assert.True(RingKit.Run(ring).IsError, "A fixed read running past the registered buffer was accepted.");
        ring.GetSqe().PrepReadFixed(fd, buf.Address, 16, 0, bufIndex: 1);
        Assert.True(RingKit.Run(ring).IsError, "A fixed read with an unregistered buffer index was accepted.");
    }

    [UringFact([Opcode.ReadvFixed, Opcode.WritevFixed])]
    public void ReadvFixed_and_WritevFixed_scatter_and_gather_inside_a_registered_buffer()
    {
        using var file = new TempFile(0);
        using var handle = file.Open(FileAccess.ReadWrite);
        int fd = (int)handle.DangerousGetHandle();
        using var buf = new NativeBuffer(8192);
        TestData.Bytes(8192, 3).CopyTo(buf.Span);
        using var ring = new Ring(4);
        ring.RegisterBuffers([buf.Memory]);

        var wiov = new Pinned<IoVec>([new IoVec(buf.Address + 100, 50), new IoVec(buf.Address + 1000, 30)]);
        ring.GetSqe().PrepWritevFixed(fd, wiov.Address, 2, 0, 0);
        Assert.Equal(80, RingKit.Run(ring).Res);
        Assert.Equal([.. buf.Span.Slice(100, 50), .. buf.Span.Slice(1000, 30)], File.ReadAllBytes(file.Path));

        var riov = new Pinned<IoVec>([new IoVec(buf.Address + 5000, 30), new IoVec(buf.Address + 6000, 50)]);
        ring.GetSqe().PrepReadvFixed(fd, riov.Address, 2, 0, 0);
        Assert.Equal(80, RingKit.Run(ring).Res);
        byte[] file80 = File.ReadAllBytes(file.Path);
        Assert.Equal(file80[..30], buf.Span.Slice(5000, 30).ToArray());
        Assert.Equal(file80[30..], buf.Span.Slice(6000, 50).ToArray());
        Pinned.KeepAlive(wiov, riov);
    }
}
