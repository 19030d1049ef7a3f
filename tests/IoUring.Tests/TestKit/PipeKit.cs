using System.IO.Pipelines;

namespace IoUring.Tests;

/// <summary>Draining a <see cref="PipeReader"/> (a file pipe reader, a connection's input) in tests.</summary>
internal static class PipeKit
{
    /// <summary>Reads and consumes everything until the writer completes; returns the bytes in order.</summary>
    public static async Task<byte[]> ReadToEndAsync(PipeReader reader, CancellationToken cancellationToken = default)
    {
        var all = new MemoryStream();
        while (true)
        {
            ReadResult r = await reader.ReadAsync(cancellationToken);
            foreach (ReadOnlyMemory<byte> segment in r.Buffer)
            {
                all.Write(segment.Span);
            }

            reader.AdvanceTo(r.Buffer.End);
            if (r.IsCompleted)
            {
                return all.ToArray();
            }
        }
    }
}
