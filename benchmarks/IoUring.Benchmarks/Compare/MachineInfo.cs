using System.Runtime.InteropServices;

namespace IoUring.Benchmarks.Compare;

/// <summary>What the run ran on: CPU, kernel, runtime, and the block device and filesystem under the data file.</summary>
internal static class MachineInfo
{
    public static string Cpu()
    {
        string model = ReadFirst("/proc/cpuinfo", "model name") ?? RuntimeInformation.ProcessArchitecture.ToString();
        return $"{model.Trim()}, {Environment.ProcessorCount} cores";
    }

    public static string Kernel() => TryRead("/proc/sys/kernel/osrelease")?.Trim() ?? Environment.OSVersion.VersionString;

    public static string Memory()
    {
        string? total = ReadFirst("/proc/meminfo", "MemTotal");
        return total is null ? "?" : $"{long.Parse(total.Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) >> 20} GiB";
    }

    public static string LoadAverage() => string.Join(' ', (TryRead("/proc/loadavg") ?? "? ? ?").Split(' ').Take(3));

    /// <summary>The filesystem and block device holding <paramref name="path"/>, from /proc/self/mountinfo and /sys.</summary>
    public static (string Description, bool IsTmpfs) Storage(string path)
    {
        (string? best, string[]? bestFields) = MountOf(path);
        if (bestFields is null)
        {
            return ("unknown filesystem", false);
        }

        int dash = Array.IndexOf(bestFields, "-");
        string fsType = dash > 0 && dash + 1 < bestFields.Length ? bestFields[dash + 1] : "?";
        string source = dash > 0 && dash + 2 < bestFields.Length ? bestFields[dash + 2] : "?";
        string majMin = bestFields[2];
        string device = DescribeDevice(majMin);
        return ($"{fsType} on {source} ({device}), mounted at {best}", fsType is "tmpfs" or "ramfs");
    }

    /// <summary>
    /// The <c>/sys/dev/block/MAJ:MIN/stat</c> file of the block device (or partition) under <paramref name="path"/>, or
    /// null (tmpfs, overlay, no sysfs).
    /// </summary>
    public static string? BlockStatFile(string path)
    {
        string? majMin = MountOf(path).Fields?[2];
        string? stat = majMin is null ? null : $"/sys/dev/block/{majMin}/stat";
        return stat is not null && File.Exists(stat) ? stat : null;
    }

    /// <summary>
    /// The mount holding <paramref name="path"/>: the longest mount point of /proc/self/mountinfo above it, with the
    /// line's fields (2: MAJ:MIN; after "-": filesystem type and source), or nulls when there is none.
    /// </summary>
    private static (string? MountPoint, string[]? Fields) MountOf(string path)
    {
        string full = Path.GetFullPath(path);
        string? best = null;
        string[]? bestFields = null;
        foreach (string line in (TryRead("/proc/self/mountinfo") ?? string.Empty).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] f = line.Split(' ');
            if (f.Length < 10)
            {
                continue;
            }

            string mountPoint = f[4].Replace("\\040", " ", StringComparison.Ordinal);
            bool under = full == mountPoint || full.StartsWith(mountPoint.TrimEnd('/') + "/", StringComparison.Ordinal);
            if (under && (best is null || mountPoint.Length >= best.Length))
            {
                best = mountPoint;
                bestFields = f;
            }
        }

        return (best, bestFields);
    }

    private static string DescribeDevice(string majMin)
    {
        string sys = $"/sys/dev/block/{majMin}";
        if (!Directory.Exists(sys))
        {
            return $"device {majMin}, not a block device";
        }

        string real = new DirectoryInfo(sys).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? sys;
        string name = Path.GetFileName(real);
        // A partition's queue/ lives in its parent disk's directory.
        string disk = File.Exists(Path.Combine(real, "partition")) ? Path.GetDirectoryName(real)! : real;
        string diskName = Path.GetFileName(disk);
        string rotational = TryRead(Path.Combine(disk, "queue", "rotational"))?.Trim() ?? "?";
        string scheduler = TryRead(Path.Combine(disk, "queue", "scheduler"))?.Trim() ?? "?";
        string sizeSectors = TryRead(Path.Combine(disk, "size"))?.Trim() ?? "0";
        long gib = long.TryParse(sizeSectors, out long s) ? (s * 512) >> 30 : 0;
        string? model = TryRead(Path.Combine(disk, "device", "model"))?.Trim();
        string driver = disk.Contains("virtio", StringComparison.Ordinal) ? "virtio-blk" : Path.GetFileName(TryLink(Path.Combine(disk, "device", "driver")) ?? "?");
        return $"/dev/{name}{(name != diskName ? $" on {diskName}" : string.Empty)}: {driver}{(model is null ? string.Empty : $" {model}")}, {gib} GiB, rotational={rotational}, scheduler {scheduler}";
    }

    private static string? TryLink(string path)
    {
        try
        {
            return new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static string? ReadFirst(string file, string key)
    {
        foreach (string line in (TryRead(file) ?? string.Empty).Split('\n'))
        {
            if (line.StartsWith(key, StringComparison.Ordinal))
            {
                int colon = line.IndexOf(':', StringComparison.Ordinal);
                return colon >= 0 ? line[(colon + 1)..] : null;
            }
        }

        return null;
    }

    private static string? TryRead(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
