
namespace IoUring.Tests.Registration;

/// <summary>Registered file tables: dense, sparse, updates, and misuse.</summary>
public sealed class RegisteredFileTests
{
    private static Cqe ReadFixedFile(Ring ring, int slot, Pinned<byte> into)
    {
        ring.NextSqe(0, SqeFlags.FixedFile).PrepRead(slot, into.Address, into.ByteLength, 0);
        return RingKit.Run(ring);
    }

    /// <summary>A fixed read of slot <paramref name="slot"/> into <paramref name="buf"/> (its length) returns all of <paramref name="file"/>.</summary>
    private static void AssertSlotReads(Ring ring, int slot, Pinned<byte> buf, TempFile file)
    {
        Assert.Equal(file.Content.Length, ReadFixedFile(ring, slot, buf).Res);
        Assert.Equal(file.Content, buf.Array);
    }

    [UringFact(Opcode.Read)]
    public void Registered_files_are_used_by_index_and_outlive_the_callers_fds()
    {
        using var a = new TempFile(100, seed: 1);
        using var b = new TempFile(100, seed: 2);
        using var ring = new Ring(4);
        using (var ha = a.Open())
        using (var hb = b.Open())
        {
            ring.RegisterFiles([(int)ha.DangerousGetHandle(), -1, (int)hb.DangerousGetHandle()]);
        }

        // Our handles are closed; the table holds its own references.
        var buf = new Pinned<byte>(100);
        AssertSlotReads(ring, 2, buf, b);
        AssertSlotReads(ring, 0, buf, a);
        Assert.Equal(-E.EBADF, ReadFixedFile(ring, 1, buf).Res);
        Assert.Equal(-E.EBADF, ReadFixedFile(ring, 3, buf).Res); // beyond the table
        Pinned.KeepAlive(buf);
    }

    [UringFact(Opcode.Read)]
    public void Update_replaces_clears_and_skips_slots()
    {
        using var a = new TempFile(64, seed: 3);
        using var b = new TempFile(64, seed: 4);
        using var ha = a.Open();
        using var hb = b.Open();
        using var ring = new Ring(4);
        int fa = (int)ha.DangerousGetHandle();
        int fb = (int)hb.DangerousGetHandle();
        ring.RegisterFiles([fa, fa, fa]);

        Assert.Equal(3, ring.UpdateRegisteredFiles(0, [fb, SqeConstants.RegisterFilesSkip, -1]));
        var buf = new Pinned<byte>(64);
        AssertSlotReads(ring, 0, buf, b);
        AssertSlotReads(ring, 1, buf, a);
        Assert.Equal(-E.EBADF, ReadFixedFile(ring, 2, buf).Res);

        Assert.Throws<IoUringException>(() => ring.UpdateRegisteredFiles(2, [fa, fa]));
        Pinned.KeepAlive(buf);
    }

    [UringFact(Opcode.Read)]
    public void A_sparse_table_starts_empty_and_is_filled_by_updates()
    {
        using var f = new TempFile(32, seed: 5);
        using var h = f.Open();
        using var ring = new Ring(4);
        ring.RegisterFilesSparse(16);

        var buf = new Pinned<byte>(32);
        Assert.Equal(-E.EBADF, ReadFixedFile(ring, 10, buf).Res);
        Assert.Equal(1, ring.UpdateRegisteredFiles(10, [(int)h.DangerousGetHandle()]));
        AssertSlotReads(ring, 10, buf, f);
    }

    [UringFact(Opcode.Read)]
    public void Registering_twice_is_EBUSY_and_unregister_empties_the_table()
    {
        using var f = new TempFile(8);
        using var h = f.Open();
        int fd = (int)h.DangerousGetHandle();
        using var ring = new Ring(4);
        ring.RegisterFiles([fd]);

        var e = Assert.Throws<IoUringException>(() => ring.RegisterFiles([fd]));
        Assert.Equal(E.EBUSY, e.Errno);
        Assert.Throws<IoUringException>(() => ring.RegisterFilesSparse(4));

        ring.UnregisterFiles();
        var buf = new Pinned<byte>(8);
        Assert.True(ReadFixedFile(ring, 0, buf).IsError);
        Assert.Equal(E.ENXIO, Assert.Throws<IoUringException>(ring.UnregisterFiles).Errno);

        // The table can be registered again after unregistering.
        ring.RegisterFiles([fd]);
        Assert.Equal(8, ReadFixedFile(ring, 0, buf).Res);
        Pinned.KeepAlive(buf);
    }

    [UringFact]
    public void Registering_an_invalid_fd_fails_with_EBADF()
    {
        using var ring = new Ring(4);
        Assert.Equal(E.EBADF, Assert.Throws<IoUringException>(() => ring.RegisterFiles([int.MaxValue - 1])).Errno);
    }

    [UringFact]
    public void Registering_an_empty_file_list_is_an_argument_error_before_any_syscall()
    {
        using var ring = new Ring(4);
        var e = Assert.Throws<ArgumentException>(() => ring.RegisterFiles([]));
        Assert.Contains("RegisterFilesSparse", e.Message, StringComparison.Ordinal);
        ring.RegisterFilesSparse(2); // the ring is still usable and has no table yet
    }
}
