using System.Runtime.Versioning;

using static IoUring.Tests.BclFailures;

namespace IoUring.Tests.Files;

/// <summary>
/// <see cref="UringFileSystem"/> (rename, unlink, mkdir, symlink, link through io_uring): what each call does, and that
/// it fails like its <see cref="File"/> or <see cref="Directory"/> twin (side by side, as in <see cref="BclParityTests"/>).
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class FileSystemTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("iouring-fs-").FullName;
    private IoUringEngine? _engine;

    private IoUringEngine Engine
    {
        get
        {
            if (_engine is null)
            {
                Kernel.RequireOp(Opcode.MkdirAt);
                Kernel.RequireOp(Opcode.SymlinkAt);
                Kernel.RequireOp(Opcode.LinkAt);
                _engine = new IoUringEngine();
            }

            return _engine;
        }
    }

    public void Dispose()
    {
        _engine?.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private string P(string name) => Path.Combine(_dir, name);

    [Fact]
    public async Task Move_delete_mkdir_and_links_do_what_their_System_IO_twins_do()
    {
        IoUringEngine engine = Engine;
        File.WriteAllText(P("a.txt"), "hello");

        await UringFileSystem.MoveAsync(engine, P("a.txt"), P("b.txt"));
        Assert.False(File.Exists(P("a.txt")));
        Assert.Equal("hello", File.ReadAllText(P("b.txt")));

        File.WriteAllText(P("c.txt"), "other");
        await UringFileSystem.MoveAsync(engine, P("c.txt"), P("b.txt"), overwrite: true);
        Assert.Equal("other", File.ReadAllText(P("b.txt")));

        DirectoryInfo made = await UringFileSystem.CreateDirectoryAsync(engine, P("x/y/z"));
        Assert.Equal(P("x/y/z"), made.FullName);
        Assert.True(Directory.Exists(P("x/y/z")));
        _ = await UringFileSystem.CreateDirectoryAsync(engine, P("x/y/z"));

        FileSystemInfo link = await UringFileSystem.CreateSymbolicLinkAsync(engine, P("link"), P("b.txt"));
        Assert.Equal(P("b.txt"), link.LinkTarget);
        Assert.Equal("other", File.ReadAllText(P("link")));

        FileInfo hard = await UringFileSystem.CreateHardLinkAsync(engine, P("hard"), P("b.txt"));
        Assert.True(hard.Exists);
        File.AppendAllText(P("b.txt"), "!");
        Assert.Equal("other!", File.ReadAllText(P("hard")));

        await UringFileSystem.DeleteAsync(engine, P("link"));
        Assert.False(File.Exists(P("link")));
        Assert.True(File.Exists(P("b.txt")));
        await UringFileSystem.DeleteAsync(engine, P("missing.txt"));

        await UringFileSystem.DeleteDirectoryAsync(engine, P("x/y/z"));
        Assert.False(Directory.Exists(P("x/y/z")));

        File.WriteAllText(P("x/y/f1"), "1");
        Directory.CreateDirectory(P("x/y/sub/deeper"));
        File.WriteAllText(P("x/y/sub/deeper/f2"), "2");
        Directory.CreateSymbolicLink(P("x/y/outside"), _dir);
        await UringFileSystem.DeleteDirectoryAsync(engine, P("x"), recursive: true);
        Assert.False(Directory.Exists(P("x")));
        Assert.True(File.Exists(P("b.txt")), "the recursive delete followed a symbolic link");
        Assert.Equal(0, engine.OperationsInFlight);
    }

    [Fact]
    public async Task The_engine_calls_rename_unlink_and_mkdir_with_errno_errors()
    {
        IoUringEngine engine = Engine;
        File.WriteAllText(P("one"), "1");
        File.WriteAllText(P("two"), "2");
        await engine.RenameAsync(P("one"), P("two"), IoUringEngine.RenameExchange);
        Assert.Equal("2", File.ReadAllText(P("one")));
        Assert.Equal("1", File.ReadAllText(P("two")));

        IoUringException e = await Assert.ThrowsAsync<IoUringException>(async () => await engine.RenameAsync(P("one"), P("two"), IoUringEngine.RenameNoReplace));
        Assert.Equal(17, e.Errno);
        Assert.Contains(P("one"), e.Message, StringComparison.Ordinal);

        await engine.MakeDirectoryAsync(P("d"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(P("d")));
        e = await Assert.ThrowsAsync<IoUringException>(async () => await engine.UnlinkAsync(P("d")));
        Assert.Equal(21, e.Errno);
        await engine.UnlinkAsync(P("d"), directory: true);
        Assert.False(Directory.Exists(P("d")));

        await engine.SymlinkAsync("relative-target", P("rel"));
        Assert.Equal("relative-target", new FileInfo(P("rel")).LinkTarget);
        await engine.LinkAsync(P("rel"), P("rel2"));
        Assert.Equal("relative-target", new FileInfo(P("rel2")).LinkTarget);

        Assert.Throws<ArgumentException>(() => engine.UnlinkAsync("a\0b"));
        Assert.Throws<ArgumentException>(() => engine.RenameAsync(P("one"), string.Empty));
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await engine.UnlinkAsync(P("one"), cancellationToken: cts.Token));
        Assert.True(File.Exists(P("one")));
    }

    [UringFact(Opcode.MkdirAt)]
    public async Task The_default_group_serves_calls_without_an_engine()
    {
        DirectoryInfo d = await UringFileSystem.CreateDirectoryAsync(P("def/a"));
        Assert.True(d.Exists);
        File.WriteAllText(P("def/a/f"), "x");
        await UringFileSystem.MoveAsync(P("def/a/f"), P("def/g"));
        _ = await UringFileSystem.CreateSymbolicLinkAsync(P("def/s"), "g");
        _ = await UringFileSystem.CreateHardLinkAsync(P("def/h"), P("def/g"));
        await UringFileSystem.DeleteAsync(P("def/g"));
        await UringFileSystem.DeleteDirectoryAsync(P("def"), recursive: true);
        Assert.False(Directory.Exists(P("def")));
    }

    // ---- Failures, side by side with System.IO. ----

    [Fact]
    public async Task Move_fails_like_File_Move()
    {
        IoUringEngine engine = Engine;
        File.WriteAllText(P("src"), "s");
        File.WriteAllText(P("dst"), "d");
        Directory.CreateDirectory(P("dir"));

        // Missing source; a directory as source; existing destination; missing destination directory.
        await Same(() => File.Move(P("nope"), P("x")), () => UringFileSystem.MoveAsync(engine, P("nope"), P("x")));
        await Same(() => File.Move(P("dir"), P("x")), () => UringFileSystem.MoveAsync(engine, P("dir"), P("x")));
        await Same(() => File.Move(P("src"), P("dst")), () => UringFileSystem.MoveAsync(engine, P("src"), P("dst")));
        await Same(() => File.Move(P("src"), P("no/such/dir/x")), () => UringFileSystem.MoveAsync(engine, P("src"), P("no/such/dir/x")));
        await Same(() => File.Move(P("src"), P("dir"), overwrite: true), () => UringFileSystem.MoveAsync(engine, P("src"), P("dir"), overwrite: true));
        await Same(() => File.Move(null!, P("x")), () => UringFileSystem.MoveAsync(engine, null!, P("x")), compareMessage: false);
        await Same(() => File.Move(P("src"), string.Empty), () => UringFileSystem.MoveAsync(engine, P("src"), string.Empty), compareMessage: false);
        Assert.Equal("s", File.ReadAllText(P("src")));
        Assert.Equal("d", File.ReadAllText(P("dst")));
    }

    [Fact]
    public async Task Delete_fails_like_File_Delete()
    {
        IoUringEngine engine = Engine;
        Directory.CreateDirectory(P("dir"));
        File.WriteAllText(P("file"), "f");
        await Same(() => File.Delete(P("no/such/dir/x")), () => UringFileSystem.DeleteAsync(engine, P("no/such/dir/x")));
        await Same(() => File.Delete(P("dir")), () => UringFileSystem.DeleteAsync(engine, P("dir")));
        await Same(() => File.Delete(P("file/below")), () => UringFileSystem.DeleteAsync(engine, P("file/below")));
        Assert.True(Directory.Exists(P("dir")));
    }

    [Fact]
    public async Task Directory_calls_fail_like_Directory_CreateDirectory_and_Delete()
    {
        IoUringEngine engine = Engine;
        File.WriteAllText(P("file"), "f");
        Directory.CreateDirectory(P("full/inner"));
        await Same(() => Directory.CreateDirectory(P("file")), () => UringFileSystem.CreateDirectoryAsync(engine, P("file")).AsTask());
        await Same(() => Directory.CreateDirectory(P("file/below")), () => UringFileSystem.CreateDirectoryAsync(engine, P("file/below")).AsTask());
        await Same(() => Directory.Delete(P("missing")), () => UringFileSystem.DeleteDirectoryAsync(engine, P("missing")));
        await Same(() => Directory.Delete(P("full")), () => UringFileSystem.DeleteDirectoryAsync(engine, P("full")));
        await Same(() => Directory.Delete(P("file")), () => UringFileSystem.DeleteDirectoryAsync(engine, P("file")));
        Assert.True(Directory.Exists(P("full/inner")));
    }

    [Fact]
    public async Task CreateSymbolicLink_fails_like_File_CreateSymbolicLink()
    {
        IoUringEngine engine = Engine;
        File.WriteAllText(P("taken"), "t");
        await Same(() => File.CreateSymbolicLink(P("taken"), "x"), () => UringFileSystem.CreateSymbolicLinkAsync(engine, P("taken"), "x").AsTask());
        await Same(() => File.CreateSymbolicLink(P("no/such/l"), "x"), () => UringFileSystem.CreateSymbolicLinkAsync(engine, P("no/such/l"), "x").AsTask());
    }

    private static async Task Same(Action dotnet, Func<ValueTask> library, bool compareMessage = true) =>
        SameFailure(Catch(dotnet), await Catch(() => library().AsTask()), compareMessage);

    private static async Task Same(Action dotnet, Func<Task> library, bool compareMessage = true) =>
        SameFailure(Catch(dotnet), await Catch(library), compareMessage);
}
