using System.Diagnostics;

namespace IoUring.Tests;

/// <summary>A prep call on an SQE the caller got (for helpers that choose the SQE and its user data).</summary>
internal delegate void SqePrep(ref Sqe sqe);

/// <summary>A prep call on an SQE for a descriptor the helper opened (<see cref="RingKit.RunOnFile"/>).</summary>
internal delegate void FdPrep(ref Sqe sqe, int fd);

/// <summary>Submitting and reaping on a <see cref="Ring"/> with generous bounds, so a missing CQE fails a test instead of hanging it.</summary>
internal static class RingKit
{
    /// <summary>A descriptor number above any fd limit: certainly not open, and never reused by another thread.</summary>
    public const int BadFd = 1 << 29;

    /// <summary>
    /// The next SQE with its user data (and flags) set, for one prep call on it: <c>ring.NextSqe(1).PrepNop();</c>.
    /// The prep helpers set only their opcode's fields (they add flags they need with <c>|=</c>), so setting these first
    /// is the same as setting them after.
    /// </summary>
    public static ref Sqe NextSqe(this Ring ring, ulong userData, SqeFlags flags = SqeFlags.None)
    {
        ref Sqe sqe = ref ring.GetSqe();
        sqe.UserData = userData;
        sqe.Flags = flags;
        return ref sqe;
    }

    /// <summary>
    /// Stops request 1 (in flight) twice with <paramref name="prepStop"/> (a cancel or a timeout removal aimed at user
    /// data 1), first as user data 2, then as 3: the first stop ends request 1 with ECANCELED and succeeds; the second
    /// finds nothing (ENOENT).
    /// </summary>
    public static void AssertStopsOnlyOnce(Ring ring, SqePrep prepStop)
    {
        prepStop(ref ring.NextSqe(2));
        Assert.Equal(1, ring.Submit());
        Dictionary<ulong, Cqe> done = ReapByUserData(ring, 2);
        Assert.Equal(-E.ECANCELED, done[1].Res);
        Assert.Equal(0, done[2].Res);

        prepStop(ref ring.NextSqe(3));
        Assert.Equal(1, ring.Submit());
        Assert.Equal(-E.ENOENT, Reap(ring, 1)[0].Res);
    }

    /// <summary>Waits (boundedly) for the next CQE, marks it seen and returns it.</summary>
    public static Cqe Next(Ring ring)
    {
        Assert.True(ring.TryWaitCqe(Wait.Patience, out Cqe cqe), $"No completion arrived within {Wait.Patience}.");
        ring.CqeSeen(cqe);
        return cqe;
    }

    /// <summary>Submits what is prepared and returns the next CQE.</summary>
    public static Cqe Run(Ring ring)
    {
        _ = ring.Submit();
        return Next(ring);
    }

    /// <summary>
    /// Opens <paramref name="file"/> read-write, runs the one request <paramref name="prep"/> makes for its descriptor
    /// on a fresh ring and returns the CQE's result. The descriptor is closed again, so the test can read the file back.
    /// </summary>
    public static int RunOnFile(TempFile file, FdPrep prep)
    {
        using var handle = file.Open(FileAccess.ReadWrite);
        using var ring = new Ring(4);
        prep(ref ring.GetSqe(), (int)handle.DangerousGetHandle());
        return Run(ring).Res;
    }

    /// <summary>Submits what is prepared and collects <paramref name="count"/> CQEs, in arrival order.</summary>
    public static Cqe[] RunMany(Ring ring, int count)
    {
        _ = ring.Submit();
        return Reap(ring, count);
    }

    /// <summary>Reaps exactly <paramref name="count"/> CQEs (each marked seen), in arrival order.</summary>
    public static Cqe[] Reap(Ring ring, int count)
    {
        var cqes = new Cqe[count];
        for (int i = 0; i < count; i++)
        {
            cqes[i] = Next(ring);
        }

        return cqes;
    }

    /// <summary>Reaps exactly <paramref name="count"/> CQEs and indexes them by user data, failing if any user data repeats.</summary>
    public static Dictionary<ulong, Cqe> ReapByUserData(Ring ring, int count)
    {
        var byUserData = new Dictionary<ulong, Cqe>(count);
        foreach (Cqe cqe in Reap(ring, count))
        {
            Assert.True(byUserData.TryAdd(cqe.UserData, cqe), $"user_data {cqe.UserData} completed twice ({cqe})");
        }

        return byUserData;
    }

    /// <summary>Returns the one CQE with user data <paramref name="userData"/> among <paramref name="cqes"/>.</summary>
    public static Cqe With(this Cqe[] cqes, ulong userData) => Assert.Single(cqes, c => c.UserData == userData);

    /// <summary>True when no CQE is ready (after a short grace period for one that should not come).</summary>
    public static bool Quiet(Ring ring) => !ring.TryWaitCqe(TimeSpan.FromMilliseconds(30), out _);

    /// <summary>Asserts that no CQE shows up within <paramref name="window"/> (a request really is still in flight).</summary>
    public static void AssertNoCompletion(Ring ring, TimeSpan window)
    {
        bool got = ring.TryWaitCqe(window, out Cqe cqe);
        Assert.False(got, $"unexpected completion {cqe}");
    }

    /// <summary>
    /// Asserts that <paramref name="final"/> ends a multishot request: result <paramref name="res"/> (0 at end of
    /// stream, or the errno that stopped it), no <c>IORING_CQE_F_MORE</c>, and nothing left in flight on the ring.
    /// </summary>
    public static void AssertMultishotEnded(Ring ring, Cqe final, int res)
    {
        Assert.Equal(res, final.Res);
        Assert.False(final.HasMore, final.ToString());
        Assert.Equal(0, ring.InFlight);
    }

    /// <summary>Asserts the ring has nothing left: no CQE ready, nothing in flight.</summary>
    public static void AssertQuiet(Ring ring)
    {
        Assert.Equal(0u, ring.CqReady);
        Assert.Equal(0, ring.InFlight);
        Assert.False(ring.TryPeekCqe(out _));
    }

    /// <summary>How long <paramref name="action"/> took.</summary>
    public static TimeSpan Time(Action action)
    {
        long start = Stopwatch.GetTimestamp();
        action();
        return Stopwatch.GetElapsedTime(start);
    }

    /// <summary>Prepares and submits a nop on a thread-pool thread (the ring moves there between batches); returns what Submit returned.</summary>
    public static Task<int> SubmitNopOnThreadPoolAsync(Ring ring) =>
        Task.Run(
            () =>
            {
                ring.GetSqe().PrepNop();
                return ring.Submit();
            },
            TestContext.Current.CancellationToken);

    /// <summary>Preps a read of <paramref name="buffer"/>'s whole length from a pipe (offset -1: pipes have no position).</summary>
    public static void PrepPipeRead(this ref Sqe sqe, int fd, NativeBuffer buffer, ulong userData)
    {
        sqe.PrepRead(fd, buffer, ulong.MaxValue);
        sqe.UserData = userData;
    }
}
