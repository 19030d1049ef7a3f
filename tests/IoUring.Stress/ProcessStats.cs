using System.Globalization;

namespace IoUring.Stress;

/// <summary>What the process holds, read from /proc/self: open descriptors, resident memory, pinned memory.</summary>
public static class ProcessStats
{
    /// <summary>Open file descriptors (entries of /proc/self/fd, minus the one the listing itself uses).</summary>
    public static int OpenFds()
    {
        // Enumerating opens one descriptor for the directory, which shows up in the listing. Assemblies are left out:
        // the runtime opens a .dll the first time a type of it is used (System.Net.NameResolution when a DNS connect
        // first runs, say), which may fall on either side of a "before" snapshot and is not a descriptor the library owns.
        int assemblies = FdTargets().Values.Count(t => t.EndsWith(".dll", StringComparison.Ordinal));
        return Math.Max(0, Directory.GetFileSystemEntries("/proc/self/fd").Length - 1 - assemblies);
    }

    /// <summary>The open descriptors and what they point to, for a leak report.</summary>
    public static SortedDictionary<int, string> FdTargets()
    {
        var map = new SortedDictionary<int, string>();
        foreach (string entry in Directory.GetFileSystemEntries("/proc/self/fd"))
        {
            if (!int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out int fd))
            {
                continue;
            }

            try
            {
                map[fd] = new FileInfo(entry).LinkTarget ?? "?";
            }
            catch (IOException)
            {
                // Closed between listing and reading (the listing's own descriptor).
            }
        }

        return map;
    }

    /// <summary>Peak resident set size in bytes (VmHWM).</summary>
    public static long PeakRssBytes() => StatusKb("VmHWM:") * 1024;

    /// <summary>Current resident set size in bytes (VmRSS).</summary>
    public static long RssBytes() => StatusKb("VmRSS:") * 1024;

    /// <summary>Memory locked by the process in bytes (VmLck; registered buffers are accounted elsewhere on recent kernels).</summary>
    public static long LockedBytes() => StatusKb("VmLck:") * 1024;

    /// <summary>Objects the library keeps pinned forever because a ring was disposed before its requests finished.</summary>
    public static int PinnedForeverObjects() => PinnedForever.Count;

    private static long StatusKb(string key)
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith(key, StringComparison.Ordinal))
            {
                string number = line[key.Length..].Trim().Split(' ')[0];
                return long.Parse(number, CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }
}
