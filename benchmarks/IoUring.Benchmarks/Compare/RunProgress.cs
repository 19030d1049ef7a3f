using System.Diagnostics;
using System.Globalization;

namespace IoUring.Benchmarks.Compare;

/// <summary>
/// Overall progress of a compare run: runs done of all planned, time spent, and an estimate of the time left. The
/// estimate weighs each run by its planned measuring time (warm-up included) and scales what is left by how long the
/// runs done so far really took per planned second, so start-up costs (a server to launch, a file to evict) are counted.
/// </summary>
internal sealed class RunProgress
{
    /// <summary>Planned seconds of every run, in the order they run.</summary>
    private readonly double _plannedTotal;

    /// <summary>Runs planned.</summary>
    private readonly int _runs;

    /// <summary>Measures the time since the first run started.</summary>
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    /// <summary>Runs done so far.</summary>
    private int _done;

    /// <summary>Planned seconds of the runs done so far.</summary>
    private double _plannedDone;

    public RunProgress(int runs, double plannedSeconds)
    {
        _runs = runs;
        _plannedTotal = plannedSeconds;
    }

    /// <summary>Counts a run of <paramref name="plannedSeconds"/> as done and returns the progress line to print.</summary>
    public string Done(double plannedSeconds)
    {
        _done++;
        _plannedDone += plannedSeconds;
        return Line(_done, _runs, _plannedDone, _plannedTotal, _clock.Elapsed);
    }

    /// <summary>The progress line: <c>progress 12/48 (25%), 3m10s elapsed, about 9m30s left</c>.</summary>
    internal static string Line(int done, int runs, double plannedDone, double plannedTotal, TimeSpan elapsed)
    {
        double fraction = plannedTotal > 0 ? Math.Clamp(plannedDone / plannedTotal, 0, 1) : (double)done / Math.Max(1, runs);
        string left = plannedDone > 0
            ? "about " + Format(TimeSpan.FromSeconds(elapsed.TotalSeconds / plannedDone * Math.Max(0, plannedTotal - plannedDone))) + " left"
            : "time left unknown";
        return string.Create(CultureInfo.InvariantCulture, $"progress {done}/{runs} ({fraction:P0}), {Format(elapsed)} elapsed, {left}");
    }

    private static string Format(TimeSpan t) =>
        t.TotalHours >= 1 ? string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours}h{t.Minutes:D2}m")
        : t.TotalMinutes >= 1 ? string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalMinutes}m{t.Seconds:D2}s")
        : string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalSeconds}s");
}
