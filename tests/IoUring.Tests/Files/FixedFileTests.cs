namespace IoUring.Tests.Files;

/// <summary>Files on an engine use its registered-file table (IOSQE_FIXED_FILE) and give their slot back when closed.</summary>
public sealed class FixedFileTests
{
    private static readonly TimeSpan Patience = Wait.Scaled(TimeSpan.FromSeconds(20));

    [Fact]
    public async Task A_file_on_an_engine_gets_a_fixed_slot_and_its_io_returns_the_right_bytes()
    {
        using IoUringEngine engine = EngineWithFixedFiles();

        Assert.Equal(1024, engine.FixedFileSlots);
        using var temp = new TempFile(64 * 1024, seed: 7, shortName: true);
        UringFile file = UringFile.FromHandle(engine, temp.Open(FileAccess.ReadWrite), FileAccess.ReadWrite, ownsHandle: true);
        await WaitSettled(file);
        int slot = file.FixedFileSlot;
        Assert.InRange(slot, 0, engine.FixedFileSlots - 1);
        Assert.Contains(slot, TableEntries(engine, temp.Path));

        // Reads, gathers, writes, flushes and truncation all go through the slot.
        var back = new byte[temp.Content.Length];
        Assert.Equal(back.Length, await file.ReadAsync(back, 0));
        Assert.Equal(temp.Content, back);

        var a = new byte[100];
        var b = new byte[900];
        Assert.Equal(1000, await file.ReadAsync(new Memory<byte>[] { a, b }, 5000));
        Assert.Equal(temp.Content.AsSpan(5000, 100).ToArray(), a);
        Assert.Equal(temp.Content.AsSpan(5100, 900).ToArray(), b);

        byte[] data = TestData.Bytes(10_000, 8);
        await file.WriteAsync(data, 100_000);
        await file.WriteAsync(new ReadOnlyMemory<byte>[] { data.AsMemory(0, 10), data.AsMemory(10, 20) }, 200_000);
        await file.FlushAsync();
        await file.SetLengthAsync(200_030);
        Assert.Equal(200_030, file.Length);
        Assert.Equal(slot, file.FixedFileSlot);

        await file.DisposeAsync();
        Assert.Equal(-1, file.FixedFileSlot);
        Assert.DoesNotContain(slot, TableEntries(engine, temp.Path));

        byte[] onDisk = File.ReadAllBytes(temp.Path);
        Assert.Equal(data, onDisk.AsSpan(100_000, 10_000).ToArray());
        Assert.Equal(data.AsSpan(0, 30).ToArray(), onDisk.AsSpan(200_000, 30).ToArray());
    }

    [Fact]
    public async Task A_request_names_the_slot_not_the_descriptor()
    {
        using IoUringEngine engine = EngineWithFixedFiles(4);

        using var temp = new TempFile(4096, seed: 15, shortName: true);
        using Microsoft.Win32.SafeHandles.SafeFileHandle handle = temp.Open();
        var buffer = new byte[4096];

        // An empty slot fails with EBADF although the descriptor itself is fine: the kernel looked in the table.
        IoUringException e = await Assert.ThrowsAsync<IoUringException>(async () => await engine.ReadAsync(handle, buffer, 0, owner: null, default, fixedSlot: 3));
        Assert.Equal(9, e.Errno); // EBADF

        await using UringFile file = UringFile.FromHandle(engine, handle, FileAccess.Read);
        await WaitSettled(file);
        Assert.Equal(4096, await engine.ReadAsync(handle, buffer, 0, owner: null, default, fixedSlot: file.FixedFileSlot));
        Assert.Equal(temp.Content, buffer);
    }

    [UringFact(Opcode.OpenAt)]
    public async Task Closing_frees_the_slot_so_more_files_than_slots_can_be_opened_one_after_another()
    {
        using IoUringEngine engine = EngineWithFixedFiles(2);

        using var temp = new TempFile(8192, seed: 9, shortName: true);
        var back = new byte[8192];
        for (int i = 0; i < 12; i++)
        {
            // Alternate the ways of opening and of closing: each must give its slot back.
            UringFile file = i % 3 == 0
                ? await UringFile.OpenAsync(engine, temp.Path, FileMode.Open)
                : UringFile.Open(engine, temp.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            await WaitSettled(file);
            Assert.True(file.FixedFileSlot >= 0, $"file {i} got no slot: an earlier file did not free its own");
            Assert.Equal(back.Length, await file.ReadAsync(back, 0));
            Assert.Equal(temp.Content, back);
            if (i % 2 == 0)
            {
                await file.DisposeAsync();
            }
            else
            {
                int slot = file.FixedFileSlot;
                file.Dispose();
                Assert.Equal(-1, file.FixedFileSlot);
                await WaitUntil(() => !TableEntries(engine, temp.Path).Contains(slot), "the slot of a disposed file is still taken");
            }
        }

        Assert.Empty(TableEntries(engine, temp.Path));
    }

    [Fact]
    public async Task When_the_table_is_full_a_file_falls_back_to_its_plain_descriptor()
    {
        using IoUringEngine engine = EngineWithFixedFiles(2);

        using var temp = new TempFile(4096, seed: 10, shortName: true);
        var files = new List<UringFile>();
        try
        {
            for (int i = 0; i < 4; i++)
            {
                UringFile f = UringFile.FromHandle(engine, temp.Open(), FileAccess.Read, ownsHandle: true);
                files.Add(f);
                await WaitSettled(f);
            }

            Assert.Equal([0, 1], files.Take(2).Select(f => f.FixedFileSlot).Order().ToArray());
            Assert.All(files.Skip(2), f => Assert.Equal(-1, f.FixedFileSlot));

            // Every file reads correctly, in slot or not, also all at once.
            var tasks = files.Select(async f =>
            {
                var buffer = new byte[4096];
                int n = await f.ReadAsync(buffer, 0);
                return (n, buffer);
            }).ToArray();
            foreach (var (n, buffer) in await Task.WhenAll(tasks))
            {
                Assert.Equal(4096, n);
                Assert.Equal(temp.Content, buffer);
            }

            // A slot freed by one file serves the next one.
            await files[0].DisposeAsync();
            UringFile next = UringFile.FromHandle(engine, temp.Open(), FileAccess.Read, ownsHandle: true);
            files.Add(next);
            await WaitSettled(next);
            Assert.True(next.FixedFileSlot >= 0);
        }
        finally
        {
            foreach (UringFile f in files)
            {
                await f.DisposeAsync();
            }
        }
    }

    [UringFact]
    public async Task A_file_on_a_group_puts_its_descriptor_in_every_engines_table_and_frees_them_at_close()
    {
        using var group = new IoUringEngineGroup(2);
        using var temp = new TempFile(4096, seed: 11, shortName: true);
        UringFile file = UringFile.FromHandle(group, temp.Open(), FileAccess.Read, ownsHandle: true);
        await WaitUntil(() => file.FixedFileSettled, "the file's fixed-slot installs never completed");
        Assert.All(group.Engines, e => Assert.True(file.FixedFileSlotOn(e) >= 0, $"no slot on engine {e.Id}"));

        // Each engine's requests name that engine's slot.
        foreach (IoUringEngine e in group.Engines)
        {
            var buffer = new byte[4096];
            int slot = file.FixedFileSlotOn(e);
            Assert.Equal(4096, await e.ReadAsync(file.Handle, buffer, 0, owner: null, default, fixedSlot: slot));
            Assert.Equal(temp.Content, buffer);
        }

        var read = new byte[4096];
        Assert.Equal(4096, await file.ReadAsync(read, 0));
        Assert.Equal(temp.Content, read);

        await file.DisposeAsync();
        Assert.All(group.Engines, e => Assert.Equal(-1, file.FixedFileSlotOn(e)));
        Assert.True(file.Handle.IsClosed);
    }

    [UringFact]
    public async Task Fixed_files_can_be_turned_off()
    {
        using var engine = new IoUringEngine(new IoUringEngineOptions { FixedFileSlots = 0 });
        Assert.Equal(0, engine.FixedFileSlots);
        using var temp = new TempFile(4096, seed: 12, shortName: true);
        await using UringFile file = UringFile.FromHandle(engine, temp.Open(), FileAccess.Read, ownsHandle: true);
        var buffer = new byte[4096];
        Assert.Equal(4096, await file.ReadAsync(buffer, 0));
        Assert.Equal(temp.Content, buffer);
        Assert.Equal(-1, file.FixedFileSlot);
    }

    [Theory]
    [MemberData(nameof(EngineModes.Both), MemberType = typeof(EngineModes))]
    public async Task Disposing_the_engine_with_files_in_its_table_loses_nothing(ContinuationMode mode)
    {
        var engine = EngineModes.NewEngine(mode);
        using var temp = new TempFile(64 * 1024, seed: 13, shortName: true);
        var files = new List<UringFile>();
        for (int i = 0; i < 8; i++)
        {
            files.Add(UringFile.FromHandle(engine, temp.Open(), FileAccess.Read, ownsHandle: true));
        }

        foreach (UringFile f in files)
        {
            await WaitSettled(f);
            if (engine.FixedFileSlots > 0)
            {
                Assert.True(f.FixedFileSlot >= 0);
            }
        }

        // Reads in flight while the engine goes away: each either completes with the right bytes or is refused.
        var reads = files.Select(async f =>
        {
            var buffer = new byte[64 * 1024];
            try
            {
                int n = await f.ReadAsync(buffer, 0);
                Assert.Equal(temp.Content.AsSpan(0, n).ToArray(), buffer.AsSpan(0, n).ToArray());
            }
            catch (ObjectDisposedException)
            {
            }
            catch (OperationCanceledException)
            {
            }
        }).ToArray();
        engine.Dispose();
        await Task.WhenAll(reads).WaitAsync(Patience);
        Assert.Equal(0, engine.AbandonedOperations);

        // Closing afterwards works both ways and closes the descriptors.
        for (int i = 0; i < files.Count; i++)
        {
            if (i % 2 == 0)
            {
                files[i].Dispose();
            }
            else
            {
                await files[i].DisposeAsync().AsTask().WaitAsync(Patience);
            }

            Assert.True(files[i].Handle.IsClosed);
            await Assert.ThrowsAsync<ObjectDisposedException>(async () => await files[i].ReadAsync(new byte[1], 0));
        }
    }

    [Fact]
    public async Task A_sync_dispose_with_reads_in_flight_frees_the_slot_after_they_complete()
    {
        using IoUringEngine engine = EngineWithFixedFiles(1);

        using var temp = new TempFile(256 * 1024, seed: 14, shortName: true);
        for (int round = 0; round < 20; round++)
        {
            UringFile file = UringFile.FromHandle(engine, temp.Open(), FileAccess.Read, ownsHandle: true);
            await WaitSettled(file);
            Assert.Equal(0, file.FixedFileSlot);
            var buffers = Enumerable.Range(0, 16).Select(_ => new byte[16 * 1024]).ToArray();
            ValueTask<int>[] reads = buffers.Select((b, k) => file.ReadAsync(b, k * 16 * 1024)).ToArray();
            file.Dispose();
            for (int k = 0; k < reads.Length; k++)
            {
                Assert.Equal(16 * 1024, await reads[k]);
                Assert.Equal(temp.Content.AsSpan(k * 16 * 1024, 16 * 1024).ToArray(), buffers[k]);
            }

            await WaitUntil(() => TableEntries(engine, temp.Path).Count == 0, "the only slot was not freed after the reads drained");
        }
    }

    [Fact]
    public async Task A_request_on_a_fixed_slot_holds_no_handle_reference_and_keeps_working_on_the_registered_file()
    {
        using IoUringEngine engine = EngineWithFixedFiles();

        using var pipe = new TestPipe();
        FdWatch readEnd = Fds.Watch(pipe.ReadFd);
        UringFile file = UringFile.FromHandle(engine, pipe.Read, FileAccess.Read);
        await WaitSettled(file);
        Assert.True(file.FixedFileSlot >= 0);

        var buffer = new byte[16];
        Task<int> read = file.ReadAsync(buffer, 0).AsTask();
        await WaitUntil(() => engine.OperationsInFlight == 1, "the read is in the kernel");

        // The request names the slot, whose table entry holds the kernel's own reference on the pipe: it took no
        // reference on the handle, so closing the handle closes the descriptor at once (no deferred close) ...
        pipe.CloseReadEnd();
        readEnd.AssertClosed();

        // ... and the read still completes from the same pipe.
        pipe.Put([7, 8, 9]);
        Assert.Equal(3, await read.WaitAsync(Patience));
        Assert.Equal(new byte[] { 7, 8, 9 }, buffer[..3]);

        // New requests on the closed handle are refused, as with a reference.
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await file.ReadAsync(buffer, 0));
        await file.DisposeAsync();
    }

    /// <summary>An engine with a registered-file table of <paramref name="slots"/> slots; skips where the kernel cannot register one.</summary>
    private static IoUringEngine EngineWithFixedFiles(uint slots = 1024)
    {
        Kernel.RequireIoUring();
        var engine = new IoUringEngine(new IoUringEngineOptions { FixedFileSlots = slots });
        if (engine.FixedFileSlots == 0)
        {
            engine.Dispose();
            Assert.Skip("The kernel registers no sparse file table (needs 5.19).");
        }

        return engine;
    }

    private static async Task WaitSettled(UringFile file) =>
        await WaitUntil(() => file.FixedFileSettled, "the file's fixed-slot install never completed");

    private static async Task WaitUntil(Func<bool> condition, string message)
    {
        DateTime deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, message);
            await Task.Delay(5);
        }
    }

    /// <summary>The slots of the engine's registered-file table that hold <paramref name="path"/>, from the ring's fdinfo.</summary>
    private static List<int> TableEntries(IoUringEngine engine, string path)
    {
        // Older kernels (6.1, 6.12) list the table only when they can take the ring's lock at that moment (a
        // trylock): read again until they do.
        for (int attempt = 0; attempt < 200; attempt++)
        {
            List<int>? slots = TryTableEntries(engine, path);
            if (slots is not null)
            {
                return slots;
            }

            Thread.Sleep(10);
        }

        Assert.Skip($"This kernel ({IoUringSupport.KernelRelease()}) never listed the registered-file table in the ring's fdinfo (it does so only when it can take the ring's lock).");
        return null!;
    }

    private static List<int>? TryTableEntries(IoUringEngine engine, string path)
    {
        var slots = new List<int>();
        bool inFiles = false;
        int listed = 0;
        int count = 0;
        foreach (string line in File.ReadAllLines($"/proc/self/fdinfo/{engine.RingFd}"))
        {
            if (line.StartsWith("UserFiles:", StringComparison.Ordinal))
            {
                inFiles = true;
                _ = int.TryParse(line.AsSpan("UserFiles:".Length).Trim(), out count);
                continue;
            }

            if (!inFiles)
            {
                continue;
            }

            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0 || !int.TryParse(line.AsSpan(0, colon).Trim(), out int slot))
            {
                break;
            }

            listed++;

            // Newer kernels print the path; 6.1 prints only the name (the dentry's d_iname: hence the tests' short names).
            string shown = line[(colon + 1)..].Trim();
            if (shown == path || shown == Path.GetFileName(path))
            {
                slots.Add(slot);
            }
        }

        // Older kernels print every slot ("<none>" when empty) when they hold the lock and none when they do not;
        // newer ones print only the filled slots, so an empty listing is an answer there.
        return count > 0 && listed == 0 && !Kernel.AtLeast(6, 13) ? null : slots;
    }
}
