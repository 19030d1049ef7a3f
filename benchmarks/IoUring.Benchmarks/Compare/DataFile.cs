using System.Diagnostics;
using IoUring.Interop;
using Microsoft.Win32.SafeHandles;

namespace IoUring.Benchmarks.Compare;

/// <summary>
/// The benchmark's data file: random bytes, created in a temp directory and deleted on dispose. Knows how to make
/// it hot (every page in the page cache) or cold (evicted with <c>posix_fadvise(DONTNEED)</c>) and how many of its
/// pages are resident (<c>cachestat(2)</c>).
/// </summary>
internal sealed class DataFile : IDisposable
{
    public const int Block = 4096;

    private DataFile(string path, long size, SafeFileHandle handle)
    {
        Path = path;
        Size = size;
        Handle = handle;
        Fd = (int)handle.DangerousGetHandle();
        Pages = (ulong)(size / Block);
        CachestatWorks = Libc.Cachestat(Fd, 0, 0, out _) == 0;
        _blockStat = MachineInfo.BlockStatFile(path);
        // Random access: no readahead, so a miss reads exactly the 4 KiB asked for. The C twin and fio do the same.
        _ = Libc.PosixFadvise(Fd, 0, 0, Libc.POSIX_FADV_RANDOM);
    }

    private readonly string? _blockStat;

    public string Path { get; }

    public long Size { get; }

    public ulong Pages { get; }

    /// <summary>Read-only handle shared by the in-process contenders (pread is positional, so sharing is safe).</summary>
    public SafeFileHandle Handle { get; }

    public int Fd { get; }

    /// <summary>False before Linux 6.5: the hit ratio cannot be measured then.</summary>
    public bool CachestatWorks { get; }

    public static DataFile Create(string directory, long size, TextWriter log)
    {
        System.IO.Directory.CreateDirectory(directory);
        string path = System.IO.Path.Combine(directory, $"iouring-bench-{Environment.ProcessId}-{Guid.NewGuid():N}.dat");
        var sw = Stopwatch.StartNew();
        byte[] chunk = new byte[1 << 20];
        var rng = new SplitMix64(0xC0FFEE);
        using (var fs = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 1, FileOptions.None))
        {
            fs.SetLength(size);
            for (long written = 0; written < size; written += chunk.Length)
            {
                Span<ulong> words = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(chunk.AsSpan());
                for (int i = 0; i < words.Length; i++)
                {
                    words[i] = rng.Next();
                }

                fs.Write(chunk, 0, (int)Math.Min(chunk.Length, size - written));
            }

            // Clean pages only: DONTNEED cannot drop dirty ones, so the cold scenario needs the data on the device.
            fs.Flush(flushToDisk: true);
        }

        SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        log.WriteLine($"data file: {path}, {size >> 20} MiB written in {sw.Elapsed.TotalSeconds:F1} s");
        return new DataFile(path, size, handle);
    }

    /// <summary>Pages of the file in the page cache, or -1 without cachestat.</summary>
    public long Resident() => Libc.Cachestat(Fd, 0, 0, out CachestatResult r) == 0 ? (long)r.Cache : -1;

    /// <summary>
    /// 4 KiB pages read from the block device under the file so far (sectors read / 8, from its sysfs stat), or -1.
    /// Machine-wide: other processes' reads of that device count too.
    /// </summary>
    public long DevicePagesRead()
    {
        if (_blockStat is null)
        {
            return -1;
        }

        try
        {
            string[] f = File.ReadAllText(_blockStat).Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return f.Length > 2 && long.TryParse(f[2], out long sectors) ? sectors / 8 : -1;
        }
        catch (IOException)
        {
            return -1;
        }
    }

    public void Evict() => _ = Libc.PosixFadvise(Fd, 0, 0, Libc.POSIX_FADV_DONTNEED);

    /// <summary>
    /// Reads the whole file once through its own descriptor, cached or not (touching every page, so none is left for
    /// the host to fault back in during the run), and returns the resident fraction after. Keeps whatever folios the
    /// cache holds: see <see cref="RecacheSequentially"/> for sequential passes.
    /// </summary>
    public double EnsureHot()
    {
        _ = Libc.PosixFadvise(Fd, 0, 0, Libc.POSIX_FADV_WILLNEED);
        using var buffer = new NativeBuffer(1 << 20);
        for (long off = 0; off < Size; off += buffer.Length)
        {
            long n = Libc.PRead(Fd, buffer.Span, off);
            if (n <= 0)
            {
                throw new IOException($"warming the data file: pread returned {n}");
            }
        }

        return ResidentFraction();
    }

    /// <summary>
    /// Evicts the file and reads it back sequentially through a new descriptor with the kernel's default read-ahead,
    /// so the page cache holds it in the large folios a sequential read or write leaves behind. The file's own
    /// descriptor has <c>POSIX_FADV_RANDOM</c> (read-ahead off) for the cold scenario, and after the random scenarios
    /// the cache holds the file in 4 KiB folios: reading 1 GiB from those ran at 3.5-4.0 GB/s against 13-14 GB/s from
    /// large folios (dd, same machine, same file), which is why the full run's "hot" sequential rows were 4-5 GB/s
    /// for everyone. Returns the resident fraction after.
    /// </summary>
    public double RecacheSequentially()
    {
        Evict();
        byte[] buffer = GC.AllocateUninitializedArray<byte>(1 << 20);
        using (var fs = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.SequentialScan))
        {
            while (fs.Read(buffer) > 0)
            {
            }
        }

        return ResidentFraction();
    }

    /// <summary>The fraction of the file's pages in the page cache now, or NaN when cachestat is unavailable.</summary>
    private double ResidentFraction()
    {
        long resident = Resident();
        return resident < 0 ? double.NaN : (double)resident / Pages;
    }

    public void Dispose()
    {
        Handle.Dispose();
        try
        {
            File.Delete(Path);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>
/// Keeps the cold scenario cold and counts its misses. Every <c>EvictEvery</c> completed reads the contender calls
/// <see cref="EvictCounting"/>, which adds the pages that became resident since the last eviction to the misses,
/// then evicts again. With readahead off (<c>POSIX_FADV_RANDOM</c>) one miss brings in exactly one page, so
/// misses = pages that became resident, and hits = reads - misses. Thread-safe: a spinning gate, not a lock, because
/// the callers are the contenders' own workers (an engine's thread, for the async ones): a contended lock would block
/// them in a futex (which an engine takes for a blocked continuation and hands its ring off) and allocate its wait
/// event, and both would be charged to the contender.
/// </summary>
internal sealed class ColdTracker
{
    private readonly DataFile _file;
    /// <summary>1 while a thread is inside; see <see cref="Enter"/>.</summary>
    private int _busy;
    private long _misses;
    private long _base;

    public ColdTracker(DataFile file) => _file = file;

    /// <summary>Evicts and zeroes the miss count: the start of a measured window.</summary>
    public void Reset()
    {
        Enter();
        try
        {
            _file.Evict();
            _misses = 0;
            _base = _file.Resident();
        }
        finally
        {
            Exit();
        }
    }

    public void EvictCounting()
    {
        Enter();
        try
        {
            if (_file.CachestatWorks)
            {
                _misses += _file.Resident() - _base;
            }

            _file.Evict();
            _base = _file.Resident();
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Misses since <see cref="Reset"/>, or null without cachestat.</summary>
    public long? MissesNow()
    {
        Enter();
        try
        {
            return _file.CachestatWorks ? _misses + (_file.Resident() - _base) : null;
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Spins (yielding, never sleeping or blocking) until this thread is the only one inside.</summary>
    private void Enter()
    {
        SpinWait spin = default;
        while (Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            spin.SpinOnce(sleep1Threshold: -1);
        }
    }

    private void Exit() => Volatile.Write(ref _busy, 0);
}
