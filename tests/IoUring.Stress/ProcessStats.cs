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
        int assemblies = FdTargets().Values.Count(IsRuntimeOwn);
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

    /// <summary>
    /// The descriptors open now that were not open (or pointed elsewhere) in <paramref name="before"/>, less the
    /// assembly and symbol files the runtime maps on first use and keeps open for the life of the process
    /// (System.Diagnostics.StackTrace.dll, System.Reflection.Metadata.dll and .pdb files the first time a stack trace
    /// is rendered with line numbers, System.Net.NameResolution.dll at the first DNS lookup, the epoll instance of the
    /// first async System.Net socket operation): those are not leaks of the code under test.
    /// </summary>
    /// <remarks>
    /// A descriptor counts only if it stays open (pointing to the same thing) for <see cref="LeakSettle"/>: every
    /// managed thread creates a pipe pair when it starts (CoreCLR's start handshake: the new thread waits on it for
    /// its creator's go, then closes both ends), and under load the thread pool may be starting a worker at the very
    /// moment of the check. Such a pair closes within milliseconds once the thread runs; a leak stays.
    /// </remarks>
    public static List<string> NewFds(SortedDictionary<int, string> before)
    {
        Dictionary<int, string> lingering = NewFdMap(before);
        long deadline = Environment.TickCount64 + (long)LeakSettle.TotalMilliseconds;
        while (lingering.Count > 0 && Environment.TickCount64 < deadline)
        {
            Thread.Sleep(20);
            Dictionary<int, string> now = NewFdMap(before);
            lingering = lingering
                .Where(kv => now.TryGetValue(kv.Key, out string? target) && target == kv.Value)
                .ToDictionary(kv => kv.Key, kv => kv.Value);
        }

        return [.. lingering.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key} -> {kv.Value}{DescribeSocket(kv.Value)}")];
    }

    /// <summary>How long a new descriptor must stay open after a run to count as leaked (see <see cref="NewFds"/>).</summary>
    public static readonly TimeSpan LeakSettle = TimeSpan.FromSeconds(2);

    /// <summary>The descriptors open now that were not open (or pointed elsewhere) in <paramref name="before"/>, the runtime's own aside.</summary>
    private static Dictionary<int, string> NewFdMap(SortedDictionary<int, string> before) => FdTargets()
        .Where(kv => !before.TryGetValue(kv.Key, out string? was) || was != kv.Value)
        .Where(kv => !IsRuntimeOwn(kv.Value))
        .ToDictionary(kv => kv.Key, kv => kv.Value);

    /// <summary>
    /// A descriptor the runtime opens for itself on first use and keeps for the life of the process: assembly and
    /// symbol files, and the epoll instance of System.Net.Sockets' async engine (created at the first async socket
    /// operation; the library itself never creates an epoll instance).
    /// </summary>
    private static bool IsRuntimeOwn(string target) =>
        target.EndsWith(".dll", StringComparison.Ordinal) || target.EndsWith(".pdb", StringComparison.Ordinal) ||
        target == "anon_inode:[eventpoll]";

    /// <summary>For "socket:[inode]": its protocol, addresses and state from /proc/self/net, to tell what leaked.</summary>
    private static string DescribeSocket(string target)
    {
        if (!target.StartsWith("socket:[", StringComparison.Ordinal))
        {
            return string.Empty;
        }

        string inode = target[8..^1];
        foreach (string table in new[] { "tcp", "tcp6", "udp", "udp6", "unix" })
        {
            try
            {
                foreach (string line in File.ReadLines($"/proc/self/net/{table}").Skip(1))
                {
                    string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    // tcp/udp: sl local rem st ... inode (field 9); unix: Num RefCount Protocol Flags Type St Inode Path
                    int at = table == "unix" ? 6 : 9;
                    if (f.Length > at && f[at] == inode)
                    {
                        return table == "unix"
                            ? $" (unix, type {f[4]}, state {f[5]}{(f.Length > 7 ? ", " + f[7] : string.Empty)})"
                            : $" ({table} {f[1]} -> {f[2]}, state 0x{f[3]})";
                    }
                }
            }
            catch (IOException)
            {
            }
        }

        return " (not in /proc/self/net)";
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
