using System.Diagnostics;

namespace IoUring.Tests;

/// <summary>Polling waits for conditions that async code makes true on another thread.</summary>
internal static class Wait
{
    /// <summary>Polls <paramref name="condition"/> until it holds; fails after a generous bound (the machine is shared and noisy).</summary>
    public static async Task UntilAsync(Func<bool> condition, string what, int timeoutMs = 20_000)
    {
        var sw = Stopwatch.StartNew();
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
