using Microsoft.Win32.SafeHandles;

namespace IoUring.Tests;

/// <summary>A temporary file filled with deterministic bytes, deleted on dispose.</summary>
internal sealed class TempFile : IDisposable
{
    /// <param name="length">Bytes.</param>
    /// <param name="seed">Seed of the content.</param>
    /// <param name="shortName">
    /// A name of at most 31 characters: the longest a dentry holds inline, and all that a 6.1 kernel's ring fdinfo shows
    /// of a registered file (<c>d_iname</c>; a longer name lives elsewhere and the listing shows no name).
    /// </param>
    public TempFile(int length, int seed = 1, bool shortName = false)
    {
        Path = shortName ? System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"iou-{Guid.NewGuid():N}"[..24]) : NewPath();
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
