namespace IoUring.Tests.Preps;

/// <summary>fsync, sync_file_range, fallocate, fadvise, madvise, ftruncate.</summary>
public sealed class FileStatePrepTests
{
    private const int FALLOC_FL_KEEP_SIZE = 0x01;
    private const int FALLOC_FL_PUNCH_HOLE = 0x02;
    private const uint SYNC_FILE_RANGE_WAIT_BEFORE = 1;
    private const uint SYNC_FILE_RANGE_WRITE = 2;
    private const uint SYNC_FILE_RANGE_WAIT_AFTER = 4;
    private const int POSIX_FADV_SEQUENTIAL = 2;
    private const int POSIX_FADV_DONTNEED = 4;
    private const int MADV_WILLNEED = 3;
    private const int MADV_DONTNEED = 4;

    [UringFact(Opcode.Fsync)]
    public void Fsync_and_fdatasync_and_a_ranged_fsync_succeed_after_a_write()
    {
        using var file = new TempFile(0);
        using var handle = file.Open(FileAccess.ReadWrite);
        int fd = (int)handle.DangerousGetHandle();
        using var ring = new Ring(8);
        var data = new Pinned<byte>(TestData.Bytes(8192, 1));

        ring.NextSqe(1, SqeFlags.IoLink).PrepWrite(fd, data.Address, data.ByteLength, 0);
        ring.NextSqe(2, SqeFlags.IoLink).PrepFsync(fd);
        ring.NextSqe(3, SqeFlags.IoLink).PrepFsync(fd, FsyncFlags.DataSync);
        ring.NextSqe(4).PrepFsync(fd, FsyncFlags.DataSync, offset: 4096, length: 4096);
        Cqe[] cqes = RingKit.RunMany(ring, 4);

        Assert.Equal(8192, cqes.With(1).Res);
        Assert.Equal(0, cqes.With(2).Res);
        Assert.Equal(0, cqes.With(3).Res);
        Assert.Equal(0, cqes.With(4).Res);
        Assert.Equal(data.Array, File.ReadAllBytes(file.Path));
    }

    [UringFact(Opcode.Fsync)]
    public void Fsync_with_unknown_flags_is_rejected_so_the_flags_field_is_the_one_the_kernel_reads()
    {
        using var file = new TempFile(10);
        using var handle = file.Open(FileAccess.ReadWrite);
        using var ring = new Ring(4);
        ring.GetSqe().PrepFsync((int)handle.DangerousGetHandle(), (FsyncFlags)2);
        Assert.Equal(-E.EINVAL, RingKit.Run(ring).Res);
    }

    [UringFact(Opcode.SyncFileRange)]
    public void Sync_file_range_writes_back_a_range_and_checks_its_flags()
    {
        using var file = new TempFile(16384);
        using var handle = file.Open(FileAccess.ReadWrite);
        int fd = (int)handle.DangerousGetHandle();
        using var ring = new Ring(4);

        ring.NextSqe(1).PrepSyncFileRange(fd, 8192, 4096, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
        ring.NextSqe(2).PrepSyncFileRange(fd, 8192, 4096, 0x80);
        Cqe[] cqes = RingKit.RunMany(ring, 2);

        Assert.Equal(0, cqes.With(1).Res);
        Assert.Equal(-E.EINVAL, cqes.With(2).Res);
    }

    [UringFact(Opcode.Fallocate)]
    public void Fallocate_grows_the_file_and_KEEP_SIZE_does_not()
    {
        using var file = new TempFile(0);
        Assert.Equal(0, RingKit.RunOnFile(file, static (ref Sqe sqe, int fd) => sqe.PrepFallocate(fd, 0, 0, 1 << 20)));
        Assert.Equal(1 << 20, new FileInfo(file.Path).Length);

        Assert.Equal(0, RingKit.RunOnFile(file, static (ref Sqe sqe, int fd) => sqe.PrepFallocate(fd, FALLOC_FL_KEEP_SIZE, 1 << 20, 1 << 20)));

        Assert.Equal(1 << 20, new FileInfo(file.Path).Length);
    }

    [UringFact(Opcode.Fallocate)]
    public void Fallocate_punch_hole_zeroes_exactly_the_given_range()
    {
        // Offset, length and mode live in three different SQE fields (off, addr, len): a mix-up shows here.
        using var file = new TempFile(16384, seed: 2);
        int res = RingKit.RunOnFile(file, static (ref Sqe sqe, int fd) => sqe.PrepFallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 8192));
        if (res == -95)
        {
            Assert.Skip("The temp file system does not support FALLOC_FL_PUNCH_HOLE (EOPNOTSUPP).");
        }

        Assert.Equal(0, res);

        byte[] expected = (byte[])file.Content.Clone();
        Array.Clear(expected, 4096, 8192);
        Assert.Equal(expected, File.ReadAllBytes(file.Path));
    }

    [UringFact(Opcode.Fadvise)]
    public void Fadvise_accepts_real_advice_and_rejects_an_unknown_one()
    {
        using var file = new TempFile(8192);
        using var handle = file.Open();
        int fd = (int)handle.DangerousGetHandle();
        using var ring = new Ring(4);
        ring.NextSqe(1).PrepFadvise(fd, 0, 8192, POSIX_FADV_SEQUENTIAL);
        ring.NextSqe(2).PrepFadvise(fd, 4096, 0, POSIX_FADV_DONTNEED);
        ring.NextSqe(3).PrepFadvise(fd, 0, 0, 99);
        Cqe[] cqes = RingKit.RunMany(ring, 3);

        Assert.Equal(0, cqes.With(1).Res);
        Assert.Equal(0, cqes.With(2).Res);
        Assert.Equal(-E.EINVAL, cqes.With(3).Res);
    }

    [UringFact(Opcode.Madvise)]
    public void Madvise_DONTNEED_drops_the_pages_of_exactly_the_given_range()
    {
        int page = Environment.SystemPageSize;
        using var buf = new NativeBuffer(3 * page);
        buf.Span.Fill(0xAA);
        using var ring = new Ring(4);

        ring.NextSqe(1).PrepMadvise(buf.Address, (uint)buf.Length, MADV_WILLNEED);
        // Private anonymous pages read back as zero after MADV_DONTNEED: only the middle page is dropped.
        ring.NextSqe(2).PrepMadvise(buf.Address + page, (uint)page, MADV_DONTNEED);
        Cqe[] cqes = RingKit.RunMany(ring, 2);

        Assert.Equal(0, cqes.With(1).Res);
        Assert.Equal(0, cqes.With(2).Res);
        Assert.True(buf.Span[..page].IndexOfAnyExcept((byte)0xAA) < 0);
        Assert.True(buf.Span.Slice(page, page).IndexOfAnyExcept((byte)0) < 0);
        Assert.True(buf.Span[(2 * page)..].IndexOfAnyExcept((byte)0xAA) < 0);
    }

    [UringFact(Opcode.Ftruncate)]
    public void Ftruncate_sets_the_file_size()
    {
        using var file = new TempFile(10_000, seed: 5);
        Assert.Equal(0, RingKit.RunOnFile(file, static (ref Sqe sqe, int fd) => sqe.PrepFtruncate(fd, 1234)));

        Assert.Equal(file.Content.AsSpan(0, 1234).ToArray(), File.ReadAllBytes(file.Path));
    }
}
