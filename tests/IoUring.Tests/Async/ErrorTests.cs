using Microsoft.Win32.SafeHandles;

namespace IoUring.Tests.Async;

public sealed class ErrorTests
{
    /// <summary>
    /// Runs <paramref name="io"/> through an engine on a handle opened only for <paramref name="access"/>; it must throw
    /// <see cref="UnauthorizedAccessException"/> with EBADF inside. Returns it and the file's path.
    /// </summary>
    private static async Task<(UnauthorizedAccessException Denied, string Path)> DeniedAsync(FileAccess access, Func<IoUringEngine, SafeFileHandle, Task> io)
    {
        Kernel.RequireIoUring();
        using var file = new TempFile(100);
        using var handle = file.Open(access);
        using var engine = new IoUringEngine();
        UnauthorizedAccessException denied = await Assert.ThrowsAsync<UnauthorizedAccessException>(() => io(engine, handle));
        return (denied, file.Path);
    }

    [Fact]
    public async Task Reading_a_write_only_file_handle_throws_UnauthorizedAccessException_with_EBADF_inside()
    {
        (UnauthorizedAccessException denied, string path) = await DeniedAsync(FileAccess.Write, static async (engine, handle) => await engine.ReadAsync(handle, new byte[10], 0));
        Assert.Equal($"Access to the path '{path}' is denied.", denied.Message);
        BclFailures.AssertErrnoInside(denied, 9, "EBADF", "not opened for reading");
    }

    [Fact]
    public async Task Writing_a_read_only_file_handle_throws_UnauthorizedAccessException_with_EBADF_inside()
    {
        (UnauthorizedAccessException denied, _) = await DeniedAsync(FileAccess.Read, static async (engine, handle) => await engine.WriteAsync(handle, new byte[10], 0));
        BclFailures.AssertErrnoInside(denied, 9, "not opened for writing");
    }

    [UringFact(Opcode.OpenAt)]
    public async Task Opening_a_missing_file_throws_FileNotFoundException_with_the_errno_inside()
    {
        using var engine = new IoUringEngine();
        string path = Path.Combine(Path.GetTempPath(), $"missing-{Guid.NewGuid():N}");
        FileNotFoundException e = await Assert.ThrowsAsync<FileNotFoundException>(async () => await engine.OpenAsync(path, 0));
        Assert.Equal(path, e.FileName);
        BclFailures.AssertErrnoInside(e, 2, "ENOENT");
    }

    [UringFact(Opcode.OpenAt)]
    public async Task Opening_under_a_missing_directory_throws_DirectoryNotFoundException()
    {
        using var engine = new IoUringEngine();
        string path = Path.Combine(Path.GetTempPath(), $"missing-{Guid.NewGuid():N}", "file");
        // ENOENT with a missing parent directory (File.OpenHandle checks the parent the same way); a file used as a
        // directory is ENOTDIR.
        await Assert.ThrowsAsync<DirectoryNotFoundException>(async () => await UringFile.OpenAsync(engine, path, FileMode.Open));
        using var file = new TempFile(1);
        await Assert.ThrowsAsync<DirectoryNotFoundException>(async () => await UringFile.OpenAsync(engine, Path.Combine(file.Path, "x"), FileMode.Open));
    }

    [UringFact(Opcode.OpenAt)]
    public async Task Creating_a_file_that_exists_with_CreateNew_throws_EEXIST()
    {
        using var engine = new IoUringEngine();
        using var file = new TempFile(1);
        IoUringException e = await Assert.ThrowsAsync<IoUringException>(async () =>
            await UringFile.OpenAsync(engine, file.Path, FileMode.CreateNew, FileAccess.Write));
        Assert.Equal(17, e.Errno);
        Assert.Equal($"The file '{file.Path}' already exists.", e.Message);
    }

    [UringFact(Opcode.OpenAt)]
    public async Task Opening_a_directory_for_writing_throws_UnauthorizedAccessException_with_EISDIR_inside()
    {
        using var engine = new IoUringEngine();
        UnauthorizedAccessException denied = await Assert.ThrowsAsync<UnauthorizedAccessException>(async () =>
            await UringFile.OpenAsync(engine, Path.GetTempPath(), FileMode.Open, FileAccess.Write));
        IoUringException e = BclFailures.AssertErrnoInside(denied, 21, "EISDIR");
        Assert.Contains("directory", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [UringFact(Opcode.Statx)]
    public async Task Stat_of_a_missing_path_throws_FileNotFoundException_or_DirectoryNotFoundException_like_File_GetAttributes()
    {
        using var engine = new IoUringEngine();
        await Assert.ThrowsAsync<FileNotFoundException>(async () => await engine.StatAsync(TempFile.NewPath()));
        await Assert.ThrowsAsync<DirectoryNotFoundException>(async () => await engine.StatAsync("/nonexistent/" + Guid.NewGuid()));
    }

    [UringFact(Opcode.OpenAt)]
    public async Task A_misaligned_O_DIRECT_read_throws_EINVAL_with_a_hint()
    {
        using var engine = new IoUringEngine();
        using var file = new TempFile(1 << 16);
        UringFile direct;
        try
        {
            direct = await UringFile.OpenAsync(engine, file.Path, new FileStreamOptions { Mode = FileMode.Open, Options = (FileOptions)0x20000000 });
        }
        catch (IoUringException e) when (e.Errno == 22)
        {
            Assert.Skip("The temp directory's file system does not support O_DIRECT.");
            return;
        }

        await using (direct)
        {
            using var aligned = new NativeBuffer(4096);
            Assert.Equal(4096, await direct.ReadAsync(aligned.Memory, 4096));
            Assert.True(aligned.Span.SequenceEqual(file.Content.AsSpan(4096, 4096)));

            // A file offset that is not a multiple of the logical block size is refused.
            IoUringException e = await Assert.ThrowsAsync<IoUringException>(async () => await direct.ReadAsync(aligned.Memory.Slice(0, 512), 1));
            Assert.Equal(22, e.Errno);
            Assert.Contains("O_DIRECT", e.Message, StringComparison.Ordinal);
        }
    }

    [UringFact]
    public async Task Bad_arguments_throw_before_anything_is_submitted()
    {
        using var engine = new IoUringEngine();
        using var file = new TempFile(100);
        using var handle = file.Open();
        Assert.Throws<ArgumentOutOfRangeException>(() => engine.ReadAsync(handle, new byte[1], -2));
        Assert.Throws<ArgumentNullException>(() => engine.ReadAsync(null!, new byte[1], 0));
        Memory<byte>[] tooMany = Enumerable.Range(0, IoUringEngine.MaxIoVecs + 1).Select(_ => (Memory<byte>)new byte[1]).ToArray();
        Assert.Throws<ArgumentException>(() => engine.ReadAsync(handle, tooMany, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => engine.AllocateAsync(handle, 0, 0));

        var closed = file.Open();
        closed.Dispose();
        Assert.Throws<ObjectDisposedException>(() => engine.ReadAsync(closed, new byte[1], 0));
        Assert.Equal(0, engine.OperationsInFlight);

        // Nothing leaked: the engine still works.
        Assert.Equal(100, await engine.ReadAsync(handle, new byte[100], 0));
    }

    [UringFact]
    public async Task Awaiting_an_operation_twice_is_refused_without_disturbing_other_operations()
    {
        using var engine = new IoUringEngine();
        ValueTask nop = engine.NopAsync();
        await nop;
        ValueTask again = nop;
        InvalidOperationException e = await Assert.ThrowsAsync<InvalidOperationException>(async () => await again);
        Assert.Contains("awaited only once", e.Message, StringComparison.Ordinal);
        Assert.Contains("AsTask", e.Message, StringComparison.Ordinal);

        // Every way of touching the consumed ValueTask says the same, not ManualResetValueTaskSourceCore's generic text.
        Assert.Contains("awaited only once", Assert.Throws<InvalidOperationException>(() => again.IsCompleted).Message, StringComparison.Ordinal);
        Assert.Contains("awaited only once", Assert.Throws<InvalidOperationException>(() => again.GetAwaiter().OnCompleted(static () => { })).Message, StringComparison.Ordinal);
        Assert.Contains("awaited only once", Assert.Throws<InvalidOperationException>(() => again.GetAwaiter().GetResult()).Message, StringComparison.Ordinal);
        await engine.NopAsync();
    }

    [Fact]
    public void The_engine_cannot_be_created_with_a_bad_queue_size()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new IoUringEngine(new IoUringEngineOptions { QueueEntries = 0 }));
    }

    [UringFact]
    public async Task A_closed_handle_of_an_adopted_file_throws_ObjectDisposedException()
    {
        using var engine = new IoUringEngine();
        using var temp = new TempFile(10);
        SafeFileHandle h = temp.Open();
        using var file = UringFile.FromHandle(engine, h, FileAccess.Read);

        // The file's fixed-slot install holds a reference on the handle until the loop has run it (like any pending
        // op would), so the descriptor closes only then; wait for it so the read below meets a closed handle.
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!file.FixedFileSettled && DateTime.UtcNow < deadline)
        {
            await Task.Delay(5);
        }

        h.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await file.ReadAsync(new byte[1], 0));
    }
}
