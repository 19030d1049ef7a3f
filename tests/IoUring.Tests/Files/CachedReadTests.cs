using IoUring.Interop;
using Microsoft.Win32.SafeHandles;

namespace IoUring.Tests.Files;

/// <summary>
/// The stream's page-cache fast path (<c>CachedRead</c>): an asynchronous read copies what the page cache holds on the
/// calling thread (<c>preadv2(RWF_NOWAIT)</c>) and reads only the rest through the ring. Every byte is checked, the
/// reads are as full as FileStream's, and each path is shown to be taken (the stream counts them).
/// </summary>
public sealed class CachedReadTests
{
    [UringTheory]
    [InlineData(4096)]
    [InlineData(65_536)]
    [InlineData(1024 * 1024)]
    public async Task A_cached_file_is_read_on_the_calling_thread_into_the_callers_buffer(int bufferSize)
    {
        using var temp = new TempFile((3 * 1024 * 1024) + 1234, seed: bufferSize);
        using UringFile file = UringFile.Open(temp.Path);
        await using Stream stream = file.AsStream();
        var uring = (UringFileStream)stream;
        byte[] buffer = new byte[bufferSize];
        long total = 0;
        int reads = 0;
        while (true)
        {
            ValueTask<int> read = stream.ReadAsync(buffer, TestContext.Current.CancellationToken);
            int n = await read;
            if (n == 0)
            {
                break;
            }

            reads++;
            Assert.Equal((int)Math.Min(bufferSize, temp.Content.Length - total), n);
            Assert.True(buffer.AsSpan(0, n).SequenceEqual(temp.Content.AsSpan((int)total, n)), $"the bytes at {total} differ");
            total += n;
            Assert.Equal(total, stream.Position);
        }

        Assert.Equal(temp.Content.Length, total);

        // The file was just written: its pages are in the cache (dirty ones too), so reads take the fast path.
        Assert.True(uring.CachedReads > 0, $"no read was served from the page cache ({uring.RingReads} through the ring)");
        Assert.Equal(reads + 1, uring.CachedReads + uring.RingReads);
    }

    [UringTheory]
    [InlineData(4096)]
    [InlineData(65_636)]
    [InlineData(1_000_000)]
    public async Task An_evicted_file_partly_cached_reads_in_full_reads_with_every_byte(int bufferSize)
    {
        const int Length = (6 * 1024 * 1024) + 13;
        using var temp = new TempFile(Length, seed: bufferSize + 1);
        bool evicted = Evict(temp.Path);

        // Cache exactly the first 200 KiB of every 512 KiB (no read-ahead on this descriptor), so reads start in cached
        // ranges and run into evicted ones: the cached part is copied at once, the rest read through the ring.
        using (SafeFileHandle warm = File.OpenHandle(temp.Path))
        {
            _ = Libc.PosixFadvise((int)warm.DangerousGetHandle(), 0, 0, Libc.POSIX_FADV_RANDOM);
            byte[] scratch = new byte[200 * 1024];
            for (long at = 0; at < Length; at += 512 * 1024)
            {
                _ = RandomAccess.Read(warm, scratch, at);
            }
        }

        using UringFile file = UringFile.Open(temp.Path);
        await using Stream stream = file.AsStream();
        var uring = (UringFileStream)stream;
        byte[] buffer = new byte[bufferSize];
        long total = 0;
        int n;
        while ((n = await stream.ReadAsync(buffer, TestContext.Current.CancellationToken)) > 0)
        {
            // As full as FileStream's: only the last read is short.
            Assert.Equal((int)Math.Min(bufferSize, Length - total), n);
            Assert.True(buffer.AsSpan(0, n).SequenceEqual(temp.Content.AsSpan((int)total, n)), $"the bytes at {total} differ");
            total += n;
            Assert.Equal(total, stream.Position);
        }

        Assert.Equal(Length, total);
        Assert.Equal(0, await stream.ReadAsync(buffer, TestContext.Current.CancellationToken));
        Assert.Equal(Length, stream.Position);
        Assert.True(uring.CachedReads > 0, "no read was served from the page cache");
        if (evicted)
        {
            Assert.True(uring.RingReads > 0, "no read went through the ring although the file was evicted");
            if (bufferSize % 4096 != 0)
            {
                Assert.True(uring.PartlyCachedReads > 0, "no read combined a cached part with a ring read");
            }
        }
    }

    [UringFact]
    public async Task An_O_DIRECT_stream_never_takes_the_page_cache_path()
    {
        const int Length = 2 * 1024 * 1024;
        using var temp = new TempFile(Length, seed: 77);
        // OpenAsync passes O_DIRECT to openat (UringFile.Open sets it after File.OpenHandle, which ignores it on Linux).
        using UringFile file = await UringFile.OpenAsync(temp.Path, new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Read, Options = (FileOptions)0x20000000 }, TestContext.Current.CancellationToken);
        Assert.NotEqual(0, Libc.GetStatusFlags((int)file.Handle.DangerousGetHandle()) & OpenFlags.ODirect);
        await using Stream stream = file.AsStream();
        var uring = (UringFileStream)stream;
        using var buffer = new NativeBuffer(256 * 1024, 4096);
        long total = 0;
        int n;
        while ((n = await stream.ReadAsync(buffer.Memory, TestContext.Current.CancellationToken)) > 0)
        {
            Assert.True(buffer.Span[..n].SequenceEqual(temp.Content.AsSpan((int)total, n)), $"the bytes at {total} differ");
            total += n;
        }

        Assert.Equal(Length, total);
        Assert.Equal(0, uring.CachedReads);
        Assert.True(uring.RingReads > 0);
    }

    /// <summary>Writes the file's dirty pages and drops it from the page cache; true when cachestat shows it gone (or cannot tell).</summary>
    internal static bool Evict(string path)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        fs.Flush(flushToDisk: true);
        int fd = (int)fs.SafeFileHandle.DangerousGetHandle();
        _ = Libc.PosixFadvise(fd, 0, 0, Libc.POSIX_FADV_DONTNEED);
        if (Libc.Cachestat(fd, 0, 0, out CachestatResult r) != 0)
        {
            return true;
        }

        // Most of it gone (a page or two may be held by someone else for a moment).
        return r.Cache * 4096 < (ulong)fs.Length / 2;
    }
}
