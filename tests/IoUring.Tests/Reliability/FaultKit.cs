using IoUring.Interop;

namespace IoUring.Tests.Reliability;

/// <summary>Errno values the fault tests expect in CQEs (positive, as <see cref="Cqe.Errno"/> reports them).</summary>
internal static class E
{
    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int ENXIO = 6;
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;
    public const int EFAULT = 14;
    public const int EBUSY = 16;
    public const int EISDIR = 21;
    public const int EINVAL = 22;
    public const int ESPIPE = 29;
    public const int ETIME = 62;
    public const int EALREADY = 114;
    public const int ECANCELED = 125;
}

/// <summary>A pipe owned by one test: its read end keeps a read request in flight until the test writes.</summary>
internal sealed class FaultPipe : IDisposable
{
    private int _readFd;
    private int _writeFd;

    public FaultPipe()
    {
        Assert.Equal(0, Libc.Pipe2(out _readFd, out _writeFd, Libc.O_CLOEXEC));
    }

    public int ReadFd => _readFd;

    public int WriteFd => _writeFd;

    public void Write(ReadOnlySpan<byte> data) => Assert.Equal(data.Length, Libc.Write(_writeFd, data));

    /// <summary>Reads what is queued in the pipe without blocking (poll first, then read(2)).</summary>
    public byte[] Drain(int max = 65536)
    {
        using var ring = new Ring(2);
        ring.GetSqe().PrepPollAdd(_readFd, 1 /* POLLIN */);
        ring.Submit();
        if (!ring.TryWaitCqe(TimeSpan.FromMilliseconds(100), out Cqe ready))
        {
            return [];
        }

        ring.CqeSeen(ready);
        var buffer = new byte[max];
        long n = Libc.Read(_readFd, buffer);
        Assert.True(n >= 0, $"read(2) failed with errno {-n}");
        return buffer.AsSpan(0, (int)n).ToArray();
    }

    /// <summary>Closes the read end now (the fd number becomes free for reuse).</summary>
    public void CloseReadEnd()
    {
        if (_readFd >= 0)
        {
            Assert.Equal(0, Libc.Close(_readFd));
            _readFd = -1;
        }
    }

    public void CloseWriteEnd()
    {
        if (_writeFd >= 0)
        {
            Assert.Equal(0, Libc.Close(_writeFd));
            _writeFd = -1;
        }
    }

    public void Dispose()
    {
        if (_writeFd >= 0)
        {
            _ = Libc.Close(_writeFd);
            _writeFd = -1;
        }

        if (_readFd >= 0)
        {
            _ = Libc.Close(_readFd);
            _readFd = -1;
        }
    }
}

internal static class FaultKit
{
    /// <summary>A descriptor number above any fd limit: certainly not open, and never reused by another thread.</summary>
    public const int NeverOpenFd = 1 << 29;

    /// <summary>Bound for "eventually" on a loaded 2-core machine; far below a hang.</summary>
    public static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);

    /// <summary>Waits for and consumes exactly <paramref name="count"/> CQEs, failing if any user_data repeats.</summary>
    public static Dictionary<ulong, Cqe> Reap(Ring ring, int count)
    {
        var byUserData = new Dictionary<ulong, Cqe>();
        for (int i = 0; i < count; i++)
        {
            Cqe cqe = ring.WaitCqe(Generous);
            ring.CqeSeen(cqe);
            Assert.True(byUserData.TryAdd(cqe.UserData, cqe), $"user_data {cqe.UserData} completed twice ({cqe})");
        }

        return byUserData;
    }

    /// <summary>Asserts nothing completes within <paramref name="window"/> (a request really is still in flight).</summary>
    public static void AssertNothingCompletes(Ring ring, TimeSpan window)
    {
        bool got = ring.TryWaitCqe(window, out Cqe cqe);
        Assert.False(got, $"unexpected completion {cqe}");
    }

    /// <summary>Asserts the ring has nothing left: no CQE ready, nothing in flight.</summary>
    public static void AssertQuiet(Ring ring)
    {
        Assert.Equal(0u, ring.CqReady);
        Assert.Equal(0, ring.InFlight);
        Assert.False(ring.TryPeekCqe(out _));
    }

    public const int O_RDONLY = 0;
    public const int O_DIRECTORY = 0x10000;
    public const int O_CLOEXEC = 0x80000;

    /// <summary>Opens <paramref name="path"/> with an io_uring openat (the BCL refuses to open directories); returns the fd.</summary>
    public static int OpenAt(Ring ring, string path, int flags)
    {
        byte[] utf8 = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        using var name = new NativeBuffer(utf8.Length);
        utf8.CopyTo(name.Span);
        ref Sqe sqe = ref ring.GetSqe();
        sqe.PrepOpenAt(Sqe.AtFdCwd, name.Address, flags | O_CLOEXEC, 0);
        sqe.UserData = ulong.MaxValue - 1;
        ring.Submit();
        Cqe cqe = ring.WaitCqe(Generous);
        ring.CqeSeen(cqe);
        Assert.True(cqe.Res >= 0, $"openat({path}) failed: {cqe}");
        return cqe.Res;
    }

    public static void Fill(NativeBuffer buffer, byte value) => buffer.Span.Fill(value);

    public static bool AllEqual(ReadOnlySpan<byte> span, byte value) => !span.ContainsAnyExcept(value);

    /// <summary>Runs <paramref name="work"/> on a dedicated thread (never the thread pool) and returns its result or rethrows.</summary>
    public static Task<T> OnDedicatedThread<T>(Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                done.SetResult(work());
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        })
        {
            IsBackground = true,
            Name = "fault-test worker",
        };
        thread.Start();
        return done.Task;
    }
}
