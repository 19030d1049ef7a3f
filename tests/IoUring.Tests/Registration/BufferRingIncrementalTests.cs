namespace IoUring.Tests.Registration;

/// <summary>Incrementally consumed buffer rings (IOU_PBUF_RING_INC, 6.12) and IORING_REGISTER_PBUF_STATUS (6.8).</summary>
public sealed class BufferRingIncrementalTests
{
    [UringFact(Opcode.Read)]
    public void Incremental_buffers_take_several_reads_each_and_GetData_follows_the_offset()
    {
        using var ring = new Ring(8);
        BufferRing buffers;
        try
        {
            buffers = ring.SetupBufferRing(4, 2, 16, new BufferRingOptions { IncrementalConsumption = true });
        }
        catch (IoUringException e) when (e.Errno == E.EINVAL)
        {
            Kernel.RequireRefusalMeansOldKernel(true, 6, 12, "incremental buffer rings");
            throw;
        }

        using (buffers)
        using (var pipe = new TestPipe())
        {
            Assert.True(buffers.IsIncremental);
            var got = new List<(ushort Bid, string Text, bool More)>();
            foreach (string chunk in new[] { "abcde", "fghij", "klmnop", "qrs" })
            {
                pipe.Put(System.Text.Encoding.ASCII.GetBytes(chunk));
                ref Sqe sqe = ref ring.GetSqe();
                sqe.PrepRead(pipe.ReadFd, 0, 0, ulong.MaxValue);
                sqe.Flags |= SqeFlags.BufferSelect;
                sqe.BufGroup = buffers.GroupId;
                Cqe cqe = RingKit.Run(ring);
                Assert.True(cqe.Res > 0, cqe.ToString());
                got.Add((cqe.BufferId, System.Text.Encoding.ASCII.GetString(buffers.GetData(cqe)), (cqe.Flags & CqeFlags.BufMore) != 0));
            }

            // 16-byte buffers: 5 + 5 + 6 = 16 fill buffer 0 (the last read uses it up: no BUF_MORE), then buffer 1.
            Assert.Equal(
                [((ushort)0, "abcde", true), ((ushort)0, "fghij", true), ((ushort)0, "klmnop", false), ((ushort)1, "qrs", true)],
                got);
            Assert.Equal("abcdefghijklmnop", System.Text.Encoding.ASCII.GetString(buffers.GetBuffer(0)));
            buffers.Recycle(0);
            Assert.Throws<InvalidOperationException>(() => buffers.Recycle(1)); // still with the kernel (BUF_MORE)
        }
    }

    [UringFact(Opcode.Read)]
    public void KernelHead_counts_the_buffers_the_kernel_took()
    {
        using var ring = new Ring(8);
        using BufferRing buffers = ring.SetupBufferRing(5, 4, 8);
        ushort head;
        try
        {
            head = buffers.KernelHead;
        }
        catch (IoUringException e) when (e.Errno == E.EINVAL)
        {
            Kernel.RequireRefusalMeansOldKernel(true, 6, 8, "IORING_REGISTER_PBUF_STATUS");
            throw;
        }

        Assert.Equal(0, head);
        using var pipe = new TestPipe();
        for (int i = 1; i <= 3; i++)
        {
            pipe.Put([(byte)i]);
            ref Sqe sqe = ref ring.GetSqe();
            sqe.PrepRead(pipe.ReadFd, 0, 0, ulong.MaxValue);
            sqe.Flags |= SqeFlags.BufferSelect;
            sqe.BufGroup = buffers.GroupId;
            buffers.MarkConsumed(RingKit.Run(ring));
            Assert.Equal(i, buffers.KernelHead);
        }
    }
}
