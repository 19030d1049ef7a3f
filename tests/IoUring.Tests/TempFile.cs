using Microsoft.Win32.SafeHandles;

namespace IoUring.Tests;

/// <summary>A temporary file filled with deterministic bytes, deleted on dispose.</summary>
internal sealed class TempFile : IDisposable
{
    public TempFile(int length, int seed = 1)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"iouring-test-{Guid.NewGuid():N}");
        Content = new byte[length];
        new Random(seed).NextBytes(Content);
        File.WriteAllBytes(Path, Content);
    }

    public string Path { get; }

    public byte[] Content { get; }

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
