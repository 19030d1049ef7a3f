namespace IoUring.Tests;

/// <summary>
/// A <see cref="TempFile"/> opened as a <see cref="UringFile"/> on an engine of its own, the setup of most file tests
/// (the constructor skips the test where io_uring is unusable). Disposing closes the file and the engine and deletes
/// the file.
/// </summary>
internal sealed class UringTempFile : IDisposable
{
    /// <param name="length">Bytes of deterministic content (see <see cref="TempFile"/>).</param>
    /// <param name="seed">Seed of the content.</param>
    /// <param name="access">How the <see cref="UringFile"/> is opened.</param>
    public UringTempFile(int length, int seed = 1, FileAccess access = FileAccess.Read)
    {
        Kernel.RequireIoUring();
        Engine = new IoUringEngine();
        Temp = new TempFile(length, seed);
        try
        {
            File = UringFile.Open(Engine, Temp.Path, FileMode.Open, access);
        }
        catch
        {
            Temp.Dispose();
            Engine.Dispose();
            throw;
        }
    }

    /// <summary>The engine the file's I/O runs on (default options).</summary>
    public IoUringEngine Engine { get; }

    /// <summary>The file on disk and the content it was created with.</summary>
    public TempFile Temp { get; }

    /// <summary>The open file.</summary>
    public UringFile File { get; }

    /// <summary>For <c>(TempFile temp, UringFile file) = opened;</c>.</summary>
    public void Deconstruct(out TempFile temp, out UringFile file)
    {
        temp = Temp;
        file = File;
    }

    public void Dispose()
    {
        File.Dispose();
        Temp.Dispose();
        Engine.Dispose();
    }
}
