namespace IoUring.Tests.Reliability;

/// <summary>A disposed object's <see cref="ObjectDisposedException"/> names the public type the caller used, never an internal one.</summary>
public sealed class DisposedObjectNameTests
{
    [Fact]
    public void A_disposed_NativeBuffer_is_named_NativeBuffer_whichever_view_touches_it()
    {
        var buffer = new NativeBuffer(64);
        Memory<byte> memory = buffer.Memory;
        buffer.Dispose();
        foreach (Action touch in new Action[] { () => _ = buffer.Span.Length, () => _ = memory.Span.Length, () => memory.Pin().Dispose(), () => _ = buffer.Address })
        {
            ObjectDisposedException e = Assert.Throws<ObjectDisposedException>(touch);
            Assert.Equal(typeof(NativeBuffer).FullName, e.ObjectName);
            Assert.DoesNotContain("Interop", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_disposed_file_stream_adapter_fails_like_a_disposed_FileStream()
    {
        using var opened = new UringTempFile(16);
        (TempFile temp, UringFile file) = opened;
        Stream stream = file.AsStream();
        await stream.DisposeAsync();
        var fs = new FileStream(temp.Path, FileMode.Open, FileAccess.Read);
        await fs.DisposeAsync();

        ObjectDisposedException expected = await Assert.ThrowsAsync<ObjectDisposedException>(async () => await fs.ReadExactlyAsync(new byte[1], TestContext.Current.CancellationToken));
        ObjectDisposedException e = await Assert.ThrowsAsync<ObjectDisposedException>(async () => await stream.ReadExactlyAsync(new byte[1], TestContext.Current.CancellationToken));
        Assert.Equal(expected.Message, e.Message);
        Assert.Equal(expected.ObjectName, e.ObjectName);
        Assert.Throws<ObjectDisposedException>(() => stream.Position);
    }
}
