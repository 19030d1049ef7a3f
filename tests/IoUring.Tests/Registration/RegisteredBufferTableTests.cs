namespace IoUring.Tests.Registration;

/// <summary>Registered buffers: sparse tables, updates in place, tags, and cloning between rings.</summary>
public sealed class RegisteredBufferTableTests
{
    [UringFact(Opcode.ReadFixed)]
    public void A_sparse_table_is_filled_in_place_and_a_fixed_read_uses_the_new_buffer()
    {
        using var file = new TempFile(4096, seed: 5);
        using var handle = file.Open();
        int fd = (int)handle.DangerousGetHandle();
        using var ring = new Ring(4);
        ring.RegisterBuffersSparse(4);
        Assert.Equal(4, ring.RegisteredBufferCount);
        byte[] target = new byte[512];

        ring.GetSqe().PrepReadFixed(fd, 0, 16, 0, 2);
        Assert.Equal(-E.EFAULT, RingKit.Run(ring).Res); // an empty slot

        Assert.Equal(1, ring.UpdateRegisteredBuffers(2, [target]));
        using (System.Buffers.MemoryHandle pin = target.AsMemory().Pin())
        {
            ring.GetSqe().PrepReadFixed(fd, IoUring.Interop.Addresses.Of(pin), 512, 0, 2);
            Assert.Equal(512, RingKit.Run(ring).Res);
        }

        Assert.Equal(file.Content.AsSpan(0, 512).ToArray(), target);
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.UpdateRegisteredBuffers(4, [target]));
    }

    [UringFact]
    public void Replacing_or_unregistering_a_tagged_buffer_posts_its_tag()
    {
        using var ring = new Ring(4) { ExpectExternalCompletions = true };
        using var a = new NativeBuffer(4096);
        using var b = new NativeBuffer(4096);
        using var c = new NativeBuffer(4096);
        ring.RegisterBuffers([a.Memory, b.Memory], [0xA1, 0xB2]);

        ring.UpdateRegisteredBuffers(0, [c.Memory], [0xC3]);
        Cqe tagA = RingKit.Next(ring);
        Assert.Equal(0xA1UL, tagA.UserData);
        Assert.Equal(0, tagA.Res);

        ring.UnregisterBuffers();
        Assert.Equal(0, ring.RegisteredBufferCount);
        if (!Kernel.AtLeast(6, 13))
        {
            // Before 6.13's resource-table rework, unregistering unmaps the table after waiting for the requests that
            // use it (a quiesce) and posts no tags: the call's return is the sign that the buffers are free.
            Assert.False(ring.TryPeekCqe(out Cqe early), $"a CQE after unregistering on {IoUringSupport.KernelRelease()}: {early.UserData:X}");
            return;
        }

        Dictionary<ulong, Cqe> tags = RingKit.ReapByUserData(ring, 2);
        Assert.True(tags.ContainsKey(0xB2) && tags.ContainsKey(0xC3), string.Join(", ", tags.Keys));
    }

    [UringFact(Opcode.ReadFixed)]
    public void Cloned_buffers_serve_fixed_reads_on_the_second_ring_after_the_first_is_gone()
    {
        using var file = new TempFile(8192, seed: 9);
        using var handle = file.Open();
        int fd = (int)handle.DangerousGetHandle();
        byte[] first = new byte[4096];
        byte[] second = new byte[4096];
        using var copy = new Ring(4);
        using (var source = new Ring(4))
        {
            source.RegisterBuffers([first, second]);
            try
            {
                copy.CloneRegisteredBuffers(source, sourceOffset: 1, destinationOffset: 0, count: 1);
            }
            catch (IoUringException e) when (e.Errno == E.EINVAL)
            {
                Kernel.RequireRefusalMeansOldKernel(true, 6, 13, "IORING_REGISTER_CLONE_BUFFERS with offsets");
                throw;
            }

            Assert.Equal(1, copy.RegisteredBufferCount);
            Assert.Throws<IoUringException>(() => copy.CloneRegisteredBuffers(source)); // EBUSY without replace
            copy.CloneRegisteredBuffers(source, replace: true);
            Assert.Equal(2, copy.RegisteredBufferCount);
        }

        using (System.Buffers.MemoryHandle pin = second.AsMemory().Pin())
        {
            copy.GetSqe().PrepReadFixed(fd, IoUring.Interop.Addresses.Of(pin), 4096, 4096, 1);
            Assert.Equal(4096, RingKit.Run(copy).Res);
        }

        Assert.Equal(file.Content.AsSpan(4096).ToArray(), second);
    }
}
