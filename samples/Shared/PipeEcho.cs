using System.Buffers;
using System.IO.Pipelines;

namespace IoUring.Samples;

/// <summary>The echo loop of the EchoServer sample, shared with the socket tests that serve an echo.</summary>
internal static class PipeEcho
{
    /// <summary>
    /// Writes back everything <paramref name="input"/> yields until the peer ends the stream or the output is done
    /// (the peer stopped reading). Completing the pipes is the caller's: it decides what an error means.
    /// </summary>
    public static async Task CopyAsync(PipeReader input, PipeWriter output)
    {
        while (true)
        {
            ReadResult result = await input.ReadAsync();
            ReadOnlySequence<byte> buffer = result.Buffer;
            foreach (ReadOnlyMemory<byte> segment in buffer)
            {
                output.Write(segment.Span);
            }

            input.AdvanceTo(buffer.End);
            FlushResult flushed = await output.FlushAsync();
            if (result.IsCompleted || flushed.IsCompleted)
            {
                break;
            }
        }
    }
}
