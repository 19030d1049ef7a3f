using Microsoft.Win32.SafeHandles;

using static IoUring.Tests.BclFailures;

namespace IoUring.Tests.Files;

/// <summary>
/// The file API fails like the .NET API it stands in for: each test provokes one situation with
/// <see cref="RandomAccess"/>, <see cref="File.OpenHandle"/> or <see cref="FileStream"/> and with the library, side by
/// side, and compares what was thrown (<see cref="SameFailure"/>).
/// </summary>
public sealed class BclParityTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("iouring-parity-").FullName;
    private readonly string _file;
    private IoUringEngine? _engine;

    public BclParityTests()
    {
        _file = Path.Combine(_dir, "data.bin");
        File.WriteAllBytes(_file, TestData.Bytes(8192, seed: 3));
    }

    /// <summary>The engine, created by the first test step that needs it (after the kernel gate).</summary>
    private IoUringEngine Engine
    {
        get
        {
            if (_engine is null)
            {
                Kernel.RequireOp(Opcode.OpenAt);
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

    /// <summary>Descriptors of this process open on <paramref name="path"/> (this test's own directory: no other test opens it).</summary>
    private static int OpenDescriptorsOn(string path) =>
        Directory.EnumerateFileSystemEntries("/proc/self/fd").Count(link =>
        {
            try
            {
                return new FileInfo(link).LinkTarget == path;
            }
            catch (IOException)
            {
                return false;
            }
        });

    [Theory]
    [InlineData(-1L)]
    [InlineData(-2L)]
    [InlineData(long.MinValue)]
    public async Task A_negative_offset_is_refused_with_ArgumentOutOfRangeException(long offset)
    {
        using SafeFileHandle h = File.OpenHandle(_file, FileMode.Open, FileAccess.ReadWrite);
        await using UringFile file = await UringFile.OpenAsync(Engine, _file, FileMode.Open, FileAccess.ReadWrite);
        byte[] buffer = new byte[16];
        Memory<byte>[] buffers = [buffer];
        ReadOnlyMemory<byte>[] data = [buffer];

        Exception dotnet = await Catch(() => RandomAccess.ReadAsync(h, buffer, offset));
        SameFailure(dotnet, await Catch(() => file.ReadAsync(buffer, offset)));
        SameFailure(dotnet, await Catch(() => UringRandomAccess.ReadAsync(h, buffer, offset)));

        SameFailure(await Catch(() => RandomAccess.WriteAsync(h, buffer, offset)), await Catch(() => file.WriteAsync(buffer, offset)));
        SameFailure(await Catch(() => RandomAccess.WriteAsync(h, buffer, offset)), await Catch(() => UringRandomAccess.WriteAsync(h, buffer, offset)));
        SameFailure(await Catch(() => RandomAccess.ReadAsync(h, buffers, offset)), await Catch(() => file.ReadAsync(buffers, offset)));
        SameFailure(await Catch(() => RandomAccess.ReadAsync(h, buffers, offset)), await Catch(() => UringRandomAccess.ReadAsync(h, buffers, offset)));
        SameFailure(await Catch(() => RandomAccess.WriteAsync(h, data, offset)), await Catch(() => file.WriteAsync(data, offset)));
        SameFailure(await Catch(() => RandomAccess.WriteAsync(h, data, offset)), await Catch(() => UringRandomAccess.WriteAsync(h, data, offset)));

        // Nothing was read or written at "the current position".
        Assert.Equal(TestData.Bytes(8192, seed: 3), await File.ReadAllBytesAsync(_file));
    }

    [Fact]
    public async Task Reading_a_file_opened_only_for_writing_throws_UnauthorizedAccessException_naming_the_file()
    {
        using SafeFileHandle h = File.OpenHandle(_file, FileMode.Open, FileAccess.Write);
        await using UringFile file = await UringFile.OpenAsync(Engine, _file, FileMode.Open, FileAccess.Write);
        using UringFile adopted = UringFile.FromHandle(Engine, h, FileAccess.Write);
        byte[] buffer = new byte[16];

        Exception dotnet = await Catch(() => RandomAccess.ReadAsync(h, buffer, 0));
        Assert.IsType<UnauthorizedAccessException>(dotnet);
        SameFailure(dotnet, await Catch(() => file.ReadAsync(buffer, 0)));
        SameFailure(dotnet, await Catch(() => adopted.ReadAsync(buffer, 0)));
        SameFailure(dotnet, await Catch(() => UringRandomAccess.ReadAsync(h, buffer, 0)));
        SameFailure(await Catch(() => RandomAccess.ReadAsync(h, new Memory<byte>[] { buffer }, 0)), await Catch(() => file.ReadAsync(new Memory<byte>[] { buffer }, 0)));

        // The errno stays reachable, with a hint.
        BclFailures.AssertErrnoInside(await Catch(() => file.ReadAsync(buffer, 0)), E.EBADF, "not opened for reading");
    }

    [Fact]
    public async Task Writing_a_file_opened_only_for_reading_throws_UnauthorizedAccessException_naming_the_file()
    {
        using SafeFileHandle h = File.OpenHandle(_file, FileMode.Open, FileAccess.Read);
        await using UringFile file = await UringFile.OpenAsync(Engine, _file, FileMode.Open, FileAccess.Read);
        byte[] buffer = new byte[16];

        Exception dotnet = await Catch(() => RandomAccess.WriteAsync(h, buffer, 0));
        Assert.IsType<UnauthorizedAccessException>(dotnet);
        SameFailure(dotnet, await Catch(() => file.WriteAsync(buffer, 0)));
        SameFailure(dotnet, await Catch(() => UringRandomAccess.WriteAsync(h, buffer, 0)));
        SameFailure(dotnet, await Catch(() => Engine.WriteAsync(h, buffer, 0)));
        SameFailure(await Catch(() => RandomAccess.WriteAsync(h, new ReadOnlyMemory<byte>[] { buffer }, 0)), await Catch(() => file.WriteAsync(new ReadOnlyMemory<byte>[] { buffer }, 0)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_missing_file_throws_FileNotFoundException_with_the_full_path(bool relative)
    {
        string path = relative ? Path.GetRelativePath(Environment.CurrentDirectory, Path.Combine(_dir, "missing")) : Path.Combine(_dir, "missing");
        Exception dotnet = Catch(() => File.OpenHandle(path).Dispose());
        FileNotFoundException e = Assert.IsType<FileNotFoundException>(dotnet);
        Assert.Equal(Path.Combine(_dir, "missing"), e.FileName);

        Exception library = await Catch(() => UringFile.OpenAsync(Engine, path, FileMode.Open, FileAccess.Read));
        SameFailure(dotnet, library);
        Assert.Equal(E.ENOENT, Assert.IsType<IoUringException>(library.InnerException).Errno);
        SameFailure(Catch(() => File.GetAttributes(path)), await Catch(() => Engine.StatAsync(path)));
    }

    [Theory]
    [InlineData(FileMode.Open, FileAccess.Read)]
    [InlineData(FileMode.OpenOrCreate, FileAccess.ReadWrite)]
    [InlineData(FileMode.Create, FileAccess.Write)]
    [InlineData(FileMode.CreateNew, FileAccess.Write)]
    public async Task A_missing_directory_throws_DirectoryNotFoundException(FileMode mode, FileAccess access)
    {
        string path = Path.Combine(_dir, "no-such-dir", "file");
        Exception dotnet = Catch(() => File.OpenHandle(path, mode, access).Dispose());
        Assert.IsType<DirectoryNotFoundException>(dotnet);
        SameFailure(dotnet, await Catch(() => UringFile.OpenAsync(Engine, path, mode, access)));
        SameFailure(dotnet, await Catch(() => Engine.OpenAsync(path, access == FileAccess.Read ? 0 : 0x42)));
        SameFailure(Catch(() => File.GetAttributes(path)), await Catch(() => Engine.StatAsync(path)));
    }

    [Fact]
    public async Task A_file_used_as_a_directory_throws_DirectoryNotFoundException()
    {
        string path = Path.Combine(_file, "child");
        Exception dotnet = Catch(() => File.OpenHandle(path).Dispose());
        Assert.IsType<DirectoryNotFoundException>(dotnet);
        SameFailure(dotnet, await Catch(() => UringFile.OpenAsync(Engine, path, FileMode.Open, FileAccess.Read)));
    }

    [Fact]
    public async Task CreateNew_on_an_existing_file_throws_IOException_with_the_NET_message()
    {
        Exception dotnet = Catch(() => File.OpenHandle(_file, FileMode.CreateNew, FileAccess.Write).Dispose());
        Assert.Equal(typeof(IOException), dotnet.GetType());
        Exception library = await Catch(() => UringFile.OpenAsync(Engine, _file, FileMode.CreateNew, FileAccess.Write));
        SameFailure(dotnet, library);
        Assert.Equal(E.EEXIST, ((IoUringException)library).Errno);
    }

    [Theory]
    [InlineData(FileAccess.Read)]
    [InlineData(FileAccess.Write)]
    [InlineData(FileAccess.ReadWrite)]
    public async Task Opening_a_directory_fails_at_open_with_UnauthorizedAccessException(FileAccess access)
    {
        Exception dotnet = Catch(() => File.OpenHandle(_dir, FileMode.Open, access).Dispose());
        Assert.IsType<UnauthorizedAccessException>(dotnet);
        Exception library = await Catch(() => UringFile.OpenAsync(Engine, _dir, FileMode.Open, access));
        SameFailure(dotnet, library);
        Assert.Equal(E.EISDIR, Assert.IsType<IoUringException>(library.InnerException).Errno);
        Assert.Equal(0, OpenDescriptorsOn(_dir));
    }

    [Fact]
    public async Task A_name_too_long_throws_PathTooLongException()
    {
        string path = Path.Combine(_dir, new string('n', 300));
        Exception dotnet = Catch(() => File.OpenHandle(path).Dispose());
        Assert.IsType<PathTooLongException>(dotnet);
        SameFailure(dotnet, await Catch(() => UringFile.OpenAsync(Engine, path, FileMode.Open, FileAccess.Read)));
    }

    [Fact]
    public async Task A_symbolic_link_loop_throws_an_IOException()
    {
        string loop = Path.Combine(_dir, "loop");
        File.CreateSymbolicLink(loop, loop);
        Exception dotnet = Catch(() => File.OpenHandle(loop).Dispose());
        Exception library = await Catch(() => UringFile.OpenAsync(Engine, loop, FileMode.Open, FileAccess.Read));
        SameFailure(dotnet, library, compareMessage: false);
        Assert.Contains(loop, library.Message, StringComparison.Ordinal);
        Assert.Contains("ELOOP", library.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_paths_are_refused_with_the_same_argument_exceptions()
    {
        SameFailure(Catch(() => File.OpenHandle(null!).Dispose()), await Catch(() => UringFile.OpenAsync(Engine, null!, FileMode.Open, FileAccess.Read)));
        SameFailure(Catch(() => File.OpenHandle(string.Empty).Dispose()), await Catch(() => UringFile.OpenAsync(Engine, string.Empty, FileMode.Open, FileAccess.Read)));
        SameFailure(Catch(() => File.OpenHandle("a\0b").Dispose()), await Catch(() => UringFile.OpenAsync(Engine, "a\0b", FileMode.Open, FileAccess.Read)));
    }

    [Fact]
    public async Task Bad_modes_and_access_are_refused_with_the_same_argument_exceptions()
    {
        SameFailure(Catch(() => File.OpenHandle(_file, (FileMode)99, FileAccess.Read).Dispose()), await Catch(() => UringFile.OpenAsync(Engine, _file, (FileMode)99, FileAccess.Read)));
        SameFailure(Catch(() => File.OpenHandle(_file, FileMode.Open, (FileAccess)99).Dispose()), await Catch(() => UringFile.OpenAsync(Engine, _file, FileMode.Open, (FileAccess)99)));
        foreach (FileMode mode in new[] { FileMode.Truncate, FileMode.Create, FileMode.CreateNew })
        {
            SameFailure(Catch(() => File.OpenHandle(_file, mode, FileAccess.Read).Dispose()), await Catch(() => UringFile.OpenAsync(Engine, _file, mode, FileAccess.Read)));
        }
    }

    [Fact]
    public async Task A_closed_handle_throws_ObjectDisposedException_saying_the_file_is_closed()
    {
        SafeFileHandle closed = File.OpenHandle(_file);
        closed.Dispose();
        byte[] buffer = new byte[1];
        SameFailure(await Catch(() => RandomAccess.ReadAsync(closed, buffer, 0)), await Catch(() => UringRandomAccess.ReadAsync(closed, buffer, 0)));
        SameFailure(await Catch(() => RandomAccess.WriteAsync(closed, buffer, 0)), await Catch(() => UringRandomAccess.WriteAsync(closed, buffer, 0)));
        SameFailure(Catch(() => new FileStream(closed, FileAccess.Read).Dispose()), Catch(() => UringFile.FromHandle(Engine, closed, FileAccess.Read).Dispose()), compareMessage: false);
    }

    [Fact]
    public async Task A_disposed_file_throws_ObjectDisposedException_naming_UringFile()
    {
        var stream = new FileStream(_file, FileMode.Open, FileAccess.Read);
        stream.Dispose();
        UringFile file = await UringFile.OpenAsync(Engine, _file, FileMode.Open, FileAccess.Read);
        await file.DisposeAsync();
        UringFile sync = UringFile.Open(Engine, _file, FileMode.Open);
        sync.Dispose();
        byte[] buffer = new byte[1];

        Exception dotnet = await Catch(() => stream.ReadAsync(buffer).AsTask());
        foreach (Exception library in new[]
        {
            await Catch(() => file.ReadAsync(buffer, 0)),
            await Catch(() => sync.ReadAsync(buffer, 0)),
            await Catch(() => file.WriteAsync(buffer, 0)),
            await Catch(() => file.FlushAsync()),
            await Catch(() => file.SetLengthAsync(1)),
            Catch(() => _ = file.Length),
            Catch(() => file.AsStream()),
        })
        {
            SameFailure(dotnet, library, compareMessage: false);
            Assert.StartsWith(dotnet.Message, library.Message, StringComparison.Ordinal);
            Assert.Equal(nameof(UringFile), ((ObjectDisposedException)library).ObjectName);
        }
    }

    [Fact]
    public async Task An_invalid_handle_is_refused_with_ArgumentException()
    {
        using var invalid = new SafeFileHandle(-1, ownsHandle: false);
        byte[] buffer = new byte[1];
        SameFailure(await Catch(() => RandomAccess.ReadAsync(invalid, buffer, 0)), await Catch(() => UringRandomAccess.ReadAsync(invalid, buffer, 0)));
        SameFailure(Catch(() => new FileStream(invalid, FileAccess.Read).Dispose()), Catch(() => UringFile.FromHandle(Engine, invalid).Dispose()));
        SameFailure(await Catch(() => RandomAccess.ReadAsync(null!, buffer, 0)), await Catch(() => UringRandomAccess.ReadAsync(null!, buffer, 0)));
    }

    [Fact]
    public async Task An_offset_past_the_largest_file_fails_with_IOException_and_no_O_DIRECT_hint()
    {
        using SafeFileHandle h = File.OpenHandle(_file, FileMode.Open, FileAccess.ReadWrite);
        await using UringFile file = await UringFile.OpenAsync(Engine, _file, FileMode.Open, FileAccess.ReadWrite);
        byte[] buffer = new byte[16];
        Exception dotnet = await Catch(() => RandomAccess.ReadAsync(h, buffer, long.MaxValue));
        foreach (Exception library in new[]
        {
            await Catch(() => file.ReadAsync(buffer, long.MaxValue)),
            await Catch(() => UringRandomAccess.ReadAsync(h, buffer, long.MaxValue)),
            await Catch(() => file.WriteAsync(buffer, long.MaxValue)),
        })
        {
            SameFailure(dotnet, library, compareMessage: false);
            IoUringException e = Assert.IsType<IoUringException>(library);
            Assert.Equal(E.EINVAL, e.Errno);
            Assert.Contains(_file, e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("O_DIRECT", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task SetLength_fails_like_RandomAccess_SetLength()
    {
        using SafeFileHandle readOnly = File.OpenHandle(_file, FileMode.Open, FileAccess.Read);
        await using UringFile file = await UringFile.OpenAsync(Engine, _file, FileMode.Open, FileAccess.Read);
        SameFailure(Catch(() => RandomAccess.SetLength(readOnly, -1)), await Catch(() => file.SetLengthAsync(-1)), compareMessage: false);
        SameFailure(Catch(() => RandomAccess.SetLength(readOnly, 5)), await Catch(() => file.SetLengthAsync(5)), compareMessage: false);
    }

    // ---- the comparison ----
}
