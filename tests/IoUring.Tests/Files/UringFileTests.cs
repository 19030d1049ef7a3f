namespace IoUring.Tests.Files;

public sealed class UringFileTests
{
    [UringFact(Opcode.OpenAt)]
    public async Task A_file_created_through_io_uring_can_be_written_flushed_read_and_closed()
    {
        using var engine = new IoUringEngine();
        string path = TempFile.NewPath("file");
        try
        {
            byte[] data = TestData.Bytes(100_000, 1);
            UringFile file = await UringFile.OpenAsync(engine, path, FileMode.CreateNew, FileAccess.ReadWrite);
            Assert.Equal(path, file.Path);
            Assert.Equal(FileAccess.ReadWrite, file.Access);
            await file.WriteAsync(data, 0);
            await file.FlushAsync();
            await file.FlushAsync(dataOnly: true);
            Assert.Equal(data.Length, file.Length);
            Assert.Equal(data.Length, await file.GetLengthAsync());

            var back = new byte[data.Length];
            Assert.Equal(data.Length, await file.ReadAsync(back, 0));
            Assert.Equal(data, back);

            int fd = (int)file.Handle.DangerousGetHandle();
            await file.DisposeAsync();
            Assert.True(file.IsClosed);
            Assert.True(file.Handle.IsClosed);
            Assert.False(FdRefersTo(fd, path), "the descriptor still refers to the file after DisposeAsync");
            Assert.Equal(data, File.ReadAllBytes(path));
            await Assert.ThrowsAsync<ObjectDisposedException>(async () => await file.ReadAsync(back, 0));
            await file.DisposeAsync();
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static bool FdRefersTo(int fd, string path)
    {
        try
        {
            return new FileInfo($"/proc/self/fd/{fd}").LinkTarget == path;
        }
        catch (IOException)
        {
            return false;
        }
    }

    [UringFact(Opcode.OpenAt)]
    public async Task Open_modes_create_truncate_and_refuse_as_open_2_does()
    {
        using var engine = new IoUringEngine();
        using var temp = new TempFile(1000, seed: 2);

        await using (UringFile f = await UringFile.OpenAsync(engine, temp.Path, FileMode.Open))
        {
            Assert.Equal(1000, f.Length);
        }

        await using (UringFile f = await UringFile.OpenAsync(engine, temp.Path, FileMode.OpenOrCreate, FileAccess.Write))
        {
            Assert.Equal(1000, f.Length);
        }

        await using (UringFile f = await UringFile.OpenAsync(engine, temp.Path, FileMode.Truncate, FileAccess.Write))
        {
            Assert.Equal(0, f.Length);
        }

        await using (UringFile f = await UringFile.OpenAsync(engine, temp.Path, FileMode.Create, FileAccess.ReadWrite))
        {
            Assert.Equal(0, f.Length);
        }

        await Assert.ThrowsAsync<ArgumentException>(async () => await UringFile.OpenAsync(engine, temp.Path, FileMode.Append, FileAccess.Write));
        await Assert.ThrowsAsync<ArgumentException>(async () => await UringFile.OpenAsync(engine, temp.Path, FileMode.Create, FileAccess.Read));
        await Assert.ThrowsAsync<ArgumentException>(async () => await UringFile.OpenAsync(engine, temp.Path, new FileStreamOptions { Mode = FileMode.Open, Options = FileOptions.DeleteOnClose }));
    }

    [UringFact(Opcode.OpenAt)]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task A_created_file_gets_the_requested_unix_mode_and_preallocated_space()
    {
        using var engine = new IoUringEngine();
        string path = TempFile.NewPath("file");
        try
        {
            var options = new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                PreallocationSize = 1 << 20,
            };

            await using (UringFile f = await UringFile.OpenAsync(engine, path, options))
            {
                Statx st = await f.StatAsync();
                Assert.Equal(0UL, st.FileSize);
                Assert.True(st.Blocks * 512 >= 1 << 20, $"only {st.Blocks} blocks allocated");
            }

            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Preallocate_and_set_length_change_the_file_as_asked()
    {
        using var opened = new UringTempFile(10, seed: 3, FileAccess.ReadWrite);
        (TempFile temp, UringFile file) = opened;

        await file.PreallocateAsync(0, 64 * 1024, keepSize: true);
        Assert.Equal(10, file.Length);
        await file.PreallocateAsync(0, 64 * 1024);
        Assert.Equal(64 * 1024, file.Length);
        await file.SetLengthAsync(5);
        Assert.Equal(5, file.Length);
        await file.SetLengthAsync(100_000);
        Assert.Equal(100_000, await file.GetLengthAsync());

        var head = new byte[10];
        Assert.Equal(10, await file.ReadAsync(head, 0));
        Assert.Equal(temp.Content.AsSpan(0, 5).ToArray(), head.AsSpan(0, 5).ToArray());
        Assert.All(head.AsSpan(5).ToArray(), b => Assert.Equal(0, b));
    }

    [UringFact(Opcode.Statx)]
    public async Task Stat_by_path_and_by_handle_agree_with_the_file_system()
    {
        using var engine = new IoUringEngine();
        using var temp = new TempFile(12_345, seed: 4);
        Statx byPath = await engine.StatAsync(temp.Path);
        using var handle = temp.Open();
        Statx byHandle = await engine.StatAsync(handle);
        Assert.Equal(12_345UL, byPath.FileSize);
        Assert.Equal(byPath.Inode, byHandle.Inode);
        Assert.Equal(new FileInfo(temp.Path).LastWriteTimeUtc, DateTimeOffset.FromUnixTimeSeconds(byPath.ModifyTime.Seconds).AddTicks(byPath.ModifyTime.Nanoseconds / 100).UtcDateTime);
    }

    [UringFact]
    public async Task DisposeAsync_waits_for_the_files_pending_operations_before_closing()
    {
        using var engine = new IoUringEngine();
        using var pipe = new TestPipe();
        var file = UringFile.FromHandle(engine, pipe.Read, FileAccess.Read, ownsHandle: false);
        var buffer = new byte[4];
        Task<int> read = file.ReadAsync(buffer, 0).AsTask();
        await Wait.UntilAsync(() => engine.OperationsInFlight == 1, "the read is in the kernel");

        Task dispose = file.DisposeAsync().AsTask();
        await Task.Delay(50);
        Assert.False(dispose.IsCompleted, "DisposeAsync returned while an operation was pending");
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await file.ReadAsync(buffer, 0));

        pipe.Put([1, 2, 3, 4]);
        Assert.Equal(4, await read);
        await dispose;
        Assert.False(pipe.Read.IsClosed, "a file that does not own its handle closed it");
    }

    [UringFact]
    public async Task Dispose_of_an_owning_file_closes_the_handle_once_pending_reads_finish()
    {
        // Without registered-file slots a request names the descriptor, so it holds a reference to the handle.
        using var engine = new IoUringEngine(new IoUringEngineOptions { FixedFileSlots = 0 });
        using var pipe = new TestPipe();
        var file = UringFile.FromHandle(engine, pipe.Read, FileAccess.Read, ownsHandle: true);
        Task<int> read = file.ReadAsync(new byte[1], 0).AsTask();
        await Wait.UntilAsync(() => engine.OperationsInFlight == 1, "the read is in the kernel");
        file.Dispose();
        Assert.False(pipe.Read.IsClosed);
        pipe.Put([9]);
        Assert.Equal(1, await read);
        Assert.True(pipe.Read.IsClosed);
    }

    [UringFact]
    public async Task Dispose_of_an_owning_file_on_a_registered_slot_closes_the_descriptor_at_once_and_the_pending_read_still_completes()
    {
        // A request on the file's registered slot holds the kernel's own reference to the file (the slot's), not the
        // descriptor number: the number can go at once without being reused under the request.
        using var engine = new IoUringEngine();
        using var pipe = new TestPipe();
        var file = UringFile.FromHandle(engine, pipe.Read, FileAccess.Read, ownsHandle: true);
        Task<int> read = file.ReadAsync(new byte[1], 0).AsTask();
        await Wait.UntilAsync(() => engine.OperationsInFlight == 1, "the read is in the kernel");
        file.Dispose();
        pipe.Put([9]);
        Assert.Equal(1, await read.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
        Assert.True(pipe.Read.IsClosed);
    }

    [Fact]
    public async Task The_stream_adapter_reads_writes_and_seeks_like_a_FileStream()
    {
        using var opened = new UringTempFile(300_000, seed: 5, FileAccess.ReadWrite);
        (TempFile temp, UringFile file) = opened;
        await using Stream stream = file.AsStream();
        Assert.True(stream.CanRead && stream.CanWrite && stream.CanSeek);
        Assert.Equal(300_000, stream.Length);

        var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        Assert.Equal(temp.Content, copy.ToArray());
        Assert.Equal(300_000, stream.Position);
        Assert.Equal(0, await stream.ReadAsync(new byte[10]));

        stream.Position = 1000;
        byte[] patch = [1, 2, 3, 4, 5];
        await stream.WriteAsync(patch);
        Assert.Equal(1005, stream.Position);
        stream.Seek(-5, SeekOrigin.Current);
        var back = new byte[5];
        Assert.Equal(5, await stream.ReadAsync(back));
        Assert.Equal(patch, back);

        stream.Seek(-10, SeekOrigin.End);
        Assert.Equal(10, stream.Read(new byte[20], 0, 20));
        stream.Position = 0;
        stream.Write([7], 0, 1);
        stream.Position = 0;
        Assert.Equal(7, stream.ReadByte());
        Assert.Throws<IOException>(() => stream.Seek(-1, SeekOrigin.Begin));
        stream.SetLength(2000);
        Assert.Equal(2000, file.Length);
        await stream.FlushAsync();
    }

    [Fact]
    public async Task A_read_only_stream_refuses_writes()
    {
        using var opened = new UringTempFile(100);
        UringFile file = opened.File;
        Stream stream = file.AsStream(leaveOpen: false);
        Assert.False(stream.CanWrite);
        await Assert.ThrowsAsync<NotSupportedException>(async () => await stream.WriteAsync(new byte[1]));
        Assert.Throws<NotSupportedException>(() => stream.Write(new byte[1]));
        await stream.DisposeAsync();
        Assert.True(file.IsClosed);
        Assert.Throws<ObjectDisposedException>(() => stream.Position);
    }

    [UringFact]
    public async Task A_file_on_an_engine_group_works_from_many_threads()
    {
        using var group = new IoUringEngineGroup(2);
        using var temp = new TempFile(1 << 20, seed: 6);
        using UringFile file = UringFile.Open(group, temp.Path, FileMode.Open);
        await Task.WhenAll(Enumerable.Range(0, 16).Select(t => Task.Run(async () =>
        {
            var buffer = new byte[4096];
            for (int i = 0; i < 100; i++)
            {
                int offset = ((t * 100) + i) % 256 * 4096;
                Assert.Equal(4096, await file.ReadAsync(buffer, offset));
                Assert.True(buffer.AsSpan().SequenceEqual(temp.Content.AsSpan(offset, 4096)));
            }
        })));

        await using UringFile opened = await UringFile.OpenAsync(group, temp.Path, new FileStreamOptions { Mode = FileMode.Open });
        Assert.Equal(1 << 20, opened.Length);
    }
}
