using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using IoUring.Samples;

namespace HttpPlaintext;

/// <summary>
/// A minimal HTTP/1.1 responder in the shape of the TechEmpower plaintext test, written against
/// <see cref="IDuplexPipe"/> only, so that the same code runs on any transport. It answers every complete request
/// in the input, so pipelined requests are handled in order and their responses leave in one flush; connections are
/// keep-alive. Requests are framed by <see cref="HttpRequestParser"/>: a <c>Content-Length</c> body is read and
/// discarded (never taken for the next request), anything that cannot be framed safely is answered with its error
/// status and the connection closes. <see cref="ConnectionGovernor"/> caps connections and bounds header and idle time.
/// </summary>
internal static class PlaintextHandler
{
    /// <summary>405: a method other than GET and HEAD.</summary>
    private static readonly byte[] s_notAllowedHead = RefusalHead("405 Method Not Allowed", "Allow: GET, HEAD\r\n");

    /// <summary>400: a request that cannot be framed safely.</summary>
    private static readonly byte[] s_badRequestHead = RefusalHead("400 Bad Request");

    /// <summary>408: a request head that did not arrive in time.</summary>
    private static readonly byte[] s_timeoutHead = RefusalHead("408 Request Timeout");

    /// <summary>413: a body above the limit.</summary>
    private static readonly byte[] s_tooLargeBodyHead = RefusalHead("413 Content Too Large");

    /// <summary>431: a head above the limit.</summary>
    private static readonly byte[] s_tooLargeHead = RefusalHead("431 Request Header Fields Too Large");

    /// <summary>503: the governor's connection cap is reached.</summary>
    private static readonly byte[] s_unavailableHead = RefusalHead("503 Service Unavailable");

    /// <summary>505: an HTTP version other than 1.0 and 1.1.</summary>
    private static readonly byte[] s_badVersionHead = RefusalHead("505 HTTP Version Not Supported");

    private static ReadOnlySpan<byte> OkHead => "HTTP/1.1 200 OK\r\nServer: IoUring\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nDate: "u8;

    private static ReadOnlySpan<byte> OkTail => "\r\n\r\nHello, World!"u8;

    private static ReadOnlySpan<byte> HeadOkTail => "\r\n\r\n"u8;

    private static ReadOnlySpan<byte> CloseTail => "\r\nConnection: close\r\n\r\n"u8;

    private static ReadOnlySpan<byte> NotFoundHead => "HTTP/1.1 404 Not Found\r\nServer: IoUring\r\nContent-Length: 0\r\nDate: "u8;

    /// <summary>Serves one connection until the peer closes it, the transport fails, a request is refused or a deadline passes.</summary>
    public static async Task RunAsync(IDuplexPipe connection, ConnectionGovernor governor)
    {
        PipeReader input = connection.Input;
        PipeWriter output = connection.Output;
        ConnectionGovernor.Tracked? tracked = governor.TryAdmit(input);
        try
        {
            if (tracked is null)
            {
                Write(output, s_unavailableHead, HeadOkTail);
                await output.FlushAsync();
                return;
            }

            var state = new ConnectionState { RequestStart = -1 };
            while (true)
            {
                if (state.RequestStart >= 0)
                {
                    tracked.ExpectHead(state.RequestStart);
                }
                else
                {
                    tracked.ExpectIdle();
                }

                ReadResult result = await input.ReadAsync();
                ReadOnlySequence<byte> buffer = result.Buffer;
                if (result.IsCanceled && tracked.TimedOut)
                {
                    // The heartbeat ended the wait: a request under way gets 408, an idle connection just closes.
                    if (state.RequestStart >= 0)
                    {
                        Write(output, s_timeoutHead, HeadOkTail);
                        await output.FlushAsync();
                    }

                    input.AdvanceTo(buffer.Start);
                    break;
                }

                (int answered, bool close) = Answer(ref buffer, output, ref state);
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
            tracked?.Dispose();
            await input.CompleteAsync();
            await output.CompleteAsync();
        }
    }

    /// <summary>What a connection carries from one read to the next.</summary>
    internal struct ConnectionState
    {
        /// <summary>Body bytes of the last request still to be read and discarded.</summary>
        public long BodyRemaining;

        /// <summary>When the current request's first byte arrived (<see cref="Environment.TickCount64"/>), or -1 between requests.</summary>
        public long RequestStart;
    }

    /// <summary>
    /// Writes a response for every complete request at the start of <paramref name="buffer"/> and slices them (and
    /// their bodies) off. Returns how many were answered, and whether the connection must close after the flush.
    /// </summary>
    internal static (int Answered, bool Close) Answer(ref ReadOnlySequence<byte> buffer, IBufferWriter<byte> output, ref ConnectionState state)
    {
        int answered = 0;
        while (true)
        {
            if (state.BodyRemaining > 0)
            {
                long skip = Math.Min(state.BodyRemaining, buffer.Length);
                buffer = buffer.Slice(skip);
                state.BodyRemaining -= skip;
                if (state.BodyRemaining > 0)
                {
                    return (answered, false);
                }

                state.RequestStart = -1;
            }

            if (buffer.IsEmpty)
            {
                return (answered, false);
            }

            if (state.RequestStart < 0)
            {
                state.RequestStart = Environment.TickCount64;
            }

            ParseStatus status = HttpRequestParser.TryParse(buffer, out RequestHead head);
            if (status == ParseStatus.Incomplete)
            {
                return (answered, false);
            }

            answered++;
            if (status == ParseStatus.Invalid)
            {
                Write(output, head.Status switch
                {
                    413 => s_tooLargeBodyHead,
                    431 => s_tooLargeHead,
                    505 => s_badVersionHead,
                    _ => s_badRequestHead,
                }, HeadOkTail);
                return (answered, true);
            }

            buffer = buffer.Slice(head.HeadLength);
            state.BodyRemaining = head.ContentLength;
            if (state.BodyRemaining == 0)
            {
                state.RequestStart = -1;
            }

            switch (head.Target)
            {
                case RequestTarget.NotAllowed:
                    Write(output, s_notAllowedHead, HeadOkTail);
                    return (answered, true);
                case RequestTarget.Plaintext when head.Close:
                    Write(output, OkHead, CloseTail);
                    output.Write("Hello, World!"u8);
                    break;
                case RequestTarget.Plaintext:
                    Write(output, OkHead, OkTail);
                    break;
                case RequestTarget.PlaintextHead:
                    Write(output, OkHead, head.Close ? CloseTail : HeadOkTail);
                    break;
                default:
                    Write(output, NotFoundHead, head.Close ? CloseTail : HeadOkTail);
                    break;
            }

            if (head.Close)
            {
                return (answered, true);
            }
        }
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

    /// <summary>
    /// The head of a refusal up to the <c>Date</c> value: the status line, <paramref name="extraHeaders"/>, and the headers
    /// every refusal shares (no body; <c>Connection: close</c>, since the request stream cannot be trusted after it).
    /// </summary>
    private static byte[] RefusalHead(string status, string extraHeaders = "") =>
        Encoding.ASCII.GetBytes($"HTTP/1.1 {status}\r\nServer: IoUring\r\n{extraHeaders}Content-Length: 0\r\nConnection: close\r\nDate: ");
}
