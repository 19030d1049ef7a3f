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

    /// <summary>What <c>/proc/self/fd/N</c> points at (<c>pipe:[inode]</c>, <c>socket:[inode]</c>, a path), or "" when the descriptor is closed.</summary>
    public static string Target(int fd)
    {
        try
        {
            return new FileInfo($"/proc/self/fd/{fd}").LinkTarget ?? "";
        }
        catch (IOException)
        {
            return "";
        }
    }

    /// <summary>
    /// Notes what <paramref name="fd"/> points at now, so that <see cref="FdWatch.AssertClosed"/> can prove later that
    /// closing its handle really closed it (a closed or reused number points elsewhere).
    /// </summary>
    public static FdWatch Watch(int fd) => new(fd, Target(fd));

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

/// <summary>A descriptor and what it pointed at when <see cref="Fds.Watch"/> looked (see there).</summary>
internal readonly record struct FdWatch(int Fd, string Was)
{
    /// <summary>Fails unless the descriptor no longer points at what it did.</summary>
    public void AssertClosed() => Assert.True(Fds.Target(Fd) != Was, $"fd {Fd} still points at {Was}");
}

/// <summary>Descriptors a test closes when it ends, whatever way it ends (see <see cref="Fds.CloseAtEnd"/>).</summary>
internal readonly struct FdsClosedAtEnd(int[] fds) : IDisposable
{
    public void Dispose() => Fds.Close(fds);
}
