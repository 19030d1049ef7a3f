using Microsoft.Win32.SafeHandles;

namespace IoUring.Tests;

/// <summary>A temporary file filled with deterministic bytes, deleted on dispose.</summary>
internal sealed class TempFile : IDisposable
{
    public TempFile(int length, int seed = 1)
    {
        Path = NewPath();
        Content = TestData.Bytes(length, seed);
        File.WriteAllBytes(Path, Content);
    }

    public string Path { get; }

    public byte[] Content { get; }

    /// <summary>A fresh path in the temporary directory; nothing is created there.</summary>
    public static string NewPath(string tag = "f") =>
        System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"iouring-test-{tag}-{Guid.NewGuid():N}");

    public SafeFileHandle Open(FileAccess access = FileAccess.Read) =>
        File.OpenHandle(Path, FileMode.Open, access, FileShare.ReadWrite);

    public void Dispose()
    {
        try
        {
            File.Delete(Path);
        }
        catch (IOException)
        {
        }
    }
}
