using System.Runtime.InteropServices;
using IoUring.Interop;
using Microsoft.Win32.SafeHandles;

namespace IoUring.Stress.Fuzz;

/// <summary>
/// What fuzzed requests may name: descriptors the fuzzer owns (two files, a pipe, an eventfd) or that are certainly
/// not open, and memory the fuzzer owns (an arena). Random requests never name a descriptor or an address outside
/// this pool, so the kernel can only ever read or write the fuzzer's own files and memory, whatever the arguments.
/// </summary>
internal sealed class FuzzPool : IDisposable
{
    /// <summary>Above any RLIMIT_NOFILE: never open, never reused by another thread.</summary>
    public const int NeverOpenFd = 1 << 29;

    public const int ArenaBytes = 1 << 20;
    public const int MaxIoVecs = 64;
    public const int MaxFdsArray = 64;
    private const int FileBytes = 64 * 1024;

    private readonly SafeFileHandle[] _files;
    private readonly string _dir;
    private readonly int _pipeRead;
    private readonly int _pipeWrite;
    private readonly int _eventFd;

    public FuzzPool(int seed)
    {
        _dir = Path.Combine(Path.GetTempPath(), $"iouring-fuzz-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_dir);
        var rng = new Random(seed);
        _files = new SafeFileHandle[2];
        for (int i = 0; i < _files.Length; i++)
        {
            byte[] content = new byte[FileBytes];
            rng.NextBytes(content);
            string path = Path.Combine(_dir, $"f{i}");
            File.WriteAllBytes(path, content);
            _files[i] = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        }

        if (Libc.Pipe2(out _pipeRead, out _pipeWrite, Libc.O_CLOEXEC) != 0)
        {
            throw new InvalidOperationException("pipe2 failed");
        }

        _eventFd = Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        Arena = new NativeBuffer(ArenaBytes);
        rng.NextBytes(Arena.Span);
        IoVecs = new NativeBuffer(MaxIoVecs * Marshal.SizeOf<IoVec>());
        FdsArray = new NativeBuffer(MaxFdsArray * sizeof(int));
        EmptyPath = new NativeBuffer(8);
        ValidFds = [(int)_files[0].DangerousGetHandle(), (int)_files[1].DangerousGetHandle(), _pipeRead, _pipeWrite, _eventFd];
        InvalidFds = [-1, NeverOpenFd, int.MaxValue, int.MinValue, Sqe.AtFdCwd];
    }

    public NativeBuffer Arena { get; }

    public NativeBuffer IoVecs { get; }

    public NativeBuffer FdsArray { get; }

    /// <summary>A NUL byte no request ever writes: the empty path for statx with AT_EMPTY_PATH.</summary>
    public NativeBuffer EmptyPath { get; }

    public int[] ValidFds { get; }

    public int[] InvalidFds { get; }

    public int EventFd => _eventFd;

    public int PipeRead => _pipeRead;

    public int PipeWrite => _pipeWrite;

    /// <summary>A descriptor from the pool: mostly ours, sometimes one that is certainly not open.</summary>
    public int Fd(Random rng) => rng.Next(5) == 0 ? InvalidFds[rng.Next(InvalidFds.Length)] : ValidFds[rng.Next(ValidFds.Length)];

    /// <summary>
    /// An address and length the kernel may use: a range inside the arena, or address 0 with a random length (which
    /// the kernel rejects with EFAULT before touching anything).
    /// </summary>
    public (nint Address, uint Length) Range(Random rng, int maxLength)
    {
        if (rng.Next(12) == 0)
        {
            return (0, (uint)rng.Next(0, maxLength + 1));
        }

        int offset = rng.Next(0, ArenaBytes);
        int length = rng.Next(0, Math.Min(maxLength, ArenaBytes - offset) + 1);
        return (Arena.Address + offset, (uint)length);
    }

    /// <summary>Fills the iovec array with up to <paramref name="count"/> ranges inside the arena; returns its address.</summary>
    public nint FillIoVecs(Random rng, int count)
    {
        Span<IoVec> vecs = MemoryMarshal.Cast<byte, IoVec>(IoVecs.Span);
        for (int i = 0; i < Math.Min(count, MaxIoVecs); i++)
        {
            (nint a, uint l) = Range(rng, 8192);
            vecs[i] = new IoVec(a, l);
        }

        return IoVecs.Address;
    }

    /// <summary>Fills the fd array (for IORING_OP_FILES_UPDATE) with pool descriptors and -1/skip markers.</summary>
    public nint FillFds(Random rng, int count)
    {
        Span<int> fds = MemoryMarshal.Cast<byte, int>(FdsArray.Span);
        for (int i = 0; i < Math.Min(count, MaxFdsArray); i++)
        {
            fds[i] = rng.Next(6) switch
            {
                0 => -1,
                1 => SqeConstants.RegisterFilesSkip,
                2 => NeverOpenFd,
                _ => ValidFds[rng.Next(ValidFds.Length)],
            };
        }

        return FdsArray.Address;
    }

    /// <summary>A table of descriptors for RegisterFiles/UpdateRegisteredFiles: pool fds, -1, skip, never-open.</summary>
    public int[] FdTable(Random rng, int count)
    {
        int[] fds = new int[count];
        bool mostlyValid = rng.Next(2) == 0;
        for (int i = 0; i < count; i++)
        {
            fds[i] = rng.Next(mostlyValid ? 30 : 6) switch
            {
                0 => -1,
                1 => SqeConstants.RegisterFilesSkip,
                2 => NeverOpenFd,
                _ => ValidFds[rng.Next(ValidFds.Length)],
            };
        }

        return fds;
    }

    /// <summary>Keeps the files small: random writes at large offsets only make them sparse, but writes add up.</summary>
    public void TrimFiles()
    {
        foreach (SafeFileHandle h in _files)
        {
            RandomAccess.SetLength(h, FileBytes);
        }
    }

    /// <summary>
    /// Empties the pipe so that later requests see a predictable start. Each read goes through a ring of its own, with
    /// a 1 ms wait and a cancel, never a blocking read(2): a request of an earlier ring the kernel is still tearing down
    /// can take the data between a readiness check and the read (Ring fuzz seed 1 of the final sweep hung in such a
    /// read(2) after a POLL_ADD had said the pipe was readable).
    /// </summary>
    public void DrainPipe()
    {
        using var sink = new NativeBuffer(65536);
        using var ring = new Ring(2);
        while (true)
        {
            ring.GetSqe().PrepRead(_pipeRead, sink, ulong.MaxValue);
            ring.Submit();
            if (!ring.TryWaitCqe(TimeSpan.FromMilliseconds(1), out Cqe c))
            {
                ring.GetSqe().PrepCancelAny();
                ring.Submit();
                while (ring.InFlight > 0)
                {
                    ring.CqeSeen(ring.WaitCqe());
                }

                return;
            }

            ring.CqeSeen(c);
            if (c.Res <= 0)
            {
                return;
            }
        }
    }

    /// <summary>Frees the arena and iovec memory only when <paramref name="memoryIsIdle"/>; descriptors are always closed.</summary>
    public void Dispose(bool memoryIsIdle)
    {
        foreach (SafeFileHandle h in _files)
        {
            h.Dispose();
        }

        _ = Libc.Close(_pipeRead);
        _ = Libc.Close(_pipeWrite);
        _ = Libc.Close(_eventFd);
        if (memoryIsIdle)
        {
            Arena.Dispose();
            IoVecs.Dispose();
            FdsArray.Dispose();
            EmptyPath.Dispose();
        }

        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    public void Dispose() => Dispose(memoryIsIdle: false);
}
