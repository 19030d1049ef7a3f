namespace IoUring.Tests.Preps;

/// <summary>The four xattr opcodes (5.19) against a file on the test machine's file system.</summary>
public sealed class XattrPrepTests
{
    [UringFact([Opcode.FSetXattr, Opcode.FGetXattr])]
    public void Fsetxattr_then_fgetxattr_round_trips_a_value_and_reports_its_length()
    {
        using var file = new TempFile(16);
        using var handle = file.Open(FileAccess.ReadWrite);
        int fd = (int)handle.DangerousGetHandle();
        var name = Pinned.Utf8Z("user.iouring");
        var value = new Pinned<byte>("hello xattr"u8);
        var read = new Pinned<byte>(64);
        using var ring = new Ring(4);

        ring.GetSqe().PrepFSetXattr(fd, name.Address, value.Address, value.ByteLength, XattrFlags.Create);
        Assert.Equal(0, RingKit.Run(ring).Res);

        ring.GetSqe().PrepFGetXattr(fd, name.Address, 0, 0);
        Assert.Equal(value.Length, RingKit.Run(ring).Res);

        ring.GetSqe().PrepFGetXattr(fd, name.Address, read.Address, read.ByteLength);
        int n = RingKit.Run(ring).Res;
        Assert.Equal("hello xattr", System.Text.Encoding.UTF8.GetString(read.Span[..n]));

        ring.GetSqe().PrepFSetXattr(fd, name.Address, value.Address, value.ByteLength, XattrFlags.Create);
        Assert.Equal(-E.EEXIST, RingKit.Run(ring).Res);
        Pinned.KeepAlive(name, value, read);
    }

    [UringFact([Opcode.SetXattr, Opcode.GetXattr])]
    public void Setxattr_and_getxattr_work_by_path_and_a_missing_attribute_is_ENODATA()
    {
        using var file = new TempFile(16);
        var path = Pinned.Utf8Z(file.Path);
        var name = Pinned.Utf8Z("user.path");
        var missing = Pinned.Utf8Z("user.missing");
        var value = new Pinned<byte>([1, 2, 3, 4, 5]);
        var read = new Pinned<byte>(8);
        using var ring = new Ring(4);

        ring.GetSqe().PrepSetXattr(path.Address, name.Address, value.Address, value.ByteLength);
        Assert.Equal(0, RingKit.Run(ring).Res);
        ring.GetSqe().PrepGetXattr(path.Address, name.Address, read.Address, read.ByteLength);
        Assert.Equal(5, RingKit.Run(ring).Res);
        Assert.Equal(value.Array, read.Span[..5].ToArray());

        ring.GetSqe().PrepGetXattr(path.Address, missing.Address, read.Address, read.ByteLength);
        Assert.Equal(-E.ENODATA, RingKit.Run(ring).Res);

        ring.GetSqe().PrepSetXattr(path.Address, missing.Address, value.Address, value.ByteLength, XattrFlags.Replace);
        Assert.Equal(-E.ENODATA, RingKit.Run(ring).Res);
        Pinned.KeepAlive(path, name, missing, value, read);
    }
}
