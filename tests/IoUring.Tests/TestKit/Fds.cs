using IoUring.Interop;

namespace IoUring.Tests;

/// <summary>Raw file descriptors: pipes, closing, writing, and opening paths the BCL will not open (directories).</summary>
internal static class Fds
{
    /// <summary>pipe2(2) with <paramref name="flags"/>; the caller closes both ends (see <see cref="Close"/>).</summary>
    public static (int Read, int Write) Pipe(int flags = Posix.O_CLOEXEC)
    {
        Assert.Equal(0, Libc.Pipe2(out int r, out int w, flags));
        return (r, w);
    }

    /// <summary>Closes every descriptor that is not negative, ignoring errors.</summary>
    public static void Close(params int[] fds)
    {
        foreach (int fd in fds)
        {
            if (fd >= 0)
            {
                _ = Libc.Close(fd);
            }
        }
    }

    /// <summary>write(2) that must write all of <paramref name="data"/> at once.</summary>
    public static void WriteAll(int fd, ReadOnlySpan<byte> data) => Assert.Equal(data.Length, Libc.Write(fd, data));

    /// <summary>Opens <paramref name="path"/> with an io_uring openat (O_CLOEXEC added); returns the fd.</summary>
    public static int OpenAt(Ring ring, string path, int flags)
    {
        Pinned<byte> name = Pinned.Utf8Z(path);
        ring.GetSqe().PrepOpenAt(Sqe.AtFdCwd, name.Address, flags | Posix.O_CLOEXEC, 0);
        Cqe cqe = RingKit.Run(ring);
        Pinned.KeepAlive(name);
        Assert.True(cqe.Res >= 0, $"openat({path}) failed: {cqe}");
        return cqe.Res;
    }
}
