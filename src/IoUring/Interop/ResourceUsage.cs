using System.Runtime.InteropServices;

namespace IoUring.Interop;

/// <summary><c>struct rusage</c> on 64-bit Linux: two <c>timeval</c>s then fourteen <c>long</c>s (144 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct RUsage
{
    public long UserSeconds;
    public long UserMicroseconds;
    public long SystemSeconds;
    public long SystemMicroseconds;
    public long MaxRss;
    public long IxRss;
    public long IdRss;
    public long IsRss;
    public long MinorFaults;
    public long MajorFaults;
    public long Swaps;
    public long BlocksIn;
    public long BlocksOut;
    public long MessagesSent;
    public long MessagesReceived;
    public long Signals;
    public long VoluntaryContextSwitches;
    public long InvoluntaryContextSwitches;

    /// <summary>User plus system CPU time in microseconds.</summary>
    public readonly long CpuMicroseconds =>
        ((UserSeconds + SystemSeconds) * 1_000_000) + UserMicroseconds + SystemMicroseconds;
}

/// <summary><c>struct cachestat_range</c> (cachestat(2), Linux 6.5).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct CachestatRange
{
    public ulong Offset;
    public ulong Length;
}

/// <summary><c>struct cachestat</c>: page counts for a file range.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct CachestatResult
{
    public ulong Cache;
    public ulong Dirty;
    public ulong Writeback;
    public ulong Evicted;
    public ulong RecentlyEvicted;
}
