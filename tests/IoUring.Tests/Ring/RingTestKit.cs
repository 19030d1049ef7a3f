using System.Diagnostics;
using IoUring.Interop;

namespace IoUring.Tests.RingTests;

/// <summary>A pipe whose read end blocks a read request until the test writes: the tool for "in flight" requests.</summary>
internal sealed class TestPipe : IDisposable
{
    private int _readFd;
    private int _writeFd;

    public TestPipe()
    {
        Assert.Equal(0, Libc.Pipe2(out _readFd, out _writeFd, Libc.O_CLOEXEC));
    }

    public int ReadFd => _readFd;

    public int WriteFd => _writeFd;

    public void Write(ReadOnlySpan<byte> data) => Assert.Equal(data.Length, Libc.Write(_writeFd, data));

    /// <summary>Reads what is in the pipe now (the read end is switched to non-blocking for this).</summary>
    public byte[] ReadAvailable(int max = 4096)
    {
        var buffer = new byte[max];
        using var poll = new Ring(2, new RingOptions { RegisterRingFd = false });
        ref Sqe sqe = ref poll.GetSqe();
        sqe.PrepPollAdd(_readFd, 1);
        Assert.Equal(1, poll.Submit());
        if (!poll.TryWaitCqe(TimeSpan.FromMilliseconds(200), out Cqe ready))
        {
            return [];
        }

        poll.CqeSeen(ready);
        long n = Libc.Read(_readFd, buffer);
        Assert.True(n >= 0, $"read(2) failed with errno {-n}");
        return buffer.AsSpan(0, (int)n).ToArray();
    }

    public void CloseWriteEnd()
    {
        if (_writeFd >= 0)
        {
            _ = Libc.Close(_writeFd);
            _writeFd = -1;
        }
    }

    public void Dispose()
    {
        CloseWriteEnd();
        if (_readFd >= 0)
        {
            _ = Libc.Close(_readFd);
            _readFd = -1;
        }
    }
}

internal static class RingTestKit
{
    public const int ETIME = 62;
    public const int ECANCELED = 125;
    public const int ENOENT = 2;
    public const int EBADF = 9;
    public const int EALREADY = 114;
    public const int EINVAL = 22;
    public const int EFAULT = 14;

    /// <summary>A file descriptor number that is certainly not open.</summary>
    public const int BadFd = 1_000_000;

    /// <summary>Bound for "promptly": far above any honest latency on a loaded 2-core box, far below a hang.</summary>
    public static readonly TimeSpan Generous = TimeSpan.FromSeconds(5);

    /// <summary>Reaps exactly <paramref name="count"/> CQEs with WaitCqe + CqeSeen, in arrival order.</summary>
    public static List<Cqe> Reap(Ring ring, int count)
    {
        var list = new List<Cqe>(count);
        for (int i = 0; i < count; i++)
        {
            Cqe cqe = ring.WaitCqe(Generous);
            ring.CqeSeen(cqe);
            list.Add(cqe);
        }

        return list;
    }

    /// <summary>Reaps <paramref name="count"/> CQEs and indexes them by user data, failing on duplicates.</summary>
    public static Dictionary<ulong, Cqe> ReapByUserData(Ring ring, int count)
    {
        var map = new Dictionary<ulong, Cqe>();
        foreach (Cqe cqe in Reap(ring, count))
        {
            Assert.True(map.TryAdd(cqe.UserData, cqe), $"user_data {cqe.UserData} completed twice");
        }

        return map;
    }

    /// <summary>Asserts that no CQE shows up within <paramref name="window"/>.</summary>
    public static void AssertNoCompletion(Ring ring, TimeSpan window)
    {
        bool got = ring.TryWaitCqe(window, out Cqe cqe);
        Assert.False(got, $"unexpected completion {cqe}");
    }

    public static TimeSpan Time(Action action)
    {
        long start = Stopwatch.GetTimestamp();
        action();
        return Stopwatch.GetElapsedTime(start);
    }

    /// <summary>Preps a read of <paramref name="buffer"/>'s whole length from a pipe (offset -1: pipes have no position).</summary>
    public static void PrepPipeRead(this ref Sqe sqe, int fd, NativeBuffer buffer, ulong userData)
    {
        sqe.PrepRead(fd, buffer.Address, (uint)buffer.Length, ulong.MaxValue);
        sqe.UserData = userData;
    }
}

/// <summary>Runs an action on a dedicated thread (never the thread pool, which a blocked ring wait must not starve); Join rethrows its failure.</summary>
internal sealed class Background
{
    private readonly Thread _thread;
    private Exception? _failure;
    private object? _result;

    private Background(Func<object?> work)
    {
        _thread = new Thread(() =>
        {
            try
            {
                _result = work();
            }
            catch (Exception e)
            {
                _failure = e;
            }
        })
        {
            IsBackground = true,
        };
        _thread.Start();
    }

    public static Background Run(Action action) => new(() =>
    {
        action();
        return null;
    });

    public static Background Run<T>(Func<T> func) => new(() => func());

    public static Background After(TimeSpan delay, Action action) => Run(() =>
    {
        Thread.Sleep(delay);
        action();
    });

    public bool IsFinished => !_thread.IsAlive;

    public object? Join()
    {
        Assert.True(_thread.Join(RingTestKit.Generous * 2), "the background thread did not finish");
        if (_failure is not null)
        {
            throw new InvalidOperationException("The background thread failed: " + _failure.Message, _failure);
        }

        return _result;
    }

    public T Join<T>() => (T)Join()!;
}
