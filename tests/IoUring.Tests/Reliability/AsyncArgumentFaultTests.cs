// The operations under test take their own tokens (or none, on purpose); the test's token would change what is tested.
#pragma warning disable xUnit1051

namespace IoUring.Tests.Reliability;

/// <summary>Arguments of the async layer that the fuzzer found accepted with a wrong meaning, now refused or honoured.</summary>
public sealed class AsyncArgumentFaultTests
{
    [Fact]
    public async Task A_path_with_an_embedded_NUL_is_refused_instead_of_opening_the_prefix()
    {
        Kernel.RequireIoUring();
        using var temp = new TempFile(4096, seed: 4);
        using var engine = new IoUringEngine();
        string path = temp.Path + "\0.other";

        // Before the fix the kernel read the path up to the NUL and opened temp.Path.
        await Assert.ThrowsAsync<ArgumentException>(async () => await engine.OpenAsync(path, 0));
        await Assert.ThrowsAsync<ArgumentException>(async () => await engine.StatAsync(path));
        await Assert.ThrowsAsync<ArgumentException>(async () => await UringFile.OpenAsync(engine, path, FileMode.Open));
        Assert.Throws<ArgumentException>(() => File.OpenHandle(path));

        // The engine is unaffected.
        using UringFile ok = await UringFile.OpenAsync(engine, temp.Path, FileMode.Open);
        Assert.Equal(4096, await ok.GetLengthAsync());
    }
}
