using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace IoUring.Stress.Soak;

/// <summary>
/// The workload's state, independent of how requests reach the kernel (the extension point for drivers other than
/// the Ring, such as the async engine): a few files with random content, an in-memory model of what each file must
/// hold, and range reservations that keep the model exact while requests run concurrently.
/// </summary>
/// <remarks>
/// Rules that make every byte checkable: the file size never changes (writes stay inside the file; reads may
/// straddle or pass EOF); a read may overlap other reads but no in-flight write; a write overlaps nothing in flight.
/// So when a read completes, the model of its range is exactly what the file held while it ran, and when a write
/// completes, applying its first <c>res</c> bytes to the model reproduces the file.
/// </remarks>
public sealed class SoakFiles : IDisposable
{
    private readonly List<Reservation>[] _reservations;

    public SoakFiles(int count, int fileBytes, int seed)
    {
        Directory = Path.Combine(Path.GetTempPath(), $"iouring-soak-{Environment.ProcessId}-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(Directory);
        FileBytes = fileBytes;
        Models = new byte[count][];
        Handles = new SafeFileHandle[count];
        Paths = new string[count];
        _reservations = new List<Reservation>[count];
        var rng = new Random(seed);
        for (int i = 0; i < count; i++)
        {
            Models[i] = new byte[fileBytes];
            rng.NextBytes(Models[i]);
            Paths[i] = Path.Combine(Directory, $"file{i}.bin");
            File.WriteAllBytes(Paths[i], Models[i]);
            Handles[i] = File.OpenHandle(Paths[i], FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
            _reservations[i] = [];
        }
    }

    public string Directory { get; }

    public int FileBytes { get; }

    public int Count => Models.Length;

    public byte[][] Models { get; }

    public SafeFileHandle[] Handles { get; }

    public string[] Paths { get; }

    public int Fd(int file) => (int)Handles[file].DangerousGetHandle();

    /// <summary>Reserves [offset, offset+length) for a request; false when it conflicts with one in flight.</summary>
    public bool TryReserve(int file, long offset, int length, bool write, ulong owner)
    {
        long end = offset + length;
        foreach (Reservation r in _reservations[file])
        {
            if (offset < r.End && r.Offset < end && (write || r.Write))
            {
                return false;
            }
        }

        _reservations[file].Add(new Reservation(offset, end, write, owner));
        return true;
    }

    public void Release(int file, ulong owner)
    {
        List<Reservation> list = _reservations[file];
        int i = list.FindIndex(r => r.Owner == owner);
        if (i < 0)
        {
            throw new InvalidOperationException($"no reservation for request {owner} on file {file}");
        }

        list.RemoveAt(i);
    }

    public int Reservations => _reservations.Sum(l => l.Count);

    /// <summary>How many bytes a read of <paramref name="length"/> at <paramref name="offset"/> must return (EOF clamps it).</summary>
    public long ExpectedReadBytes(long offset, int length) => Math.Max(0, Math.Min(length, FileBytes - offset));

    /// <summary>Checks a completed read's bytes against the model; returns null when they match, else what differs.</summary>
    public string? VerifyRead(int file, long offset, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return null;
        }

        ReadOnlySpan<byte> expected = Models[file].AsSpan((int)offset, data.Length);
        if (data.SequenceEqual(expected))
        {
            return null;
        }

        int at = 0;
        while (at < data.Length && data[at] == expected[at])
        {
            at++;
        }

        return $"file {file} offset {offset + at}: read 0x{data[at]:x2}, model holds 0x{expected[at]:x2} ({data.Length} bytes read at {offset})";
    }

    /// <summary>Applies a completed write's bytes to the model.</summary>
    public void ApplyWrite(int file, long offset, ReadOnlySpan<byte> written) => written.CopyTo(Models[file].AsSpan((int)offset));

    /// <summary>Reads a range back with pread(2), to check that a failed write left the file alone.</summary>
    public string? VerifyOnDisk(int file, long offset, int length)
    {
        byte[] actual = new byte[length];
        int n = RandomAccess.Read(Handles[file], actual, offset);
        if (n != length)
        {
            return $"file {file}: pread of {length} at {offset} returned {n}";
        }

        return VerifyRead(file, offset, actual);
    }

    /// <summary>Reads every file in full and compares its SHA-256 with the model's; returns the digests and mismatches.</summary>
    public (string[] Digests, List<string> Mismatches) FinalChecksums()
    {
        string[] digests = new string[Count];
        var mismatches = new List<string>();
        for (int i = 0; i < Count; i++)
        {
            byte[] actual = new byte[FileBytes + 1];
            int n = 0;
            while (n < actual.Length)
            {
                int r = RandomAccess.Read(Handles[i], actual.AsSpan(n), n);
                if (r == 0)
                {
                    break;
                }

                n += r;
            }

            string onDisk = Convert.ToHexStringLower(SHA256.HashData(actual.AsSpan(0, n)));
            string model = Convert.ToHexStringLower(SHA256.HashData(Models[i]));
            digests[i] = onDisk;
            if (n != FileBytes || onDisk != model)
            {
                mismatches.Add($"file {i}: {n} bytes on disk with sha256 {onDisk}, model sha256 {model}");
            }
        }

        return (digests, mismatches);
    }

    public void Dispose()
    {
        foreach (SafeFileHandle h in Handles)
        {
            h?.Dispose();
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private readonly record struct Reservation(long Offset, long End, bool Write, ulong Owner);
}
