using Microsoft.Win32.SafeHandles;

namespace IoUring.Tests;

/// <summary>
/// A <see cref="TempFile"/> open for reading as a raw handle, and an engine with default options to read it through:
/// the setup of the engine tests that issue their reads on the handle themselves (for a <see cref="UringFile"/>, see
/// <see cref="UringTempFile"/>). Disposing disposes the engine, closes the handle and deletes the file.
/// </summary>
internal sealed class EngineTempFile : IDisposable
{
    /// <param name="length">Bytes of deterministic content (see <see cref="TempFile"/>).</param>
    /// <param name="seed">Seed of the content.</param>
    public EngineTempFile(int length, int seed)
    {
        Temp = new TempFile(length, seed);
        try
        {
            Handle = Temp.Open();
            Engine = new IoUringEngine();
        }
        catch
        {
            Handle?.Dispose();
            Temp.Dispose();
            throw;
        }
    }

    /// <summary>The file on disk and the content it was created with.</summary>
    public TempFile Temp { get; }

    /// <summary>The file, open for reading.</summary>
    public SafeFileHandle Handle { get; }

    /// <summary>The engine (default options).</summary>
    public IoUringEngine Engine { get; }

    /// <summary>For <c>var (file, handle, engine) = rig;</c>.</summary>
    public void Deconstruct(out TempFile temp, out SafeFileHandle handle, out IoUringEngine engine)
    {
        temp = Temp;
        handle = Handle;
        engine = Engine;
    }

    public void Dispose()
    {
        Engine.Dispose();
        Handle.Dispose();
        Temp.Dispose();
    }
}
