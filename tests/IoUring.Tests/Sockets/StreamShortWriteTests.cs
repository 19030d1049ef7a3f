using System.Net.Sockets;

namespace IoUring.Tests.Sockets;

/// <summary>
/// Regression: a write with offset -1 to a stream (socket, pipe) that the kernel completes short is resubmitted for
/// the rest. The resubmission used to advance the offset from -1 to a real position, which the kernel refuses on an
/// unseekable file with ESPIPE.
/// </summary>
public sealed class StreamShortWriteTests
{
    [UringFact]
    public async Task A_large_engine_write_to_a_Unix_socket_completes_after_short_writes()
    {
        await using var engine = new IoUringEngine();
        (Socket a, Socket b) = SocketPair();
        using (a)
        using (b)
        {
            byte[] data = SocketKit.Pattern(4 * 1024 * 1024, seed: 31);
            CancellationToken ct = Wait.Timeout();
            Task<byte[]> reading = SocketKit.ReceiveExactlyAsync(b, data.Length, ct);
            // One write far larger than the socket buffer: the kernel writes part of it, the engine sends the rest.
            await engine.WriteAsync(a.SafeHandle, data, -1, ct).AsTask().Within();
            Assert.Equal(data, await reading.Within());

            // The gather form too.
            Task<byte[]> reading2 = SocketKit.ReceiveExactlyAsync(b, data.Length, ct);
            var parts = new List<ReadOnlyMemory<byte>>();
            for (int i = 0; i < data.Length; i += 256 * 1024)
            {
                parts.Add(data.AsMemory(i, 256 * 1024));
            }

            await engine.WriteAsync(a.SafeHandle, parts, -1, ct).AsTask().Within();
            Assert.Equal(data, await reading2.Within());
        }
    }

    private static (Socket, Socket) SocketPair()
    {
        string path = Path.Combine(Path.GetTempPath(), $"iouring-pair-{Guid.NewGuid():N}.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        var a = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        a.Connect(new UnixDomainSocketEndPoint(path));
        Socket b = listener.Accept();
        File.Delete(path);
        return (a, b);
    }
}
