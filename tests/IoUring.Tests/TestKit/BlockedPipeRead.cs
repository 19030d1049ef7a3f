namespace IoUring.Tests;

/// <summary>
/// A ring with one read in flight: user data 1 (or the one given) reads a <see cref="TestPipe"/> into a 16-byte buffer and blocks until
/// the test writes. Disposal runs in the order of separate <c>using</c>s: the ring (cancelling and draining the
/// read), then the buffer, then the pipe.
/// </summary>
internal sealed class BlockedPipeRead : IDisposable
{
    public BlockedPipeRead(byte? fill = null, RingOptions? options = null, ulong userData = 1)
    {
        Pipe = new TestPipe();
        Buffer = new NativeBuffer(16);
        if (fill is byte value)
        {
            Buffer.Span.Fill(value);
        }

        Ring = new Ring(4, options);
        Ring.GetSqe().PrepPipeRead(Pipe.ReadFd, Buffer, userData);
        Assert.Equal(1, Ring.Submit());
    }

    public TestPipe Pipe { get; }

    public NativeBuffer Buffer { get; }

    public Ring Ring { get; }

    public void Deconstruct(out TestPipe pipe, out NativeBuffer buffer, out Ring ring) => (pipe, buffer, ring) = (Pipe, Buffer, Ring);

    public void Dispose()
    {
        Ring.Dispose();
        Buffer.Dispose();
        Pipe.Dispose();
    }
}
