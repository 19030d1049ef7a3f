using System.Text;

namespace IoUring.Tests.Preps;

/// <summary>openat, openat2, close, statx, renameat, unlinkat, mkdirat, symlinkat, linkat (+ direct variants).</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PathPrepTests : IDisposable
{
    private const uint STATX_TYPE = 0x1;
    private const uint STATX_MODE = 0x2;
    private const uint STATX_NLINK = 0x4;
    private const uint STATX_SIZE = 0x200;
    private const uint STATX_BASIC_STATS = 0x7ff;
    private const int S_IFMT = 0xF000;
    private const int S_IFREG = 0x8000;
    private const int S_IFDIR = 0x4000;
    private const int S_IFLNK = 0xA000;
    private const int AT_SYMLINK_NOFOLLOW = 0x100;
    private const uint RENAME_NOREPLACE = 1;
    private const ulong RESOLVE_BENEATH = 0x08;

    private readonly string _dir = Directory.CreateTempSubdirectory("iouring-prep-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private string P(string name) => Path.Combine(_dir, name);

    private string NewFile(string name, byte[] content)
    {
        string path = P(name);
        File.WriteAllBytes(path, content);
        return path;
    }

    /// <summary>Reads <paramref name="length"/> bytes from offset 0 of <paramref name="fd"/> through the ring.</summary>
    private static byte[] ReadThroughRing(Ring ring, int fd, int length, bool fixedFile = false)
    {
        var buf = new Pinned<byte>(length);
        ref Sqe sqe = ref ring.GetSqe();
        sqe.PrepRead(fd, buf.Address, buf.ByteLength, 0);
        if (fixedFile)
        {
            sqe.Flags |= SqeFlags.FixedFile;
        }

        Cqe cqe = RingKit.Run(ring);
        Assert.Equal(length, cqe.Res);
        return buf.Array;
    }

    [UringFact(Opcode.OpenAt)]
    public void Openat_returns_a_working_fd()
    {
        byte[] content = TestData.Bytes(777, 1);
        var path = Pinned.Utf8Z(NewFile("a", content));
        using var ring = new Ring(4);

        ring.GetSqe().PrepOpenAt(Sqe.AtFdCwd, path.Address, Posix.O_RDONLY | Posix.O_CLOEXEC, 0);
        int fd = RingKit.Run(ring).Res;
        Assert.True(fd >= 0, $"openat failed: {fd}");
        using var closeAtEnd = Fds.CloseAtEnd(fd);
        Assert.Equal(content, ReadThroughRing(ring, fd, 777));
        Pinned.KeepAlive(path);
    }

    [UringFact(Opcode.OpenAt)]
    public void Openat_creates_a_file_with_the_mode_and_reports_ENOENT_for_a_missing_one()
    {
        var created = Pinned.Utf8Z(P("new"));
        var missing = Pinned.Utf8Z(P("missing"));
        using var ring = new Ring(4);

        ring.NextSqe(1).PrepOpenAt(Sqe.AtFdCwd, created.Address, Posix.O_WRONLY | Posix.O_CREAT | Posix.O_EXCL | Posix.O_CLOEXEC, 0b110_000_000);
        ring.NextSqe(2).PrepOpenAt(Sqe.AtFdCwd, missing.Address, Posix.O_RDONLY | Posix.O_CLOEXEC, 0);
        Cqe[] cqes = RingKit.RunMany(ring, 2);

        Assert.True(cqes.With(1).Res >= 0, cqes.With(1).ToString());
        Fds.Close(cqes.With(1).Res);
        Assert.Equal(-E.ENOENT, cqes.With(2).Res);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(P("new")));
        Pinned.KeepAlive(created, missing);
    }

    [UringFact(Opcode.OpenAt)]
    public void Openat_relative_to_a_directory_fd_opened_by_the_ring()
    {
        byte[] content = TestData.Bytes(64, 2);
        NewFile("rel", content);
        var dir = Pinned.Utf8Z(_dir);
        var rel = Pinned.Utf8Z("rel");
        using var ring = new Ring(4);

        ring.GetSqe().PrepOpenAt(Sqe.AtFdCwd, dir.Address, Posix.O_RDONLY | Posix.O_DIRECTORY | Posix.O_CLOEXEC, 0);
        int dirFd = RingKit.Run(ring).Res;
        Assert.True(dirFd >= 0, $"opening the directory failed: {dirFd}");
        using var closeAtEnd = Fds.CloseAtEnd(dirFd);
        ring.GetSqe().PrepOpenAt(dirFd, rel.Address, Posix.O_RDONLY | Posix.O_CLOEXEC, 0);
        int fd = RingKit.Run(ring).Res;
        Assert.True(fd >= 0, $"openat(dirfd) failed: {fd}");
        Assert.Equal(content, ReadThroughRing(ring, fd, 64));
        Fds.Close(fd);
        Pinned.KeepAlive(dir, rel);
    }

    [UringFact(Opcode.OpenAt2)]
    public void Openat2_from_the_ring_scratch_and_from_caller_memory_both_open_and_RESOLVE_BENEATH_is_enforced()
    {
        byte[] content = TestData.Bytes(300, 3);
        string full = NewFile("o2", content);
        var abs = Pinned.Utf8Z(full);
        var dir = Pinned.Utf8Z(_dir);
        var escape = Pinned.Utf8Z("../" + Path.GetFileName(_dir) + "/o2");
        using var ring = new Ring(8);

        // Ring-kept open_how.
        ring.PrepOpenAt2(Sqe.AtFdCwd, abs.Address, new OpenHow { Flags = Posix.O_RDONLY | Posix.O_CLOEXEC });
        int fd = RingKit.Run(ring).Res;
        Assert.True(fd >= 0, $"openat2 failed: {fd}");
        Assert.Equal(content, ReadThroughRing(ring, fd, 300));
        Fds.Close(fd);

        // Caller-kept open_how, relative to a directory, with a resolve restriction.
        ring.GetSqe().PrepOpenAt(Sqe.AtFdCwd, dir.Address, Posix.O_RDONLY | Posix.O_DIRECTORY | Posix.O_CLOEXEC, 0);
        int dirFd = RingKit.Run(ring).Res;
        Assert.True(dirFd >= 0);
        using var closeAtEnd = Fds.CloseAtEnd(dirFd);
        var how = new Pinned<OpenHow>([new OpenHow { Flags = Posix.O_RDONLY | Posix.O_CLOEXEC, Resolve = RESOLVE_BENEATH }]);
        ring.GetSqe().PrepOpenAt2(dirFd, escape.Address, how.Address);
        Assert.Equal(-E.EXDEV, RingKit.Run(ring).Res);
        Pinned.KeepAlive(how);
        Pinned.KeepAlive(abs, dir, escape);
    }

    [UringFact([Opcode.OpenAt, Opcode.OpenAt2])]
    public void Openat_direct_and_openat2_direct_fill_registered_slots_usable_with_FixedFile()
    {
        byte[] content = TestData.Bytes(128, 4);
        var path = Pinned.Utf8Z(NewFile("d", content));
        using var ring = new Ring(8);
        ring.RegisterFilesSparse(8);

        ring.GetSqe().PrepOpenAtDirect(Sqe.AtFdCwd, path.Address, Posix.O_RDONLY, 0, fileIndex: 5);
        Assert.Equal(0, RingKit.Run(ring).Res);
        Assert.Equal(content, ReadThroughRing(ring, 5, 128, fixedFile: true));

        var how = new Pinned<OpenHow>([new OpenHow { Flags = Posix.O_RDONLY }]);
        ring.GetSqe().PrepOpenAt2Direct(Sqe.AtFdCwd, path.Address, how.Address, SqeConstants.FileIndexAlloc);
        int slot = RingKit.Run(ring).Res;
        Assert.InRange(slot, 0, 7);
        Assert.NotEqual(5, slot);
        Assert.Equal(content, ReadThroughRing(ring, slot, 128, fixedFile: true));

        // O_CLOEXEC means nothing for a direct descriptor and the kernel refuses it.
        ring.GetSqe().PrepOpenAtDirect(Sqe.AtFdCwd, path.Address, Posix.O_RDONLY | Posix.O_CLOEXEC, 0, 1);
        Assert.Equal(-E.EINVAL, RingKit.Run(ring).Res);
        Pinned.KeepAlive(path, how);
    }

    [UringFact(Opcode.Close)]
    public void Close_releases_the_file_so_the_pipe_reader_sees_end_of_file()
    {
        using var pipe = new TestPipe();
        using var ring = new Ring(4);
        ring.GetSqe().PrepClose(pipe.WriteFd);
        Assert.Equal(0, RingKit.Run(ring).Res);
        pipe.WriteEndClosedByRequest();
        // The only writer is gone: read returns 0 at once instead of blocking.
        Assert.Equal(0, IoUring.Interop.Libc.Read(pipe.ReadFd, new byte[1]));
    }

    [UringFact(Opcode.Close)]
    public void Close_direct_empties_the_slot_and_releases_the_file()
    {
        using var pipe = new TestPipe();
        using var ring = new Ring(4);
        ring.RegisterFiles([-1, pipe.WriteFd]);
        pipe.CloseWriteEnd(); // the table keeps its own reference

        ring.GetSqe().PrepCloseDirect(1);
        Assert.Equal(0, RingKit.Run(ring).Res);
        Assert.Equal(0, IoUring.Interop.Libc.Read(pipe.ReadFd, new byte[1]));

        var one = new Pinned<byte>(1);
        ring.NextSqe(0, SqeFlags.FixedFile).PrepWrite(1, one.Address, 1, 0);
        Assert.Equal(-E.EBADF, RingKit.Run(ring).Res);
        Pinned.KeepAlive(one);
    }

    [UringFact(Opcode.Statx)]
    public void Statx_reports_size_mode_and_type_of_a_file_and_a_directory()
    {
        string file = NewFile("s", TestData.Bytes(12345, 5));
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        var filePath = Pinned.Utf8Z(file);
        var dirPath = Pinned.Utf8Z(_dir);
        var st = new Pinned<Statx>(2);
        using var ring = new Ring(4);

        ring.NextSqe(1).PrepStatx(Sqe.AtFdCwd, filePath.Address, 0, STATX_BASIC_STATS, st.AddressOf(0));
        ring.NextSqe(2).PrepStatx(Sqe.AtFdCwd, dirPath.Address, 0, STATX_TYPE | STATX_MODE, st.AddressOf(1));
        Cqe[] cqes = RingKit.RunMany(ring, 2);

        Assert.Equal(0, cqes.With(1).Res);
        Assert.Equal(0, cqes.With(2).Res);
        Statx f = st[0];
        Assert.Equal(STATX_SIZE | STATX_MODE | STATX_TYPE, f.Mask & (STATX_SIZE | STATX_MODE | STATX_TYPE));
        Assert.Equal(12345UL, f.FileSize);
        Assert.Equal(S_IFREG, f.Mode & S_IFMT);
        Assert.Equal((int)File.GetUnixFileMode(file), f.Mode & 0xFFF);
        Assert.Equal(1u, f.LinkCount);
        Assert.Equal(S_IFDIR, st[1].Mode & S_IFMT);
        Pinned.KeepAlive(filePath, dirPath);
    }

    [UringFact(Opcode.Statx)]
    public void Statx_of_an_open_fd_with_AT_EMPTY_PATH()
    {
        using var file = new TempFile(4321);
        using var handle = file.Open();
        var empty = Pinned.Utf8Z(string.Empty);
        var st = new Pinned<Statx>(1);
        using var ring = new Ring(4);

        ring.GetSqe().PrepStatx((int)handle.DangerousGetHandle(), empty.Address, Posix.AT_EMPTY_PATH, STATX_SIZE, st.Address);
        Assert.Equal(0, RingKit.Run(ring).Res);
        Assert.Equal(4321UL, st.Value.FileSize);
        Pinned.KeepAlive(empty);
    }

    [UringFact(Opcode.RenameAt)]
    public void Renameat_moves_a_file_and_RENAME_NOREPLACE_refuses_to_overwrite()
    {
        byte[] content = TestData.Bytes(50, 6);
        string from = NewFile("from", content);
        string other = NewFile("other", [1, 2, 3]);
        var fromPath = Pinned.Utf8Z(from);
        var toPath = Pinned.Utf8Z(P("to"));
        var otherPath = Pinned.Utf8Z(other);
        using var ring = new Ring(4);

        ring.GetSqe().PrepRenameAt(Sqe.AtFdCwd, fromPath.Address, Sqe.AtFdCwd, toPath.Address);
        Assert.Equal(0, RingKit.Run(ring).Res);
        Assert.False(File.Exists(from));
        Assert.Equal(content, File.ReadAllBytes(P("to")));

        ring.GetSqe().PrepRenameAt(Sqe.AtFdCwd, toPath.Address, Sqe.AtFdCwd, otherPath.Address, RENAME_NOREPLACE);
        Assert.Equal(-E.EEXIST, RingKit.Run(ring).Res);
        Assert.Equal([1, 2, 3], File.ReadAllBytes(other));
        Assert.True(File.Exists(P("to")));
        Pinned.KeepAlive(fromPath, toPath, otherPath);
    }

    [UringFact([Opcode.MkdirAt, Opcode.UnlinkAt])]
    public void Mkdirat_and_unlinkat_relative_to_a_directory_fd()
    {
        NewFile("victim", [9]);
        var dir = Pinned.Utf8Z(_dir);
        var sub = Pinned.Utf8Z("sub");
        var victim = Pinned.Utf8Z("victim");
        using var ring = new Ring(8);

        ring.GetSqe().PrepOpenAt(Sqe.AtFdCwd, dir.Address, Posix.O_RDONLY | Posix.O_DIRECTORY | Posix.O_CLOEXEC, 0);
        int dirFd = RingKit.Run(ring).Res;
        Assert.True(dirFd >= 0);
        using var closeAtEnd = Fds.CloseAtEnd(dirFd);
        ring.GetSqe().PrepMkdirAt(dirFd, sub.Address, 0b111_000_000);
        Assert.Equal(0, RingKit.Run(ring).Res);
        Assert.True(Directory.Exists(P("sub")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(P("sub")));

        ring.GetSqe().PrepMkdirAt(dirFd, sub.Address, 0b111_000_000);
        Assert.Equal(-E.EEXIST, RingKit.Run(ring).Res);

        ring.GetSqe().PrepUnlinkAt(dirFd, victim.Address);
        Assert.Equal(0, RingKit.Run(ring).Res);
        Assert.False(File.Exists(P("victim")));

        // Without AT_REMOVEDIR a directory is not unlinked; with it, it is.
        ring.GetSqe().PrepUnlinkAt(dirFd, sub.Address);
        Assert.True(RingKit.Run(ring).IsError);
        Assert.True(Directory.Exists(P("sub")));
        ring.GetSqe().PrepUnlinkAt(dirFd, sub.Address, Posix.AT_REMOVEDIR);
        Assert.Equal(0, RingKit.Run(ring).Res);
        Assert.False(Directory.Exists(P("sub")));
        Pinned.KeepAlive(dir, victim);
    }

    [UringFact(Opcode.SymlinkAt)]
    public void Symlinkat_creates_a_link_to_the_target()
    {
        string target = NewFile("target", [4, 5, 6]);
        var targetPath = Pinned.Utf8Z(target);
        var linkPath = Pinned.Utf8Z(P("link"));
        var st = new Pinned<Statx>(1);
        using var ring = new Ring(4);

        ring.GetSqe().PrepSymlinkAt(targetPath.Address, Sqe.AtFdCwd, linkPath.Address);
        Assert.Equal(0, RingKit.Run(ring).Res);
        Assert.Equal(target, new FileInfo(P("link")).LinkTarget);
        Assert.Equal([4, 5, 6], File.ReadAllBytes(P("link")));

        ring.GetSqe().PrepStatx(Sqe.AtFdCwd, linkPath.Address, AT_SYMLINK_NOFOLLOW, STATX_TYPE, st.Address);
        Assert.Equal(0, RingKit.Run(ring).Res);
        Assert.Equal(S_IFLNK, st.Value.Mode & S_IFMT);
        Pinned.KeepAlive(targetPath, linkPath);
    }

    [UringFact(Opcode.LinkAt)]
    public void Linkat_creates_a_hard_link_to_the_same_inode()
    {
        string original = NewFile("orig", [7, 8]);
        var originalPath = Pinned.Utf8Z(original);
        var linkPath = Pinned.Utf8Z(P("hard"));
        var st = new Pinned<Statx>(1);
        using var ring = new Ring(4);

        ring.GetSqe().PrepLinkAt(Sqe.AtFdCwd, originalPath.Address, Sqe.AtFdCwd, linkPath.Address);
        Assert.Equal(0, RingKit.Run(ring).Res);
        File.WriteAllBytes(original, [1, 1, 1]);
        Assert.Equal([1, 1, 1], File.ReadAllBytes(P("hard")));

        ring.GetSqe().PrepStatx(Sqe.AtFdCwd, linkPath.Address, 0, STATX_NLINK, st.Address);
        Assert.Equal(0, RingKit.Run(ring).Res);
        Assert.Equal(2u, st.Value.LinkCount);
        Pinned.KeepAlive(originalPath, linkPath);
    }

    [UringFact(Opcode.Pipe)]
    public void Pipe_returns_two_connected_fds()
    {
        var fds = new Pinned<int>([-1, -1]);
        using var ring = new Ring(4);

        ring.GetSqe().PrepPipe(fds.Address, Posix.O_CLOEXEC);
        Assert.Equal(0, RingKit.Run(ring).Res);
        try
        {
            Assert.True(fds[0] >= 0 && fds[1] >= 0 && fds[0] != fds[1]);
            Fds.WriteAll(fds[1], "hello"u8);
            byte[] got = new byte[5];
            Assert.Equal(5, IoUring.Interop.Libc.Read(fds[0], got));
            Assert.Equal("hello", Encoding.ASCII.GetString(got));
        }
        finally
        {
            Fds.Close(fds[0], fds[1]);
        }
    }

    [UringFact(Opcode.Pipe)]
    public void Pipe_direct_puts_both_ends_in_the_registered_table()
    {
        var fds = new Pinned<int>([-1, -1]);
        var data = new Pinned<byte>("direct"u8);
        var got = new Pinned<byte>(6);
        using var ring = new Ring(4);
        ring.RegisterFilesSparse(4);

        ring.GetSqe().PrepPipeDirect(fds.Address, 0, SqeConstants.FileIndexAlloc);
        Assert.Equal(0, RingKit.Run(ring).Res);
        Assert.InRange(fds[0], 0, 3);
        Assert.InRange(fds[1], 0, 3);
        Assert.NotEqual(fds[0], fds[1]);

        ring.NextSqe(0, SqeFlags.FixedFile).PrepWrite(fds[1], data.Address, 6, 0);
        Assert.Equal(6, RingKit.Run(ring).Res);
        ring.NextSqe(0, SqeFlags.FixedFile).PrepRead(fds[0], got.Address, 6, 0);
        Assert.Equal(6, RingKit.Run(ring).Res);
        Assert.Equal(data.Array, got.Array);
        Pinned.KeepAlive(fds);
    }

    /// <summary>Reads O_CLOEXEC (octal 02000000) from the "flags:" line of /proc/self/fdinfo.</summary>
    private static bool IsCloseOnExec(int fd)
    {
        string flags = File.ReadLines($"/proc/self/fdinfo/{fd}").First(l => l.StartsWith("flags:", StringComparison.Ordinal));
        return (Convert.ToInt32(flags["flags:".Length..].Trim(), 8) & Posix.O_CLOEXEC) != 0;
    }

    [UringFact(Opcode.FixedFdInstall)]
    public void Fixed_fd_install_turns_a_direct_descriptor_into_a_normal_fd_with_or_without_cloexec()
    {
        byte[] content = TestData.Bytes(20, 7);
        var path = Pinned.Utf8Z(NewFile("inst", content));
        using var ring = new Ring(4);
        ring.RegisterFilesSparse(2);

        ring.GetSqe().PrepOpenAtDirect(Sqe.AtFdCwd, path.Address, Posix.O_RDONLY, 0, 1);
        Assert.Equal(0, RingKit.Run(ring).Res);
        ring.GetSqe().PrepFixedFdInstall(1);
        int fd = RingKit.Run(ring).Res;
        Assert.True(fd >= 0, $"fixed_fd_install failed: {fd}");
        ring.GetSqe().PrepFixedFdInstall(1, SqeConstants.FixedFdNoCloexec);
        int inheritable = RingKit.Run(ring).Res;
        Assert.True(inheritable >= 0, $"fixed_fd_install (no cloexec) failed: {inheritable}");
        using var closeAtEnd = Fds.CloseAtEnd(fd, inheritable);
        byte[] got = new byte[20];
        Assert.Equal(20, IoUring.Interop.Libc.Read(fd, got));
        Assert.Equal(content, got);
        Assert.True(IsCloseOnExec(fd));
        Assert.False(IsCloseOnExec(inheritable));
        Pinned.KeepAlive(path);
    }
}
