using System.Diagnostics;

namespace IoUring.Stress;

/// <summary>
/// Kills the process when a progress counter stops moving for too long: a hang is a failure the run must report,
/// not wait out. The message names what was running so that the seed reproduces it.
/// </summary>
public sealed class Watchdog : IDisposable
{
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _stop = new();

    public Watchdog(Func<long> progress, TimeSpan limit, Func<string> describe)
    {
        _thread = new Thread(() =>
        {
            long last = progress();
            var still = Stopwatch.StartNew();
            while (!_stop.Wait(TimeSpan.FromMilliseconds(250)))
            {
                long now = progress();
                if (now != last)
                {
                    last = now;
                    still.Restart();
                }
                else if (still.Elapsed > limit)
                {
                    string message = $"HANG: {describe()}";
                    Console.Error.WriteLine(message);
                    Console.Out.Flush();
                    Environment.FailFast(message);
                }
            }
        })
        {
            IsBackground = true,
            Name = "stress watchdog",
        };
        _thread.Start();
    }

    public void Dispose()
    {
        _stop.Set();
        _thread.Join();
        _stop.Dispose();
    }
}
