using System.Diagnostics;

namespace IoUring;

/// <summary>
/// A request's deadline: the kernel cancels the request when it passes (an <c>IORING_OP_LINK_TIMEOUT</c> linked to it,
/// with <c>IORING_TIMEOUT_ABS</c> on <c>CLOCK_MONOTONIC</c>, so a request resubmitted after a short write keeps its
/// original deadline). The default value is no deadline.
/// </summary>
internal readonly struct RequestDeadline
{
    /// <summary>The point in time, in nanoseconds of <c>CLOCK_MONOTONIC</c>; 0 for no deadline.</summary>
    public readonly long MonotonicNanoseconds;

    /// <summary>The timeout the caller gave, for the error message.</summary>
    public readonly TimeSpan Timeout;

    private RequestDeadline(long monotonicNanoseconds, TimeSpan timeout)
    {
        MonotonicNanoseconds = monotonicNanoseconds;
        Timeout = timeout;
    }

    /// <summary>True when the request has a deadline.</summary>
    public bool IsSet => MonotonicNanoseconds != 0;

    /// <summary>
    /// The deadline <paramref name="timeout"/> from now; <see cref="System.Threading.Timeout.InfiniteTimeSpan"/> is none.
    /// <see cref="Stopwatch.GetTimestamp"/> reads <c>CLOCK_MONOTONIC</c> on Linux, the clock of io_uring's timeouts.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The timeout is negative (other than infinite).</exception>
    public static RequestDeadline After(TimeSpan timeout)
    {
        if (timeout == System.Threading.Timeout.InfiniteTimeSpan)
        {
            return default;
        }

        if (timeout < TimeSpan.Zero)
        {
            ThrowNegative(timeout);
        }

        long now = NowNanoseconds();
        long span = timeout.Ticks >= long.MaxValue / 100 ? long.MaxValue : timeout.Ticks * 100;
        long at = span >= long.MaxValue - now ? long.MaxValue : now + span;
        return new RequestDeadline(at, timeout);
    }

    /// <summary>The deadline as the <see cref="TimeSpan"/> since the clock's epoch that <see cref="Ring.PrepLinkTimeout"/> takes with <see cref="TimeoutFlags.Abs"/>.</summary>
    public TimeSpan SinceEpoch => TimeSpan.FromTicks(MonotonicNanoseconds / 100);

    /// <summary>The exception for a request the kernel cancelled at its deadline.</summary>
    public TimeoutException TimedOut(string operation) =>
        new($"The {operation} did not complete within its timeout of {Timeout} and was cancelled.");

    /// <summary>Now on <c>CLOCK_MONOTONIC</c>, in nanoseconds.</summary>
    internal static long NowNanoseconds()
    {
        long ticks = Stopwatch.GetTimestamp();
        return Stopwatch.Frequency == 1_000_000_000 ? ticks : (long)(ticks * (1e9 / Stopwatch.Frequency));
    }

    private static void ThrowNegative(TimeSpan timeout) =>
        throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must be non-negative, or Timeout.InfiniteTimeSpan for none.");
}
