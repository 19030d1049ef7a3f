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

    /// <summary><paramref name="time"/> times <see cref="TimeScale"/>.</summary>
    public static TimeSpan Scaled(TimeSpan time) => time * TimeScale;

    /// <summary>Polls <paramref name="condition"/> until it holds; fails after a generous bound (the machine is shared and noisy).</summary>
    public static async Task UntilAsync(Func<bool> condition, string what, int timeoutMs = 20_000)
    {
        var sw = Stopwatch.StartNew();
        timeoutMs *= TimeScale;
        while (!condition())
        {
            if (sw.ElapsedMilliseconds > timeoutMs)
            {
                Assert.Fail($"Timed out after {timeoutMs} ms waiting until {what}.");
            }

            await Task.Delay(1);
        }
    }
}
