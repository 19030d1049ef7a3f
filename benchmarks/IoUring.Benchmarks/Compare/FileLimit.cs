using System.Globalization;
using System.Runtime.InteropServices;

namespace IoUring.Benchmarks.Compare;

/// <summary>
/// RLIMIT_NOFILE for the http scenario's many-connection rows: wrk and the server (children of the runner, which
/// inherit its limits) each need a descriptor per connection plus their own.
/// </summary>
internal static class FileLimit
{
    private const int RLIMIT_NOFILE = 7;

    /// <summary>Raises this process's soft limit to at least <paramref name="needed"/> (up to the hard limit).</summary>
    /// <returns>Null when the limit is enough; otherwise a note for the report.</returns>
    public static string? Ensure(int needed)
    {
        if (getrlimit(RLIMIT_NOFILE, out RLimit limit) != 0)
        {
            return $"RLIMIT_NOFILE could not be read (errno {Marshal.GetLastPInvokeError()}); rows with many connections may fail.";
        }

        if (limit.Current >= (ulong)needed)
        {
            return null;
        }

        ulong raised = Math.Min(limit.Maximum, (ulong)needed);
        var wanted = new RLimit { Current = raised, Maximum = limit.Maximum };
        if (setrlimit(RLIMIT_NOFILE, in wanted) != 0)
        {
            return $"RLIMIT_NOFILE is {limit.Current} and could not be raised to {needed} (errno {Marshal.GetLastPInvokeError()}); rows with many connections may fail.";
        }

        return raised < (ulong)needed
            ? string.Create(CultureInfo.InvariantCulture, $"RLIMIT_NOFILE's hard limit is {limit.Maximum}, below the {needed} descriptors the many-connection rows need; they may fail (raise it with ulimit -Hn).")
            : null;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

#pragma warning disable SYSLIB1054 // LibraryImport would need unsafe code for the struct arguments; the runner stays safe.
    [DllImport("libc", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int getrlimit(int resource, out RLimit limit);

    [DllImport("libc", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int setrlimit(int resource, in RLimit limit);
#pragma warning restore SYSLIB1054
}
