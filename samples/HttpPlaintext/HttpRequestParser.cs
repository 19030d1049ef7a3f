using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace HttpPlaintext;

/// <summary>What <see cref="HttpRequestParser.TryParse"/> found at the start of the input.</summary>
internal enum ParseStatus
{
    /// <summary>A complete, valid request head; <see cref="RequestHead"/> says how to answer and frame it.</summary>
    Complete,

    /// <summary>No complete head yet and nothing wrong so far: read more.</summary>
    Incomplete,

    /// <summary>The input is not a request this server can frame safely: answer <see cref="RequestHead.Status"/> and close.</summary>
    Invalid,
}

/// <summary>What a request asks for.</summary>
internal enum RequestTarget
{
    /// <summary><c>GET /plaintext</c> or <c>GET /</c>.</summary>
    Plaintext,

    /// <summary>The same with <c>HEAD</c>: the headers without the body.</summary>
    PlaintextHead,

    /// <summary>Any other path with GET or HEAD.</summary>
    NotFound,

    /// <summary>Any other method.</summary>
    NotAllowed,
}

/// <summary>A parsed request head: how long it is, what it asks for, how its body is framed, whether to close after it.</summary>
internal struct RequestHead
{
    /// <summary>Bytes of the head, request line to the empty line inclusive (and any empty lines before the request line).</summary>
    public int HeadLength;

    /// <summary>What the request asks for.</summary>
    public RequestTarget Target;

    /// <summary>Body bytes that follow the head (<c>Content-Length</c>; 0 without one). They are not a next request.</summary>
    public long ContentLength;

    /// <summary>The connection closes after the response (<c>Connection: close</c>, or HTTP/1.0 without keep-alive).</summary>
    public bool Close;

    /// <summary>For <see cref="ParseStatus.Invalid"/>: the status code to answer before closing (400, 413, 431, 505).</summary>
    public int Status;

    /// <summary>For <see cref="ParseStatus.Invalid"/>: why, for logs and tests.</summary>
    public string? Reason;
}

/// <summary>
/// A strict HTTP/1.1 request-head parser (RFC 9112) for the plaintext sample. Its one job is framing: knowing
/// exactly where a request ends, so that bytes of one request are never taken for the next (request smuggling,
/// desync). Whatever it cannot frame with certainty it refuses, and the connection closes after the error response:
/// <list type="bullet">
/// <item>lines end in CRLF; a bare CR or LF, an obsolete folded header line, a control character, whitespace
///   between a header name and its colon, or a malformed request line is 400;</item>
/// <item><c>Content-Length</c> must be one run of digits, given once; its body is skipped, never parsed;
///   over <see cref="MaxBodyBytes"/> is 413;</item>
/// <item>any <c>Transfer-Encoding</c> is 400 (this server reads no chunked bodies), as is one with
///   <c>Content-Length</c>;</item>
/// <item>HTTP/1.1 needs exactly one <c>Host</c>; versions other than 1.0 and 1.1 are 505;</item>
/// <item>a head over <see cref="MaxHeadBytes"/> or with more than <see cref="MaxHeaders"/> fields is 431.</item>
/// </list>
/// It never throws on any input and allocates nothing.
/// </summary>
internal static class HttpRequestParser
{
    /// <summary>The longest request head accepted, in bytes (request line, headers, empty line).</summary>
    public const int MaxHeadBytes = 8 * 1024;

    /// <summary>The most header fields accepted in one request.</summary>
    public const int MaxHeaders = 64;

    /// <summary>The largest <c>Content-Length</c> accepted (the body is read and discarded).</summary>
    public const long MaxBodyBytes = 1024 * 1024;

    // RFC 9110 5.6.2 tchar: the characters of a method and a field name.
    private static readonly SearchValues<byte> s_tchar = SearchValues.Create(
        "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"u8);

    // A field value: VCHAR, SP, HTAB and obs-text (0x80-0xFF); no other control character.
    private static readonly SearchValues<byte> s_fieldValue = SearchValues.Create(FieldValueBytes());

    // A request target: VCHAR and obs-text, no whitespace or control character.
    private static readonly SearchValues<byte> s_target = SearchValues.Create(TargetBytes());

    /// <summary>
    /// Parses the request head at the start of <paramref name="input"/>. <see cref="ParseStatus.Incomplete"/> means
    /// no error in what is there and no end yet (the caller reads more; the head is refused once it reaches
    /// <see cref="MaxHeadBytes"/>).
    /// </summary>
    public static ParseStatus TryParse(in ReadOnlySequence<byte> input, out RequestHead head)
    {
        if (input.IsSingleSegment || input.FirstSpan.Length >= MaxHeadBytes)
        {
            ReadOnlySpan<byte> first = input.FirstSpan;
            return TryParse(first.Length > MaxHeadBytes ? first[..MaxHeadBytes] : first, input.Length > MaxHeadBytes, out head);
        }

        // A head split across segments: parse a copy of its first MaxHeadBytes (rare: only at a segment boundary).
        Span<byte> copy = stackalloc byte[MaxHeadBytes];
        int n = (int)Math.Min(input.Length, MaxHeadBytes);
        input.Slice(0, n).CopyTo(copy);
        return TryParse(copy[..n], input.Length > MaxHeadBytes, out head);
    }

    /// <summary>
    /// Parses a head from <paramref name="span"/>, the first bytes of the input (at most <see cref="MaxHeadBytes"/>);
    /// <paramref name="truncated"/>: the input goes on beyond it.
    /// </summary>
    public static ParseStatus TryParse(ReadOnlySpan<byte> span, bool truncated, out RequestHead head)
    {
        head = default;
        int pos = 0;

        // RFC 9112 2.2: a server SHOULD ignore at least one empty line received before the request line.
        int skipped = 0;
        while (span.Length - pos >= 2 && span[pos] == (byte)'\r' && span[pos + 1] == (byte)'\n' && skipped < 4)
        {
            pos += 2;
            skipped++;
        }

        // The request line.
        ParseStatus s = NextLine(span, ref pos, truncated, out ReadOnlySpan<byte> line, ref head);
        if (s != ParseStatus.Complete)
        {
            return s;
        }

        int sp1 = line.IndexOf((byte)' ');
        if (sp1 <= 0)
        {
            return Invalid(ref head, 400, "request line without a method");
        }

        ReadOnlySpan<byte> method = line[..sp1];
        ReadOnlySpan<byte> rest = line[(sp1 + 1)..];
        int sp2 = rest.IndexOf((byte)' ');
        if (sp2 <= 0)
        {
            return Invalid(ref head, 400, "request line without a target or version");
        }

        ReadOnlySpan<byte> target = rest[..sp2];
        ReadOnlySpan<byte> version = rest[(sp2 + 1)..];
        if (method.ContainsAnyExcept(s_tchar))
        {
            return Invalid(ref head, 400, "a method that is not a token");
        }

        if (target.ContainsAnyExcept(s_target) || (target[0] != (byte)'/' && !(target.Length == 1 && target[0] == (byte)'*') && !IsAbsoluteForm(target)))
        {
            return Invalid(ref head, 400, "a malformed request target");
        }

        bool http10;
        if (version.SequenceEqual("HTTP/1.1"u8))
        {
            http10 = false;
        }
        else if (version.SequenceEqual("HTTP/1.0"u8))
        {
            http10 = true;
        }
        else if (version.Length == 8 && version.StartsWith("HTTP/"u8) && IsDigit(version[5]) && version[6] == (byte)'.' && IsDigit(version[7]))
        {
            return Invalid(ref head, 505, "an HTTP version other than 1.0 and 1.1");
        }
        else
        {
            return Invalid(ref head, 400, "a malformed HTTP version");
        }

        // The header fields, up to the empty line.
        int headers = 0;
        int hosts = 0;
        bool hasLength = false;
        bool hasTransferEncoding = false;
        bool close = http10;
        long length = 0;
        while (true)
        {
            s = NextLine(span, ref pos, truncated, out line, ref head);
            if (s != ParseStatus.Complete)
            {
                return s;
            }

            if (line.IsEmpty)
            {
                break;
            }

            if (++headers > MaxHeaders)
            {
                return Invalid(ref head, 431, "more header fields than allowed");
            }

            if (line[0] is (byte)' ' or (byte)'\t')
            {
                return Invalid(ref head, 400, "an obsolete folded header line");
            }

            int colon = line.IndexOf((byte)':');
            if (colon <= 0 || line[..colon].ContainsAnyExcept(s_tchar))
            {
                return Invalid(ref head, 400, "a header field name that is not a token (or whitespace before its colon)");
            }

            ReadOnlySpan<byte> name = line[..colon];
            ReadOnlySpan<byte> value = line[(colon + 1)..];
            if (value.ContainsAnyExcept(s_fieldValue))
            {
                return Invalid(ref head, 400, "a control character in a header field value");
            }

            value = value.Trim(" \t"u8);
            if (name.Length == 14 && Ascii.EqualsIgnoreCase(name, "Content-Length"u8))
            {
                if (hasLength)
                {
                    return Invalid(ref head, 400, "Content-Length given twice");
                }

                hasLength = true;
                if (value.IsEmpty || value.ContainsAnyExceptInRange((byte)'0', (byte)'9'))
                {
                    return Invalid(ref head, 400, "a Content-Length that is not one run of digits");
                }

                if (!Utf8Parser.TryParse(value, out length, out int used) || used != value.Length)
                {
                    return Invalid(ref head, 413, "a Content-Length too large to represent");
                }

                if (length > MaxBodyBytes)
                {
                    return Invalid(ref head, 413, "a body larger than allowed");
                }
            }
            else if (name.Length == 17 && Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8))
            {
                hasTransferEncoding = true;
            }
            else if (name.Length == 4 && Ascii.EqualsIgnoreCase(name, "Host"u8))
            {
                hosts++;
            }
            else if (name.Length == 10 && Ascii.EqualsIgnoreCase(name, "Connection"u8))
            {
                if (HasToken(value, "close"u8))
                {
                    close = true;
                }
                else if (http10 && HasToken(value, "keep-alive"u8))
                {
                    close = false;
                }
            }
        }

        if (hasTransferEncoding)
        {
            return Invalid(ref head, 400, hasLength ? "both Transfer-Encoding and Content-Length" : "a Transfer-Encoding (no chunked bodies are read)");
        }

        if (!http10 && hosts != 1)
        {
            return Invalid(ref head, 400, hosts == 0 ? "an HTTP/1.1 request without Host" : "Host given more than once");
        }

        head.HeadLength = pos;
        head.ContentLength = length;
        head.Close = close;
        head.Target = Classify(method, target);
        return ParseStatus.Complete;
    }

    /// <summary>The next CRLF-terminated line from <paramref name="pos"/>, without its CRLF; a bare CR or LF is invalid.</summary>
    private static ParseStatus NextLine(ReadOnlySpan<byte> span, ref int pos, bool truncated, out ReadOnlySpan<byte> line, ref RequestHead head)
    {
        line = default;
        ReadOnlySpan<byte> rest = span[pos..];
        int lf = rest.IndexOf((byte)'\n');
        int crInLine = (lf < 0 ? rest : rest[..lf]).IndexOf((byte)'\r');
        if (lf < 0)
        {
            // A CR must be the last byte (its LF not yet here); a CR followed by anything else is a bare CR.
            if (crInLine >= 0 && crInLine != rest.Length - 1)
            {
                return Invalid(ref head, 400, "a bare CR");
            }

            return span.Length >= MaxHeadBytes || truncated
                ? Invalid(ref head, 431, "a request head longer than allowed")
                : ParseStatus.Incomplete;
        }

        if (lf == 0 || crInLine != lf - 1)
        {
            return Invalid(ref head, 400, crInLine < 0 ? "a bare LF" : "a bare CR");
        }

        line = rest[..(lf - 1)];
        pos += lf + 1;
        return ParseStatus.Complete;
    }

    private static ParseStatus Invalid(ref RequestHead head, int status, string reason)
    {
        head.Status = status;
        head.Reason = reason;
        head.Close = true;
        return ParseStatus.Invalid;
    }

    private static RequestTarget Classify(ReadOnlySpan<byte> method, ReadOnlySpan<byte> target)
    {
        bool isHead;
        if (method.SequenceEqual("GET"u8))
        {
            isHead = false;
        }
        else if (method.SequenceEqual("HEAD"u8))
        {
            isHead = true;
        }
        else
        {
            return RequestTarget.NotAllowed;
        }

        int query = target.IndexOf((byte)'?');
        if (query >= 0)
        {
            target = target[..query];
        }

        return target.SequenceEqual("/plaintext"u8) || target.SequenceEqual("/"u8)
            ? (isHead ? RequestTarget.PlaintextHead : RequestTarget.Plaintext)
            : RequestTarget.NotFound;
    }

    /// <summary>Whether a comma-separated field value lists <paramref name="token"/> (case-insensitive).</summary>
    private static bool HasToken(ReadOnlySpan<byte> value, ReadOnlySpan<byte> token)
    {
        while (!value.IsEmpty)
        {
            int comma = value.IndexOf((byte)',');
            ReadOnlySpan<byte> item = (comma < 0 ? value : value[..comma]).Trim(" \t"u8);
            if (item.Length == token.Length && Ascii.EqualsIgnoreCase(item, token))
            {
                return true;
            }

            value = comma < 0 ? default : value[(comma + 1)..];
        }

        return false;
    }

    private static bool IsAbsoluteForm(ReadOnlySpan<byte> target) =>
        target.StartsWith("http://"u8) || target.StartsWith("https://"u8);

    private static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';

    private static byte[] FieldValueBytes()
    {
        var bytes = new List<byte> { (byte)'\t' };
        for (int b = 0x20; b <= 0xFF; b++)
        {
            if (b != 0x7F)
            {
                bytes.Add((byte)b);
            }
        }

        return [.. bytes];
    }

    private static byte[] TargetBytes()
    {
        var bytes = new List<byte>();
        for (int b = 0x21; b <= 0xFF; b++)
        {
            if (b != 0x7F)
            {
                bytes.Add((byte)b);
            }
        }

        return [.. bytes];
    }
}
