namespace IoUring.Tests.Preps;

/// <summary>files_update from the SQ, into given slots and into kernel-picked slots.</summary>
public sealed class FilesUpdatePrepTests
{
    [UringFact(Opcode.FilesUpdate)]
    public void Files_update_installs_fds_into_the_given_slots()
    {
        using var pipe = new TestPipe();
        using var ring = new Ring(4);
        ring.RegisterFiles([-1, -1, -1]);
        var fds = new Pinned<int>([pipe.ReadFd, pipe.WriteFd]);
        ring.GetSqe().PrepFilesUpdate(fds.Address, 2, offset: 1);
        Assert.Equal(2, RingKit.Run(ring).Res);

        var data = new Pinned<byte>("slot"u8);
        var got = new Pinned<byte>(4);
        ring.NextSqe(0, SqeFlags.FixedFile).PrepWrite(2, data.Address, 4, 0);
        Assert.Equal(4, RingKit.Run(ring).Res);
        ring.NextSqe(0, SqeFlags.FixedFile).PrepRead(1, got.Address, 4, 0);
        Assert.Equal(4, RingKit.Run(ring).Res);
        Assert.Equal(data.Array, got.Array);

        // -1 clears a slot again.
        var clear = new Pinned<int>([-1]);
        ring.GetSqe().PrepFilesUpdate(clear.Address, 1, offset: 2);
        Assert.Equal(1, RingKit.Run(ring).Res);
        ring.NextSqe(0, SqeFlags.FixedFile).PrepWrite(2, data.Address, 4, 0);
        Assert.Equal(-E.EBADF, RingKit.Run(ring).Res);
        Pinned.KeepAlive(fds, data, got, clear);
    }

    [UringFact(Opcode.FilesUpdate)]
    public void Files_update_with_index_alloc_writes_the_picked_slots_back()
    {
        using var pipe = new TestPipe();
        using var ring = new Ring(4);
        ring.RegisterFilesSparse(8);
        var fds = new Pinned<int>([pipe.ReadFd, pipe.WriteFd]);
        ring.GetSqe().PrepFilesUpdate(fds.Address, 2, offset: -1);
        Assert.Equal(2, RingKit.Run(ring).Res);
        Assert.InRange(fds[0], 0, 7);
        Assert.InRange(fds[1], 0, 7);
        Assert.NotEqual(fds[0], fds[1]);

        var data = new Pinned<byte>([1, 2]);
        ring.NextSqe(0, SqeFlags.FixedFile).PrepWrite(fds[1], data.Address, 2, 0);
        Assert.Equal(2, RingKit.Run(ring).Res);
        byte[] got = new byte[2];
        Assert.Equal(2, IoUring.Interop.Libc.Read(pipe.ReadFd, got));
        Assert.Equal(data.Array, got);
        Pinned.KeepAlive(fds);
    }
}
