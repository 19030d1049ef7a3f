using System.Runtime.InteropServices;

namespace IoUring.Tests.Reliability;

/// <summary>
/// Short reads and end of file are results, not errors: a read at or past EOF completes with 0, a read that straddles
/// EOF completes with the bytes that exist (and only those bytes of the buffer change), and a pipe read returns what
/// is there. Callers must loop on short counts; the library never hides or retries them.
/// </summary>
public sealed class ShortReadEofTests
{
    private const int FileLength = 1000;

    [UringFact]
    public void Reads_at_or_past_EOF_complete_with_0_and_a_read_straddling_EOF_is_short()
    {
        using var file = new TempFile(FileLength, seed: 11);
        using var handle = file.Open();
        int fd = (int)handle.DangerousGetHandle();
        using var atEof = new NativeBuffer(100);
        using var pastEof = new NativeBuffer(100);
        using var straddle = new NativeBuffer(4096);
        atEof.Span.Fill(0xEE);
        pastEof.Span.Fill(0xEE);
        straddle.Span.Fill(0xEE);
        using var ring = new Ring(4);

        ring.NextSqe(1).PrepRead(fd, atEof, FileLength);
        ring.NextSqe(2).PrepRead(fd, pastEof, 1UL << 40);
        ring.NextSqe(3).PrepRead(fd, straddle, 900);
        Assert.Equal(3, ring.Submit());

        Dictionary<ulong, Cqe> cqes = RingKit.ReapByUserData(ring, 3);
        Assert.Equal(0, cqes[1].Res);
        Assert.Equal(0, cqes[2].Res);
        Assert.Equal(100, cqes[3].Res);
        Assert.True(TestData.AllEqual(atEof.Span, 0xEE));
        Assert.True(TestData.AllEqual(pastEof.Span, 0xEE));
        Assert.True(straddle.Span[..100].SequenceEqual(file.Content.AsSpan(900)));
        Assert.True(TestData.AllEqual(straddle.Span[100..], 0xEE), "bytes past the short count must be untouched");
        RingKit.AssertQuiet(ring);
    }

    [UringFact]
    public void A_readv_straddling_EOF_fills_the_iovecs_in_order_and_stops()
    {
        using var file = new TempFile(FileLength, seed: 12);
        using var handle = file.Open();
        using var first = new NativeBuffer(30);
        using var second = new NativeBuffer(4096);
        first.Span.Fill(0xEE);
        second.Span.Fill(0xEE);
        using var iovecs = new NativeBuffer(2 * Marshal.SizeOf<IoVec>());
        Span<IoVec> vec = MemoryMarshal.Cast<byte, IoVec>(iovecs.Span);
        vec[0] = new IoVec(first.Address, (nuint)first.Length);
        vec[1] = new IoVec(second.Address, (nuint)second.Length);
        using var ring = new Ring(2);

        ring.NextSqe(1).PrepReadv((int)handle.DangerousGetHandle(), iovecs.Address, 2, 950);
        ring.Submit();

        Assert.Equal(50, RingKit.ReapByUserData(ring, 1)[1].Res);
        Assert.True(first.Span.SequenceEqual(file.Content.AsSpan(950, 30)));
        Assert.True(second.Span[..20].SequenceEqual(file.Content.AsSpan(980, 20)));
        Assert.True(TestData.AllEqual(second.Span[20..], 0xEE));
    }

    [UringFact]
    public void A_fixed_read_straddling_EOF_is_short_and_leaves_the_rest_of_the_registered_buffer_alone()
    {
        using var file = new TempFile(FileLength, seed: 13);
        using var handle = file.Open();
        byte[] registered = new byte[8192];
        registered.AsSpan().Fill(0xEE);
        using var ring = new Ring(2);
        ring.RegisterBuffers([registered]);
        using MemoryHandleScope pin = new(registered);

        ring.NextSqe(1).PrepReadFixed((int)handle.DangerousGetHandle(), pin.Address + 100, 4096, 700, 0);
        ring.Submit();

        Assert.Equal(300, RingKit.ReapByUserData(ring, 1)[1].Res);
        Assert.True(TestData.AllEqual(registered.AsSpan(0, 100), 0xEE));
        Assert.True(registered.AsSpan(100, 300).SequenceEqual(file.Content.AsSpan(700)));
        Assert.True(TestData.AllEqual(registered.AsSpan(400), 0xEE));
    }

    [UringFact]
    public void A_pipe_read_returns_what_is_there_and_0_once_the_writer_is_gone()
    {
        using var pipe = new TestPipe();
        using var buffer = new NativeBuffer(4096);
        using var ring = new Ring(2);
        pipe.Put("ten bytes!"u8);

        ring.GetSqe().PrepPipeRead(pipe.ReadFd, buffer, 1);
        ring.Submit();
        Assert.Equal(10, RingKit.ReapByUserData(ring, 1)[1].Res);
        Assert.Equal("ten bytes!"u8.ToArray(), buffer.Span[..10].ToArray());

        pipe.CloseWriteEnd();
        ring.GetSqe().PrepPipeRead(pipe.ReadFd, buffer, 2);
        ring.Submit();
        Assert.Equal(0, RingKit.ReapByUserData(ring, 1)[2].Res);
        RingKit.AssertQuiet(ring);
    }
}

/// <summary>Pins a managed array for the test's duration and exposes its address (the registered copy of the same pages).</summary>
internal sealed class MemoryHandleScope : IDisposable
{
    private System.Buffers.MemoryHandle _handle;

    public MemoryHandleScope(byte[] array)
    {
        _handle = array.AsMemory().Pin();
        Address = global::IoUring.Interop.Addresses.Of(_handle);
    }

    public nint Address { get; }

    public void Dispose() => _handle.Dispose();
}
