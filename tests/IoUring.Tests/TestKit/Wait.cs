using System.Diagnostics;

namespace IoUring.Tests;

/// <summary>Polling waits for conditions that async code makes true on another thread.</summary>
internal static class Wait
{
    /// <summary>
    /// How much longer than on real hardware waits may take: <c>IOURING_TEST_TIME_SCALE</c> (default 1). The kernel
    /// matrix (tests/kernels/run) sets it for guests under QEMU's TCG emulation, which runs 10-50 times slower.
    /// </summary>
    public static int TimeScale { get; } =
        int.TryParse(Environment.GetEnvironmentVariable("IOURING_TEST_TIME_SCALE"), out int scale) && scale > 1 ? scale : 1;

    /// <summary>
    /// The tests' one bound on anything they wait for that should happen (a completion, a wake-up, a peer's bytes):
    /// generous, because the machine is shared and noisy, and scaled by <see cref="TimeScale"/>. A test that waits on
    /// something known to be slower (a drain under fault injection, thousands of hand-offs) waits a multiple of it.
    /// </summary>
    public static readonly TimeSpan Patience = Scaled(TimeSpan.FromSeconds(20));

    /// <summary><paramref name="time"/> times <see cref="TimeScale"/>.</summary>
    public static TimeSpan Scaled(TimeSpan time) => time * TimeScale;

    /// <summary>The test's token, also cancelled after <see cref="Patience"/>.</summary>
    public static CancellationToken Timeout() =>
        CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken, new CancellationTokenSource(Patience).Token).Token;

    /// <summary>Waits for <paramref name="task"/> within <see cref="Patience"/>.</summary>
    public static Task Within(this Task task) => task.WaitAsync(Patience, TestContext.Current.CancellationToken);

    /// <summary>Waits for <paramref name="task"/> within <see cref="Patience"/>.</summary>
    public static Task<T> Within<T>(this Task<T> task) => task.WaitAsync(Patience, TestContext.Current.CancellationToken);

    /// <summary>Polls <paramref name="condition"/> until it holds; fails after <see cref="Patience"/> (or <paramref name="timeoutMs"/>, scaled).</summary>
    public static async Task UntilAsync(Func<bool> condition, string what, int? timeoutMs = null)
    {
        long bound = timeoutMs is int ms ? (long)ms * TimeScale : (long)Patience.TotalMilliseconds;
        if (!await HoldsWithinAsync(condition, bound))
        {
            Assert.Fail($"Timed out after {bound} ms waiting until {what}.");
        }
    }

    /// <summary>
    /// Polls <paramref name="condition"/> until it holds (true) or <paramref name="boundMs"/> have passed (false), without
    /// failing: for waits whose timeout must not throw, such as one inside a fire-and-forget task that has to go on.
    /// </summary>
    public static async Task<bool> HoldsWithinAsync(Func<bool> condition, long boundMs)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.ElapsedMilliseconds > boundMs)
            {
                return false;
            }

            await Task.Delay(1);
        }

        return true;
    }
}
