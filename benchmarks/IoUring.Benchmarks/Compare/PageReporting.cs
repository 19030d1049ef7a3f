using System.Globalization;

namespace IoUring.Benchmarks.Compare;

/// <summary>
/// Pauses the guest's free page reporting (virtio-balloon's <c>VIRTIO_BALLOON_F_REPORTING</c>) for the run. A VM that
/// reports freed memory to its host gets that memory back only through a host fault per page on its next use: on the
/// development VM, writing 1 GiB into memory freed a few seconds earlier took 2.4–3.1 s (1.5–1.75 s of system time)
/// against 0.2–0.3 s (0.15 s) back to back (<c>dd bs=1M count=1024</c>, measured 2026-12-06). Every write pass frees its
/// output file, so which contender paid that depended on the reporting worker's timing, not on the contender.
/// </summary>
/// <remarks>
/// Reporting is paused by raising <c>page_reporting_order</c> above the largest page order, so no freed block
/// qualifies; the old value comes back when the run ends (also on Ctrl+C). Nothing happens without the module or
/// without permission to write its parameter, and <c>--keep-page-reporting</c> leaves it alone; the report's notes say
/// which. Memory reported before the pause still costs a host fault on first touch: a scratch write of the data
/// file's size warms it before the first measured pass.
/// </remarks>
internal sealed class PageReporting : IDisposable
{
    private const string OrderPath = "/sys/module/page_reporting/parameters/page_reporting_order";

    /// <summary>Above MAX_PAGE_ORDER (10 on x86-64): no free block is ever reported.</summary>
    private const int PausedOrder = 11;

    /// <summary>The value to put back.</summary>
    private readonly string _previous;
    private readonly ConsoleCancelEventHandler _onCancel;
    private bool _restored;

    private PageReporting(string previous)
    {
        _previous = previous;
        _onCancel = (_, _) => Dispose();
        Console.CancelKeyPress += _onCancel;
    }

    /// <summary>Pauses reporting when this machine does it and the runner may change it; adds a note saying what was done.</summary>
    public static PageReporting? Pause(bool keep, List<string> notes, TextWriter log)
    {
        if (!File.Exists(OrderPath))
        {
            return null;
        }

        string previous = File.ReadAllText(OrderPath).Trim();
        if (keep)
        {
            notes.Add($"Free page reporting (virtio-balloon) was left on (`--keep-page-reporting`, page_reporting_order {previous}): writes into memory freed earlier pay a host fault per page, so write rows vary with the reporting worker's timing.");
            return null;
        }

        if (int.TryParse(previous, NumberStyles.Integer, CultureInfo.InvariantCulture, out int order) && order >= PausedOrder)
        {
            return null;
        }

        try
        {
            File.WriteAllText(OrderPath, PausedOrder.ToString(CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            notes.Add($"Free page reporting (virtio-balloon) is on and could not be paused ({e.Message}): writes into memory freed earlier pay a host fault per page, so write rows vary with the reporting worker's timing.");
            return null;
        }

        log.WriteLine($"free page reporting paused for the run (page_reporting_order {previous} -> {PausedOrder})");
        notes.Add($"Free page reporting (virtio-balloon) was paused for the run (page_reporting_order {previous} -> {PausedOrder}, restored at the end): otherwise each write pass lands in memory the host reclaimed, 5-10x the system time, at random.");
        return new PageReporting(previous);
    }

    /// <summary>Touches <paramref name="bytes"/> of fresh page cache in <paramref name="dir"/> and frees it, so the write pass that follows starts on memory the host backs.</summary>
    public static void Warm(string dir, long bytes)
    {
        string path = Path.Combine(dir, $"iouring-warm-{Environment.ProcessId}.tmp");
        byte[] chunk = new byte[1 << 20];
        try
        {
            using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.None);
            for (long done = 0; done < bytes; done += chunk.Length)
            {
                fs.Write(chunk);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Puts the previous value back.</summary>
    public void Dispose()
    {
        if (_restored)
        {
            return;
        }

        _restored = true;
        Console.CancelKeyPress -= _onCancel;
        try
        {
            File.WriteAllText(OrderPath, _previous);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            Console.Error.WriteLine($"could not restore page_reporting_order to {_previous}: {e.Message}");
        }
    }
}
