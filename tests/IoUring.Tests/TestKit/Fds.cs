using IoUring.Interop;

namespace IoUring.Tests;

/// <summary>Raw file descriptors (pipes are <see cref="TestPipe"/>s): closing, writing, and opening paths the BCL will not open (directories).</summary>
internal static class Fds
{
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

    /// <summary>
    /// Closes <paramref name="fds"/> when disposed: <c>using var closeAtEnd = Fds.CloseAtEnd(fd);</c> in place of a
    /// try/finally around the rest of a test.
    /// </summary>
    public static FdsClosedAtEnd CloseAtEnd(params int[] fds) => new(fds);

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

/// <summary>Descriptors a test closes when it ends, whatever way it ends (see <see cref="Fds.CloseAtEnd"/>).</summary>
internal readonly struct FdsClosedAtEnd(int[] fds) : IDisposable
{
    public void Dispose() => Fds.Close(fds);
}
