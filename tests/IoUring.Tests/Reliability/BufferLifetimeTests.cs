using IoUring.Interop;
using static IoUring.Tests.RingKit;

namespace IoUring.Tests.Reliability;

/// <summary>
/// Issue 15, item 2: a <see cref="NativeBuffer"/> disposed while a request that uses it is in flight is kept alive
/// until that request's CQE (never freed under the kernel), on the Ring layer (the <see cref="NativeBuffer"/> preps),
/// for registrations and for the async engine (pins of <see cref="NativeBuffer.Memory"/>).
/// </summary>
[Collection(nameof(PinnedForeverCollection))]
public sealed class BufferLifetimeTests
{
    [UringFact]
    public void A_NativeBuffer_disposed_while_its_read_is_in_flight_lives_until_the_CQE_is_reaped()
    {
        using var pipe = new TestPipe();
        using var ring = new Ring(4);
        var buffer = new NativeBuffer(256);
        NativeMemoryBlock block = buffer.Block;
        ring.GetSqe().PrepPipeRead(pipe.ReadFd, buffer, userData: 1);
        Assert.Equal(1, ring.Submit());

        buffer.Dispose();

        Assert.True(buffer.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => buffer.Address);
        Assert.Throws<ObjectDisposedException>(() => buffer.Span.Length);
        Assert.False(block.IsReleased, "the memory was freed while the kernel may still write into it");
        pipe.Put("hello"u8);
        Cqe cqe = ring.WaitCqe();
        Assert.Equal(5, cqe.Res);
        Assert.False(block.IsReleased, "freed before the CQE was reaped");
        ring.CqeSeen(cqe);
        Assert.True(block.IsReleased, "the memory was not given back once its request completed");
    }

    [UringFact]
    public void A_buffer_declared_after_the_ring_is_disposed_first_and_freed_once_the_ring_has_drained_its_read()
    {
        using var pipe = new TestPipe();
        NativeMemoryBlock block = ReadInFlightThenLeaveScope(pipe);
        Assert.True(block.IsReleased, "the memory was not given back after Ring.Dispose drained the read");

        // The kernel let go of the read: data written now stays in the pipe.
        pipe.Put("late"u8);
        Assert.Equal("late"u8.ToArray(), pipe.ReadAvailable());
    }

    private static NativeMemoryBlock ReadInFlightThenLeaveScope(TestPipe pipe)
    {
        // The docs' order: the ring first, so `using` disposes the buffer first, with the read still in flight.
        using var ring = new Ring(4);
        using var buffer = new NativeBuffer(4096);
        ring.NextSqe(9).PrepRead(pipe.ReadFd, buffer, offset: ulong.MaxValue);
        Assert.Equal(1, ring.Submit());
        return buffer.Block;
    }

    [UringFact]
    public void A_write_prepared_but_never_submitted_lets_its_buffer_go_at_ring_Dispose()
    {
        using var pipe = new TestPipe();
        var ring = new Ring(4);
        var buffer = new NativeBuffer(64);
        ring.GetSqe().PrepWrite(pipe.WriteFd, buffer, offset: ulong.MaxValue);
        buffer.Dispose();
        Assert.False(buffer.Block.IsReleased);

        ring.Dispose();

        Assert.True(buffer.Block.IsReleased);
        Assert.Empty(pipe.ReadAvailable());
    }

    [UringFact]
    public void Two_reads_with_the_same_user_data_each_keep_their_own_buffer_until_their_own_CQE()
    {
        using var first = new TestPipe();
        using var second = new TestPipe();
        using var ring = new Ring(4);
        var a = new NativeBuffer(16);
        var b = new NativeBuffer(16);
        ring.GetSqe().PrepPipeRead(first.ReadFd, a, userData: 5);
        ring.GetSqe().PrepPipeRead(second.ReadFd, b, userData: 5);
        Assert.Equal(2, ring.Submit());
        a.Dispose();
        b.Dispose();

        first.Put("x"u8);
        Assert.Equal(1, Next(ring).Res);
        Assert.Equal(1, a.Block.IsReleased ^ b.Block.IsReleased ? 1 : 0);
        second.Put("y"u8);
        Assert.Equal(1, Next(ring).Res);
        Assert.True(a.Block.IsReleased && b.Block.IsReleased);
    }

    [UringFact]
    public void A_ring_that_cannot_drain_keeps_the_buffer_memory_for_the_life_of_the_process()
    {
        int pinnedBefore = PinnedForever.Count;
        using var pipe = new TestPipe();
        var ring = new Ring(4, new RingOptions { DisposeDrainTimeout = TimeSpan.Zero });
        var buffer = new NativeBuffer(64);
        ring.GetSqe().PrepPipeRead(pipe.ReadFd, buffer, userData: 3);
        Assert.Equal(1, ring.Submit());

        ring.Dispose(); // no time to drain: the read may still be in the kernel
        buffer.Dispose();

        if (ring.InFlight > 0)
        {
            Assert.False(buffer.Block.IsReleased, "freed although the undrained read may still write into it");
            Assert.True(PinnedForever.Count > pinnedBefore);
        }
    }

    [UringFact]
    public void A_registered_NativeBuffer_disposed_while_registered_lives_until_it_is_unregistered()
    {
        using var ring = new Ring(4);
        var buffer = new NativeBuffer(4096);
        ring.RegisterBuffers([buffer.Memory]);
        buffer.Dispose();
        Assert.False(buffer.Block.IsReleased, "freed while the kernel holds it as a registered buffer");

        ring.UnregisterBuffers();

        Assert.True(buffer.Block.IsReleased);
    }

    [UringFact]
    public async Task An_engine_read_keeps_a_disposed_NativeBuffer_alive_until_it_completes()
    {
        using var pipe = new TestPipe();
        await using var engine = new IoUringEngine();
        var buffer = new NativeBuffer(64);
        ValueTask<int> read = engine.ReadAsync(pipe.Read, buffer.Memory, -1, TestContext.Current.CancellationToken);
        await Task.Delay(20, TestContext.Current.CancellationToken);
        buffer.Dispose();
        Assert.False(buffer.Block.IsReleased, "freed under an engine read in flight");

        pipe.Put("abc"u8);
        Assert.Equal(3, await read.AsTask().WaitAsync(Wait.Patience, TestContext.Current.CancellationToken));
        Assert.True(SpinWait.SpinUntil(() => buffer.Block.IsReleased, Wait.Patience), "not given back after the read completed");
    }
}
