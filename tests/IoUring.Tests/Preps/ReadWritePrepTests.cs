using IoUring.Interop;

namespace IoUring.Tests.Preps;

public sealed class ReadWritePrepTests
{
    [UringFact(Opcode.Nop)]
    public void Nop_completes_with_zero_and_the_user_data()
    {
        using var ring = new Ring(4);
        ring.NextSqe(0xFEED).PrepNop();
        Cqe cqe = RingKit.Run(ring);
        Assert.Equal(0, cqe.Res);
        Assert.Equal(0xFEEDUL, cqe.UserData);
    }

    [UringFact(Opcode.Write)]
    public void PrepRw_fills_the_common_fields_for_any_opcode()
    {
        using var file = new TempFile(100, seed: 2);
        var data = new Pinned<byte>([1, 2, 3]);
        using (var handle = file.Open(FileAccess.ReadWrite))
        using (var ring = new Ring(4))
        {
            ref Sqe sqe = ref ring.GetSqe();
            sqe.PrepRw(Opcode.Write, (int)handle.DangerousGetHandle(), (ulong)data.Address, 3, 10);
            Assert.Equal(Opcode.Write, sqe.Opcode);
            Assert.Equal(3u, sqe.Len);
            Assert.Equal(10UL, sqe.Off);
            Assert.Equal(3, RingKit.Run(ring).Res);
        }

        byte[] expected = (byte[])file.Content.Clone();
        expected[10] = 1;
        expected[11] = 2;
        expected[12] = 3;
        Assert.Equal(expected, File.ReadAllBytes(file.Path));
        Pinned.KeepAlive(data);
    }

    [UringFact(Opcode.Read)]
    public void Read_fills_a_pinned_array_from_the_given_offset()
    {
        using var file = new TempFile(10_000, seed: 3);
        using var handle = file.Open();
        using var ring = new Ring(4);
        var buf = new Pinned<byte>(3000);

        ring.GetSqe().PrepRead((int)handle.DangerousGetHandle(), buf.Address, buf.ByteLength, 5000);
        Cqe cqe = RingKit.Run(ring);

        Assert.Equal(3000, cqe.Res);
        Assert.Equal(file.Content.AsSpan(5000, 3000).ToArray(), buf.Array);
    }

    [UringFact(Opcode.Read)]
    public void Read_at_end_of_file_returns_the_short_count()
    {
        using var file = new TempFile(100);
        using var handle = file.Open();
        using var ring = new Ring(4);
        using var buf = new NativeBuffer(4096);

        ring.GetSqe().PrepRead((int)handle.DangerousGetHandle(), buf, 60);
        Assert.Equal(40, RingKit.Run(ring).Res);
        Assert.Equal(file.Content.AsSpan(60).ToArray(), buf.Span[..40].ToArray());
    }

    [UringFact(Opcode.Write)]
    public void Write_puts_the_bytes_at_the_offset()
    {
        using var file = new TempFile(8192, seed: 4);
        byte[] data = TestData.Bytes(1000, 5);
        var buf = new Pinned<byte>(data);
        Assert.Equal(1000, RingKit.RunOnFile(file, (ref Sqe sqe, int fd) => sqe.PrepWrite(fd, buf.Address, buf.ByteLength, 4096)));
        Pinned.KeepAlive(buf);

        byte[] expected = (byte[])file.Content.Clone();
        data.CopyTo(expected, 4096);
        Assert.Equal(expected, File.ReadAllBytes(file.Path));
    }

    [UringFact(Opcode.Write)]
    public void Write_from_a_NativeBuffer_with_RWF_DSYNC_writes_the_whole_buffer()
    {
        using var file = new TempFile(0);
        using var buf = new NativeBuffer(4096);
        TestData.Bytes(4096, 6).CopyTo(buf.Span);
        Assert.Equal(4096, RingKit.RunOnFile(file, (ref Sqe sqe, int fd) => sqe.PrepWrite(fd, buf, 0, ReadWriteFlags.DSync)));

        Assert.Equal(buf.Span.ToArray(), File.ReadAllBytes(file.Path));
    }

    [UringFact(Opcode.Write)]
    public void Write_with_RWF_APPEND_ignores_the_offset_and_appends()
    {
        // rw_flags reach the kernel: without them this write would land at offset 0.
        using var file = new TempFile(500, seed: 7);
        byte[] tail = TestData.Bytes(50, 8);
        var buf = new Pinned<byte>(tail);
        Assert.Equal(50, RingKit.RunOnFile(file, (ref Sqe sqe, int fd) => sqe.PrepWrite(fd, buf.Address, buf.ByteLength, 0, ReadWriteFlags.Append)));
        Pinned.KeepAlive(buf);

        Assert.Equal([.. file.Content, .. tail], File.ReadAllBytes(file.Path));
    }

    [UringFact(Opcode.Readv)]
    public void Readv_scatters_into_several_iovecs()
    {
        using var file = new TempFile(4096, seed: 9);
        using var handle = file.Open();
        using var ring = new Ring(4);
        var a = new Pinned<byte>(100);
        var b = new Pinned<byte>(300);
        var iov = new Pinned<IoVec>([new IoVec(a.Address, 100), new IoVec(b.Address, 300)]);

        ring.GetSqe().PrepReadv((int)handle.DangerousGetHandle(), iov.Address, 2, 1000);
        Assert.Equal(400, RingKit.Run(ring).Res);
        Assert.Equal(file.Content.AsSpan(1000, 100).ToArray(), a.Array);
        Assert.Equal(file.Content.AsSpan(1100, 300).ToArray(), b.Array);
        Pinned.KeepAlive(iov);
    }

    [UringFact(Opcode.Writev)]
    public void Writev_gathers_several_iovecs_and_honours_RWF_flags()
    {
        using var file = new TempFile(10, seed: 10);
        var a = new Pinned<byte>(TestData.Bytes(7, 11));
        var b = new Pinned<byte>(TestData.Bytes(13, 12));
        var iov = new Pinned<IoVec>([new IoVec(a.Address, 7), new IoVec(b.Address, 13)]);
        Assert.Equal(20, RingKit.RunOnFile(file, (ref Sqe sqe, int fd) => sqe.PrepWritev(fd, iov.Address, 2, 0, ReadWriteFlags.Append | ReadWriteFlags.DSync)));

        Assert.Equal([.. file.Content, .. a.Array, .. b.Array], File.ReadAllBytes(file.Path));
        Pinned.KeepAlive(iov);
    }

    [UringFact(Opcode.ReadMultishot)]
    public void Multishot_read_on_a_pipe_posts_a_CQE_per_chunk_and_ends_at_EOF()
    {
        using var ring = new Ring(8);
        using BufferRing br = ring.SetupBufferRing(groupId: 3, entries: 2, bufferSize: 256);
        using var pipe = new TestPipe(Posix.O_CLOEXEC | Posix.O_NONBLOCK);
        ring.NextSqe(5).PrepReadMultishot(pipe.ReadFd, br.GroupId);
        Assert.Equal(1, ring.Submit());

        // Five chunks through a two-buffer ring: each CQE is checked and its buffer recycled before the next write.
        for (int i = 0; i < 5; i++)
        {
            byte[] chunk = TestData.Bytes(10 + i, 100 + i);
            Fds.WriteAll(pipe.WriteFd, chunk);
            Cqe cqe = RingKit.Next(ring);
            Assert.Equal(5UL, cqe.UserData);
            Assert.True(cqe.HasMore, $"chunk {i}: {cqe}");
            Assert.True(cqe.HasBuffer, $"chunk {i}: {cqe}");
            Assert.Equal(chunk, br.GetData(cqe).ToArray());
            br.Recycle(cqe.BufferId);
        }

        pipe.CloseWriteEnd();
        RingKit.AssertMultishotEnded(ring, RingKit.Next(ring), 0);
    }

    [UringFact(Opcode.ReadMultishot)]
    public void Multishot_read_of_a_regular_file_is_refused()
    {
        using var file = new TempFile(100);
        using var handle = file.Open();
        using var ring = new Ring(4);
        using BufferRing br = ring.SetupBufferRing(1, 2, 64);
        ring.GetSqe().PrepReadMultishot((int)handle.DangerousGetHandle(), br.GroupId);
        Cqe cqe = RingKit.Run(ring);
        Assert.True(cqe.IsError, cqe.ToString());
        Assert.False(cqe.HasMore);
    }
}
