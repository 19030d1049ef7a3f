using IoUring.Interop;
using Microsoft.Win32.SafeHandles;

namespace IoUring.Tests;

/// <summary>
/// An anonymous pipe owned by one test. A read on its empty read end waits until the test writes, which makes
/// "in flight" requests on demand. Both ends are <see cref="SafeFileHandle"/>s (for the async engine, which holds a
/// reference while an operation is in flight) and also raw descriptor numbers (for SQEs).
/// </summary>
internal sealed class TestPipe : IDisposable
{
    /// <summary>Opens the pipe with pipe2(2) <paramref name="flags"/> (add <c>O_NONBLOCK</c> for reads that must not block).</summary>
    public TestPipe(int flags = Libc.O_CLOEXEC)
    {
        Assert.Equal(0, Libc.Pipe2(out int readFd, out int writeFd, flags));
        Read = new SafeFileHandle(readFd, ownsHandle: true);
        Write = new SafeFileHandle(writeFd, ownsHandle: true);
    }

    /// <summary>The read end.</summary>
    public SafeFileHandle Read { get; }

    /// <summary>The write end.</summary>
    public SafeFileHandle Write { get; }

    /// <summary>The read end's descriptor, or -1 once closed.</summary>
    public int ReadFd => FdOf(Read);

    /// <summary>The write end's descriptor, or -1 once closed.</summary>
    public int WriteFd => FdOf(Write);

    /// <summary>Writes synchronously to the pipe (the data must fit in its buffer).</summary>
    public void Put(ReadOnlySpan<byte> data) => Assert.Equal(data.Length, Libc.Write(WriteFd, data));

    /// <summary>
    /// Proves that no request reads this pipe any more (its ring was disposed or the read cancelled): writes 64 bytes,
    /// waits a little, and asserts that <paramref name="canary"/> (the gone read's buffer, filled with
    /// <paramref name="fill"/>) is untouched and the bytes are still in the pipe.
    /// </summary>
    public void AssertNobodyReads(NativeBuffer canary, byte fill)
    {
        byte[] late = new byte[64];
        Array.Fill(late, (byte)0x11);
        Put(late);
        Thread.Sleep(50);
        Assert.True(TestData.AllEqual(canary.Span, fill), "the kernel wrote into a cancelled read's buffer after the call returned");
        Assert.Equal(late, ReadAvailable());
    }

    /// <summary>Reads what is queued in the pipe without blocking: polls (up to 200 ms), then read(2). Empty when nothing came.</summary>
    public byte[] ReadAvailable(int max = 65536)
    {
        using var poll = new Ring(2, new RingOptions { RegisterRingFd = false });
        poll.GetSqe().PrepPollAdd(ReadFd, Posix.POLLIN);
        Assert.Equal(1, poll.Submit());
        if (!poll.TryWaitCqe(TimeSpan.FromMilliseconds(200), out Cqe ready))
        {
            return [];
        }

        poll.CqeSeen(ready);
        var buffer = new byte[max];
        long n = Libc.Read(ReadFd, buffer);
        Assert.True(n >= 0, $"read(2) failed with errno {-n}");
        return buffer.AsSpan(0, (int)n).ToArray();
    }

    /// <summary>Closes the read end now (its descriptor number becomes free for reuse).</summary>
    public void CloseReadEnd() => Read.Dispose();

    /// <summary>Closes the write end now: a reader then sees end of file.</summary>
    public void CloseWriteEnd() => Write.Dispose();

    /// <summary>
    /// The write end was closed by a request (<c>IORING_OP_CLOSE</c>): forgets it without closing its number again,
    /// which by now may belong to another test's descriptor.
    /// </summary>
    public void WriteEndClosedByRequest() => Write.SetHandleAsInvalid();

    public void Dispose()
    {
        Write.Dispose();
        Read.Dispose();
    }

    private static int FdOf(SafeFileHandle end) => end.IsClosed ? -1 : (int)end.DangerousGetHandle();
}
