using System.Diagnostics;
using System.Runtime.CompilerServices;
using IoUring.Interop;

namespace IoUring;

/// <summary>
/// The numbers one engine keeps for <see cref="IoUringMetrics"/>: plain fields and arrays written by the thread that owns
/// the engine's ring (no atomics: ownership moves between threads only through a full fence), read racily by the
/// meter's observable callbacks on whatever thread collects. A reader may see a value a few operations old, never a
/// torn one (64-bit loads and stores are atomic on every platform .NET runs Linux on). The few counters other threads
/// change (connections opened and closed) are updated with atomics, once per connection.
/// </summary>
internal sealed class EngineCounters
{
    /// <summary>How an operation ended: the second index of <see cref="Completed"/> (see <see cref="CompletedIndex"/>).</summary>
    internal enum Outcome
    {
        /// <summary>A result of zero or more.</summary>
        Success,

        /// <summary>A negative errno other than <c>ECANCELED</c>.</summary>
        Error,

        /// <summary><c>ECANCELED</c>.</summary>
        Canceled,
    }

    /// <summary>Number of <see cref="Outcome"/> values.</summary>
    internal const int OutcomeCount = 3;

    /// <summary>Errnos counted one by one (1 to 133 are Linux's); anything above lands in the last slot.</summary>
    internal const int ErrnoSlots = 135;

    /// <summary>Number of <see cref="OpKind"/> values.</summary>
    internal static readonly int KindCount = Enum.GetValues<OpKind>().Length;

    /// <summary>Completed single-shot operations by kind and outcome, at <see cref="CompletedIndex"/> (owner).</summary>
    public readonly long[] Completed = new long[KindCount * OutcomeCount];

    /// <summary>Bytes moved by successful transfers (read, write, send, receive and their vectored forms) by kind (owner).</summary>
    public readonly long[] Bytes = new long[KindCount];

    /// <summary>Failed operations by errno (index = errno; the last slot collects larger ones) (owner).</summary>
    public readonly long[] Errors = new long[ErrnoSlots];

    /// <summary>SQEs the kernel consumed from the submission queue, summed over every <c>io_uring_enter</c> (owner).</summary>
    public long Submitted;

    /// <summary>The kernel's <c>cq.overflow</c> (completions it dropped) as last sampled by the owner.</summary>
    public long CqOverflow;

    /// <summary>Multishot receives the kernel ended because the provided-buffer ring ran dry (<c>ENOBUFS</c>) (owner).</summary>
    public long BufferShortages;

    /// <summary>Connections accepted by listeners of the engine, multishot or single-shot (owner).</summary>
    public long ConnectionsAccepted;

    /// <summary>Bytes received by multishot and buffer-ring receives, which are not single-shot operations (owner).</summary>
    public long MultishotBytesReceived;

    /// <summary>Bytes sent by zero-copy sends, which are not single-shot operations (owner).</summary>
    public long ZeroCopyBytesSent;

    /// <summary>File reads served from the page cache on the loop thread without a request (owner; see IoUringEngine.InlineReads.cs).</summary>
    public long InlineReads;

    /// <summary>Connections (<see cref="UringConnection"/>) created on the engine and not yet disposed (any thread, atomics).</summary>
    public long ConnectionsActive;

    /// <summary><see cref="Stopwatch"/> timestamp at which the engine's loop started.</summary>
    public long StartedAt = Stopwatch.GetTimestamp();

    /// <summary>Stopwatch ticks the loop has spent parked in the kernel waiting for work, up to the last wake-up (owner).</summary>
    public long ParkedTicks;

    /// <summary>Timestamp at which the loop parked, or 0 while it is not parked (owner).</summary>
    public long ParkedSince;

    /// <summary>The slot in <see cref="Completed"/> of operations of <paramref name="kind"/> that ended with <paramref name="outcome"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int CompletedIndex(int kind, Outcome outcome) => (kind * OutcomeCount) + (int)outcome;

    /// <summary>True for the kinds whose result is a byte count (see <see cref="Bytes"/>).</summary>
    private static readonly bool[] s_transfers = BuildTransfers();

    /// <summary>Counts a completed single-shot operation: its outcome, its errno, the bytes it moved.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void CountCompletion(OpKind kind, long result)
    {
        int k = (int)kind;
        if (result >= 0)
        {
            Completed[CompletedIndex(k, Outcome.Success)]++;
            if (s_transfers[k])
            {
                Bytes[k] += result;
            }
            else if (kind == OpKind.Accept)
            {
                ConnectionsAccepted++;
            }

            return;
        }

        CountFailure(k, result);
    }

    private void CountFailure(int kind, long result)
    {
        int errno = (int)Math.Min(-result, ErrnoSlots - 1);
        Completed[CompletedIndex(kind, errno == Errno.ECANCELED ? Outcome.Canceled : Outcome.Error)]++;
        Errors[errno]++;
    }

    /// <summary>Busy time of the loop so far: the time since it started, less the time parked (any thread, racy).</summary>
    public double BusySeconds()
    {
        long now = Stopwatch.GetTimestamp();
        long parked = Volatile.Read(ref ParkedTicks);
        long since = Volatile.Read(ref ParkedSince);
        if (since != 0 && since <= now)
        {
            parked += now - since;
        }

        return Math.Max(0, now - StartedAt - parked) / (double)Stopwatch.Frequency;
    }

    private static bool[] BuildTransfers()
    {
        var t = new bool[KindCount];
        foreach (OpKind k in (ReadOnlySpan<OpKind>)[OpKind.Read, OpKind.Write, OpKind.ReadV, OpKind.WriteV, OpKind.Send, OpKind.SendV, OpKind.Recv, OpKind.SendMsg, OpKind.RecvMsg])
        {
            t[(int)k] = true;
        }

        return t;
    }
}
