using IoUring.Interop;
using Microsoft.Win32.SafeHandles;

namespace IoUring.Tests.Async;

/// <summary>An anonymous pipe as two <see cref="SafeFileHandle"/>s: reads on it wait until data arrives, which makes in-flight operations on demand.</summary>
internal sealed class TestPipe : IDisposable
{
    public TestPipe()
    {
        int r = Libc.Pipe2(out int readFd, out int writeFd, Libc.O_CLOEXEC);
        Assert.Equal(0, r);
        Read = new SafeFileHandle(readFd, ownsHandle: true);
        Write = new SafeFileHandle(writeFd, ownsHandle: true);
    }

    public SafeFileHandle Read { get; }

    public SafeFileHandle Write { get; }

    /// <summary>Writes synchronously to the pipe (the data must fit in its buffer).</summary>
    public void Put(ReadOnlySpan<byte> data)
    {
        long n = Libc.Write((int)Write.DangerousGetHandle(), data);
        Assert.Equal(data.Length, n);
    }

    public void Dispose()
    {
        Read.Dispose();
        Write.Dispose();
    }
}
