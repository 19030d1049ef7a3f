using System.Buffers;
using System.IO.Pipelines;
using IoUring.Samples;

namespace HttpPlaintext;

/// <summary>
/// A minimal HTTP/1.1 responder in the shape of the TechEmpower plaintext test, written against
/// <see cref="IDuplexPipe"/> only, so that the same code runs on any transport. It answers every complete request
/// head (terminated by an empty line) in the input, so pipelined requests are handled in order and their responses
/// leave in one flush; connections are keep-alive. Bodies are not supported: only GET and HEAD are accepted.
/// </summary>
internal static class PlaintextHandler
{
    /// <summary>A request head longer than this is refused with 431 and the connection is closed.</summary>
    public const int MaxRequestHeadBytes = 8 * 1024;

    private static ReadOnlySpan<byte> HeadEnd => "\r\n\r\n"u8;

    private static ReadOnlySpan<byte> OkHead => "HTTP/1.1 200 OK\r\nServer: IoUring\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nDate: "u8;

    private static ReadOnlySpan<byte> OkTail => "\r\n\r\nHello, World!"u8;

    private static ReadOnlySpan<byte> HeadOkTail => "\r\n\r\n"u8;

    private static ReadOnlySpan<byte> NotFoundHead => "HTTP/1.1 404 Not Found\r\nServer: IoUring\r\nContent-Length: 0\r\nDate: "u8;

    private static ReadOnlySpan<byte> NotAllowedHead => "HTTP/1.1 405 Method Not Allowed\r\nServer: IoUring\r\nAllow: GET, HEAD\r\nContent-Length: 0\r\nConnection: close\r\nDate: "u8;

    private static ReadOnlySpan<byte> TooLargeHead => "HTTP/1.1 431 Request Header Fields Too Large\r\nServer: IoUring\r\nContent-Length: 0\r\nConnection: close\r\nDate: "u8;

    /// <summary>What a request head asks for.</summary>
    internal enum Kind
    {
        Plaintext,
        PlaintextHead,
        NotFound,
        NotAllowed,
    }

    /// <summary>Serves one connection until the peer closes it, the transport fails, or a request is refused.</summary>
    public static async Task RunAsync(IDuplexPipe connection)
    {
        PipeReader input = connection.Input;
        PipeWriter output = connection.Output;
        try
        {
            while (true)
            {
                ReadResult result = await input.ReadAsync();
                ReadOnlySequence<byte> buffer = result.Buffer;
                (int answered, bool close) = Answer(ref buffer, output);
                input.AdvanceTo(buffer.Start, buffer.End);
                if (answered > 0)
                {
                    ServerControl.AddRequests(answered);
                    FlushResult flushed = await output.FlushAsync();
                    if (flushed.IsCompleted || flushed.IsCanceled)
                    {
                        break;
                    }
                }

                if (close || result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (IOException)
        {
            // The transport reports a broken connection this way; there is nobody left to answer.
        }
        finally
        {
            await input.CompleteAsync();
            await output.CompleteAsync();
        }
    }

    /// <summary>
    /// Writes a response for every complete request head at the start of <paramref name="buffer"/> and slices them
    /// off. Returns how many were answered, and whether the connection must close after the flush.
    /// </summary>
    internal static (int Answered, bool Close) Answer(ref ReadOnlySequence<byte> buffer, IBufferWriter<byte> output)
    {
        int answered = 0;
        while (TryReadHead(ref buffer, out Kind kind))
        {
            answered++;
            if (kind == Kind.NotAllowed)
            {
                Write(output, NotAllowedHead, HeadOkTail);
                return (answered, true);
            }

            switch (kind)
            {
                case Kind.Plaintext:
                    Write(output, OkHead, OkTail);
                    break;
                case Kind.PlaintextHead:
                    Write(output, OkHead, HeadOkTail);
                    break;
                default:
                    Write(output, NotFoundHead, HeadOkTail);
                    break;
            }
        }

        if (buffer.Length > MaxRequestHeadBytes)
        {
            Write(output, TooLargeHead, HeadOkTail);
            return (answered + 1, true);
        }

        return (answered, false);
    }

    private static void Write(IBufferWriter<byte> output, ReadOnlySpan<byte> head, ReadOnlySpan<byte> tail)
    {
        int length = head.Length + DateHeader.Length + tail.Length;
        Span<byte> span = output.GetSpan(length);
        head.CopyTo(span);
        DateHeader.Value.CopyTo(span[head.Length..]);
        tail.CopyTo(span[(head.Length + DateHeader.Length)..]);
        output.Advance(length);
    }

    /// <summary>Finds the first complete request head; on success slices it (and its empty line) off the buffer.</summary>
    internal static bool TryReadHead(ref ReadOnlySequence<byte> buffer, out Kind kind)
    {
        kind = Kind.NotFound;
        if (buffer.IsSingleSegment)
        {
            ReadOnlySpan<byte> span = buffer.FirstSpan;
            int end = span.IndexOf(HeadEnd);
            if (end < 0)
            {
                return false;
            }

            kind = Classify(span[..end]);
            buffer = buffer.Slice(end + HeadEnd.Length);
            return true;
        }

        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryReadTo(out ReadOnlySequence<byte> head, HeadEnd))
        {
            return false;
        }

        // Only the request line matters; copy enough of it to classify (a head split across segments is rare).
        Span<byte> line = stackalloc byte[256];
        ReadOnlySequence<byte> prefix = head.Length > line.Length ? head.Slice(0, line.Length) : head;
        prefix.CopyTo(line);
        kind = Classify(line[..(int)prefix.Length]);
        buffer = buffer.Slice(reader.Position);
        return true;
    }

    /// <summary>Classifies a request by its request line (<c>METHOD SP target SP version</c>).</summary>
    internal static Kind Classify(ReadOnlySpan<byte> head)
    {
        int eol = head.IndexOf((byte)'\r');
        ReadOnlySpan<byte> line = eol >= 0 ? head[..eol] : head;
        bool isHead;
        if (line.StartsWith("GET "u8))
        {
            line = line[4..];
            isHead = false;
        }
        else if (line.StartsWith("HEAD "u8))
        {
            line = line[5..];
            isHead = true;
        }
        else
        {
            return Kind.NotAllowed;
        }

        int space = line.IndexOf((byte)' ');
        ReadOnlySpan<byte> target = space >= 0 ? line[..space] : line;
        int query = target.IndexOf((byte)'?');
        if (query >= 0)
        {
            target = target[..query];
        }

        return target.SequenceEqual("/plaintext"u8) || target.SequenceEqual("/"u8)
            ? (isHead ? Kind.PlaintextHead : Kind.Plaintext)
            : Kind.NotFound;
    }
}
