// The operations under test take their own tokens (or none, on purpose); the test's token would change what is tested.
#pragma warning disable xUnit1051

using Microsoft.Win32.SafeHandles;

namespace IoUring.Tests.Async;

/// <summary>The engine's registered buffers: fixed-buffer reads and writes, renting, giving back, and teardown.</summary>
public sealed class EngineRegisteredBufferTests
{
    private static IoUringEngine Engine(int count = 4, int size = 8192) =>
        new(new IoUringEngineOptions { RegisteredBufferCount = count, RegisteredBufferSize = size });

    [UringFact(Opcode.ReadFixed)]
    public async Task Reads_and_writes_into_registered_buffers_go_out_as_fixed_requests_and_move_the_right_bytes()
    {
        using var temp = new TempFile(64 * 1024, seed: 11);
        using IoUringEngine engine = Engine();
        Assert.Null(engine.RegisteredBuffersError);
        Assert.Equal(4, engine.RegisteredBufferCount);
        using UringFile file = UringFile.Open(engine, temp.Path, FileMode.Open, FileAccess.ReadWrite);
        using RegisteredBuffer buffer = engine.RentRegisteredBuffer();
        Assert.Equal(8192, buffer.Length);

        // Every read a ring request (none served from the page cache on the spot), so each one counts.
        await using var busy = new BusyEngine(engine);

        // A whole buffer and a slice of one, at offsets that are not multiples of the buffer size.
        Assert.Equal(8192, await file.ReadAsync(buffer.Memory, 12_345));
        Assert.Equal(temp.Content.AsSpan(12_345, 8192).ToArray(), buffer.Memory.ToArray());
        Assert.Equal(100, await file.ReadAsync(buffer.Memory.Slice(1000, 100), 7));
        Assert.Equal(temp.Content.AsSpan(7, 100).ToArray(), buffer.Memory.Slice(1000, 100).ToArray());

        byte[] data = TestData.Bytes(3000, seed: 12);
        data.CopyTo(buffer.Memory.Span[500..]);
        await file.WriteAsync(buffer.Memory.Slice(500, 3000), 40_000);
        byte[] onDisk = File.ReadAllBytes(temp.Path);
        Assert.Equal(data, onDisk.AsSpan(40_000, 3000).ToArray());

        Assert.Equal(3, engine.FixedBufferRequests);

        // Ordinary memory still goes out as an ordinary request.
        Assert.Equal(16, await file.ReadAsync(new byte[16], 0));
        Assert.Equal(3, engine.FixedBufferRequests);
    }

    [UringFact(Opcode.ReadFixed)]
    public async Task A_buffer_of_another_engine_is_read_into_with_an_ordinary_request()
    {
        using var temp = new TempFile(16 * 1024, seed: 13);
        using IoUringEngine owner = Engine();
        using IoUringEngine other = new();
        using RegisteredBuffer buffer = owner.RentRegisteredBuffer();
        using SafeFileHandle handle = temp.Open();

        Assert.Equal(8192, await other.ReadAsync(handle, buffer.Memory, 4096));
        Assert.Equal(temp.Content.AsSpan(4096, 8192).ToArray(), buffer.Memory.ToArray());
        Assert.Equal(0, other.FixedBufferRequests);
        Assert.Same(owner, buffer.Engine);
    }

    [UringFact]
    public void Renting_beyond_the_pool_throws_and_giving_one_back_makes_it_available()
    {
        using IoUringEngine engine = Engine(count: 3);
        RegisteredBuffer[] all = [engine.RentRegisteredBuffer(), engine.RentRegisteredBuffer(), engine.RentRegisteredBuffer()];
        Assert.Equal(3, all.Select(b => b.Index).Distinct().Count());
        Assert.Equal(0, engine.AvailableRegisteredBuffers);
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => engine.RentRegisteredBuffer());
        Assert.Contains("All 3 registered buffers are rented", e.Message);
        Assert.False(engine.TryRentRegisteredBuffer(out RegisteredBuffer? none));
        Assert.Null(none);

        ((IDisposable)all[1]).Dispose();
        ((IDisposable)all[1]).Dispose(); // twice is harmless
        Assert.Equal(1, engine.AvailableRegisteredBuffers);
        Assert.Throws<ObjectDisposedException>(() => all[1].GetSpan());
        Assert.True(engine.TryRentRegisteredBuffer(out RegisteredBuffer? again));
        Assert.Equal(all[1].Index, again.Index);
    }

    [UringFact(Opcode.ReadFixed)]
    public async Task A_buffer_given_back_while_a_read_into_it_is_in_flight_returns_to_the_pool_only_when_the_read_completes()
    {
        using IoUringEngine engine = Engine(count: 2);
        using var pipe = new TestPipe();
        RegisteredBuffer buffer = engine.RentRegisteredBuffer();
        Task<int> read = engine.ReadAsync(pipe.Read, buffer.Memory[..64], -1).AsTask();
        await Wait.UntilAsync(() => engine.OperationsInFlight == 1, "the read is in the kernel");

        ((IDisposable)buffer).Dispose();

        // Still held by the kernel's request: nobody can rent it and get bytes written under them.
        Assert.Equal(1, engine.AvailableRegisteredBuffers);
        pipe.Put([1, 2, 3]);
        Assert.Equal(3, await read.WaitAsync(Wait.Patience));
        Assert.Equal(2, engine.AvailableRegisteredBuffers);
        Assert.Equal(1, engine.FixedBufferRequests);
    }

    [UringFact]
    public void Without_registered_buffers_renting_says_how_to_get_them_and_bad_options_are_refused()
    {
        using var engine = new IoUringEngine();
        Assert.Equal(0, engine.RegisteredBufferCount);
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => engine.RentRegisteredBuffer());
        Assert.Contains("RegisteredBufferCount", e.Message);

        Assert.Throws<ArgumentOutOfRangeException>(() => new IoUringEngine(new IoUringEngineOptions { RegisteredBufferCount = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new IoUringEngine(new IoUringEngineOptions { RegisteredBufferCount = IoUringEngine.MaxRegisteredBuffers + 1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new IoUringEngine(new IoUringEngineOptions { RegisteredBufferCount = 1, RegisteredBufferSize = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new IoUringEngine(new IoUringEngineOptions { RegisteredBufferCount = 4096, RegisteredBufferSize = 1 << 20 }));
    }

    [UringFact]
    public async Task Buffers_rented_when_the_engine_is_disposed_stay_usable_until_given_back()
    {
        IoUringEngine engine = Engine(count: 2);
        RegisteredBuffer kept = engine.RentRegisteredBuffer();
        await engine.DisposeAsync();

        // The memory is still there for the holder; the engine rents no more.
        kept.GetSpan().Fill(0x7E);
        Assert.All(kept.Memory.ToArray(), b => Assert.Equal(0x7E, b));
        Assert.False(engine.TryRentRegisteredBuffer(out _));
        Assert.Throws<ObjectDisposedException>(() => engine.RentRegisteredBuffer());

        // Giving the last one back frees the block; the buffer then refuses access instead of touching freed memory.
        ((IDisposable)kept).Dispose();
        Assert.Throws<ObjectDisposedException>(() => kept.GetSpan());
    }

    [UringFact(Opcode.ReadFixed)]
    public async Task Every_engine_of_a_group_gets_the_groups_registered_buffers_and_file_table_settings()
    {
        using var temp = new TempFile(32 * 1024, seed: 14);
        using var group = new IoUringEngineGroup(2, new IoUringEngineOptions
        {
            RegisteredBufferCount = 3,
            RegisteredBufferSize = 4096,
            FixedFileSlots = 0,
            ThreadName = "grp",
        });

        // Before the fix the group copied only some options: its engines had no registered buffers (and a 1024-slot
        // file table even when 0 was asked for).
        using SafeFileHandle handle = temp.Open();
        foreach (IoUringEngine engine in group.Engines)
        {
            Assert.Equal(3, engine.RegisteredBufferCount);
            Assert.Equal(0, engine.FixedFileSlots);
            using RegisteredBuffer buffer = engine.RentRegisteredBuffer();
            Assert.Equal(4096, await engine.ReadAsync(handle, buffer.Memory, 8192));
            Assert.Equal(temp.Content.AsSpan(8192, 4096).ToArray(), buffer.Memory.ToArray());
            Assert.Equal(1, engine.FixedBufferRequests);
        }
    }
}
