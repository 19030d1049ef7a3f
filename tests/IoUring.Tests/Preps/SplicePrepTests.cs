namespace IoUring.Tests.Preps;

/// <summary>splice and tee between files and pipes.</summary>
public sealed class SplicePrepTests
{
    [UringFact(Opcode.Splice)]
    public void Splice_copies_file_to_pipe_to_file_at_the_given_offsets()
    {
        using var source = new TempFile(16384, seed: 1);
        using var target = new TempFile(8192, seed: 2);
        using var pipe = new TestPipe();
        using (var src = source.Open())
        using (var dst = target.Open(FileAccess.ReadWrite))
        using (var ring = new Ring(4))
        {
            // 3000 bytes from offset 1000 of the source into the pipe, then out of the pipe at offset 500 of the target.
            ring.NextSqe(1, SqeFlags.IoLink).PrepSplice((int)src.DangerousGetHandle(), 1000, pipe.WriteFd, -1, 3000);
            ring.NextSqe(2).PrepSplice(pipe.ReadFd, -1, (int)dst.DangerousGetHandle(), 500, 3000);
            Cqe[] cqes = RingKit.RunMany(ring, 2);
            Assert.Equal(3000, cqes.With(1).Res);
            Assert.Equal(3000, cqes.With(2).Res);
        }

        byte[] expected = (byte[])target.Content.Clone();
        source.Content.AsSpan(1000, 3000).CopyTo(expected.AsSpan(500));
        Assert.Equal(expected, File.ReadAllBytes(target.Path));
    }

    [UringFact(Opcode.Tee)]
    public void Tee_duplicates_pipe_data_without_consuming_it()
    {
        using var pipe1 = new TestPipe();
        using var pipe2 = new TestPipe();
        using var ring = new Ring(4);
        byte[] data = TestData.Bytes(700, 3);
        Fds.WriteAll(pipe1.WriteFd, data);

        ring.GetSqe().PrepTee(pipe1.ReadFd, pipe2.WriteFd, 700);
        Assert.Equal(700, RingKit.Run(ring).Res);

        byte[] copy = new byte[700];
        byte[] original = new byte[700];
        Assert.Equal(700, IoUring.Interop.Libc.Read(pipe2.ReadFd, copy));
        Assert.Equal(700, IoUring.Interop.Libc.Read(pipe1.ReadFd, original));
        Assert.Equal(data, copy);
        Assert.Equal(data, original);
    }

    [UringFact(Opcode.Splice)]
    public void Splice_with_a_fixed_input_file()
    {
        using var pipe1 = new TestPipe();
        using var pipe2 = new TestPipe();
        using var ring = new Ring(4);
        ring.RegisterFiles([pipe1.ReadFd]);
        Fds.WriteAll(pipe1.WriteFd, "spliced"u8);
        ring.GetSqe().PrepSplice(0, -1, pipe2.WriteFd, -1, 7, SqeConstants.SpliceFdInFixed);
        Assert.Equal(7, RingKit.Run(ring).Res);
        byte[] got = new byte[7];
        Assert.Equal(7, IoUring.Interop.Libc.Read(pipe2.ReadFd, got));
        Assert.Equal("spliced"u8.ToArray(), got);
    }
}
