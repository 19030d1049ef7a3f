using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using HttpPlaintext;

namespace IoUring.Stress.Fuzz;

/// <summary>
/// <c>fuzz --layer http</c>: the request parser of samples/HttpPlaintext (<see cref="HttpRequestParser"/>) and the
/// handler's framing (<see cref="PlaintextHandler.Answer"/>) under generated and mutated input. Each iteration builds
/// a stream of 1-6 requests (valid ones, with <c>Content-Length</c> bodies that themselves look like requests, and
/// mutated ones: bytes flipped, inserted, deleted, CRLF turned into LF, headers duplicated, <c>Transfer-Encoding</c>
/// and second <c>Content-Length</c> lines added) and checks:
/// <list type="bullet">
/// <item>the parser never throws; a complete head ends in CRLF CRLF, lies inside the input and has a body length in range;</item>
/// <item>an unmutated request parses to exactly what the generator built (length, target, body length, close);</item>
/// <item>a prefix of a complete head is incomplete; a prefix of an invalid input is incomplete or invalid, never complete;</item>
/// <item>bytes after a complete head do not change it; a head split over several buffer segments parses the same;</item>
/// <item>the handler answers a stream the same whatever the read boundaries (no desync), and a stream of valid
///   requests gets exactly one response per request, in order, whatever their bodies contain.</item>
/// </list>
/// </summary>
public sealed class HttpParserFuzzer
{
    private static readonly string[] s_methods = ["GET", "GET", "GET", "HEAD", "POST", "PUT", "OPTIONS", "DELETE", "X-Y!"];
    private static readonly string[] s_targets = ["/", "/plaintext", "/plaintext?q=1&r=%20", "/nope", "*", "http://h/plaintext", "/a/b/c"];
    private static readonly byte[] s_interesting = [(byte)'\r', (byte)'\n', (byte)' ', (byte)'\t', (byte)':', 0, 0x7F, 0x80, 0xFF, (byte)',', (byte)'0', (byte)'9', (byte)'-'];

    private readonly Random _rng;
    private readonly FuzzResult _result = new() { Created = "streams" };
    private readonly ArrayBufferWriter<byte> _whole = new(4096);
    private readonly ArrayBufferWriter<byte> _chunked = new(4096);

    public HttpParserFuzzer(int seed) => _rng = new Random(seed);

    public FuzzResult Result => _result;

    /// <summary>Runs <paramref name="iterations"/> streams or until <paramref name="maxSeconds"/> pass.</summary>
    public FuzzResult Run(long iterations, double maxSeconds)
    {
        var sw = Stopwatch.StartNew();
        for (long i = 0; i < iterations && sw.Elapsed.TotalSeconds < maxSeconds && _result.Failures.Count < 20; i++)
        {
            try
            {
                Iterate(i);
            }
#pragma warning disable CA1031 // any exception is a finding, reported with the iteration
            catch (Exception e)
#pragma warning restore CA1031
            {
                Fail(i, $"{e.GetType().Name}: {e.Message}\n{e.StackTrace}", []);
            }

            _result.Iterations++;
        }

        _result.Seconds = sw.Elapsed.TotalSeconds;
        return _result;
    }

    private void Iterate(long iteration)
    {
        int count = _rng.Next(1, 7);
        var stream = new List<byte>();
        var expected = new List<int>();
        bool allValid = true;
        for (int r = 0; r < count; r++)
        {
            Generated g = Generate();
            byte[] bytes = g.Bytes;
            bool mutated = _rng.Next(3) == 0;
            if (mutated)
            {
                bytes = Mutate(bytes);
                allValid = false;
            }

            CheckSingle(iteration, bytes, mutated ? null : g);
            stream.AddRange(bytes);
            if (!mutated)
            {
                expected.Add(g.ExpectedStatus);
                if (g.Close || g.ExpectedStatus == 405)
                {
                    // Nothing after a closing response is answered.
                    break;
                }
            }
        }

        CheckStream(iteration, [.. stream], allValid ? expected : null);
    }

    /// <summary>Parser properties of one request's bytes.</summary>
    private void CheckSingle(long iteration, byte[] input, Generated? truth)
    {
        ParseStatus s = Parse(input, out RequestHead head);
        Count(s == ParseStatus.Invalid ? $"parse: {head.Status} {head.Reason}" : $"parse: {s}");
        if (s == ParseStatus.Complete)
        {
            if (head.HeadLength <= 3 || head.HeadLength > input.Length || !input.AsSpan(head.HeadLength - 4, 4).SequenceEqual("\r\n\r\n"u8))
            {
                Fail(iteration, $"complete head of length {head.HeadLength} does not end in CRLF CRLF inside the input", input);
            }

            if (head.ContentLength < 0 || head.ContentLength > HttpRequestParser.MaxBodyBytes)
            {
                Fail(iteration, $"body length {head.ContentLength} out of range", input);
            }

            // Bytes after the head change nothing.
            byte[] longer = [.. input.AsSpan(0, head.HeadLength), .. RandomBytes(_rng.Next(1, 64))];
            if (Parse(longer, out RequestHead again) != ParseStatus.Complete || !Same(head, again))
            {
                Fail(iteration, "bytes after a complete head changed its parse", longer);
            }
        }

        if (truth is not null)
        {
            bool ok = s == ParseStatus.Complete && head.HeadLength == truth.HeadLength && head.ContentLength == truth.BodyLength && head.Close == truth.Close && head.Target == truth.Target;
            if (!ok)
            {
                Fail(iteration, $"a generated request parsed as {s} {head.Status} {head.Reason} (length {head.HeadLength}, body {head.ContentLength}, close {head.Close}, {head.Target}); expected length {truth.HeadLength}, body {truth.BodyLength}, close {truth.Close}, {truth.Target}", input);
            }
        }

        // Prefixes: a complete head is incomplete before its end; an invalid input never becomes complete.
        for (int k = 0; k < 3 && input.Length > 1; k++)
        {
            int cut = _rng.Next(0, s == ParseStatus.Complete ? head.HeadLength : input.Length);
            ParseStatus p = Parse(input.AsSpan(0, cut).ToArray(), out RequestHead ph);
            bool good = s switch
            {
                ParseStatus.Complete => p == ParseStatus.Incomplete,
                ParseStatus.Invalid => p != ParseStatus.Complete,
                _ => p == ParseStatus.Incomplete,
            };
            if (!good)
            {
                Fail(iteration, $"prefix of {cut} bytes parsed as {p} {ph.Status} {ph.Reason}, the whole as {s} {head.Status} {head.Reason}", input);
            }
        }

        // The same bytes in several segments.
        ParseStatus seg = HttpRequestParser.TryParse(Segmented(input), out RequestHead sh);
        if (seg != s || (s == ParseStatus.Complete && !Same(head, sh)) || (s == ParseStatus.Invalid && sh.Status != head.Status))
        {
            Fail(iteration, $"segmented input parsed as {seg} {sh.Status}, contiguous as {s} {head.Status}", input);
        }

        _result.Calls += 6;
    }

    /// <summary>The handler over a whole stream: the same answers whatever the read boundaries, and the expected ones for valid streams.</summary>
    private void CheckStream(long iteration, byte[] stream, List<int>? expected)
    {
        _whole.Clear();
        var state = new PlaintextHandler.ConnectionState { RequestStart = -1 };
        var all = new ReadOnlySequence<byte>(stream);
        (int wholeAnswered, bool wholeClose) = PlaintextHandler.Answer(ref all, _whole, ref state);

        // The same bytes arriving in random pieces, the unconsumed rest kept like a PipeReader keeps it.
        _chunked.Clear();
        state = new PlaintextHandler.ConnectionState { RequestStart = -1 };
        byte[] pending = [];
        int offset = 0;
        int chunkedAnswered = 0;
        bool chunkedClose = false;
        while (offset < stream.Length && !chunkedClose)
        {
            int n = Math.Min(stream.Length - offset, _rng.Next(1, 4) == 1 ? 1 : _rng.Next(1, 200));
            pending = [.. pending, .. stream.AsSpan(offset, n)];
            offset += n;
            var buffer = new ReadOnlySequence<byte>(pending);
            (int answered, bool close) = PlaintextHandler.Answer(ref buffer, _chunked, ref state);
            chunkedAnswered += answered;
            chunkedClose = close;
            pending = buffer.ToArray();
        }

        List<int> a = Statuses(_whole.WrittenSpan);
        List<int> b = Statuses(_chunked.WrittenSpan);
        Count($"stream: {a.Count} responses{(wholeClose ? ", closed" : "")}");
        if (!a.SequenceEqual(b) || wholeAnswered != chunkedAnswered || wholeClose != chunkedClose || wholeAnswered != a.Count)
        {
            Fail(iteration, $"desync: in one read {string.Join(',', a)} (close {wholeClose}), in pieces {string.Join(',', b)} (close {chunkedClose})", stream);
        }

        if (expected is not null && !a.SequenceEqual(expected))
        {
            Fail(iteration, $"valid requests answered {string.Join(',', a)}, expected {string.Join(',', expected)}", stream);
        }

        _result.Calls += 2;
    }

    private static List<int> Statuses(ReadOnlySpan<byte> output)
    {
        var statuses = new List<int>();
        ReadOnlySpan<byte> marker = "HTTP/1.1 "u8;
        int i;
        while ((i = output.IndexOf(marker)) >= 0)
        {
            output = output[(i + marker.Length)..];
            statuses.Add(int.Parse(Encoding.ASCII.GetString(output[..3]), CultureInfo.InvariantCulture));
        }

        return statuses;
    }

    private static ParseStatus Parse(byte[] input, out RequestHead head) =>
        HttpRequestParser.TryParse(new ReadOnlySequence<byte>(input), out head);

    private static bool Same(in RequestHead a, in RequestHead b) =>
        a.HeadLength == b.HeadLength && a.ContentLength == b.ContentLength && a.Close == b.Close && a.Target == b.Target;

    /// <summary>A request the generator knows the truth about.</summary>
    private sealed record Generated(byte[] Bytes, int HeadLength, long BodyLength, bool Close, RequestTarget Target, int ExpectedStatus);

    private Generated Generate()
    {
        string method = Pick(s_methods);
        string target = Pick(s_targets);
        bool http10 = _rng.Next(8) == 0;
        var head = new StringBuilder();
        int emptyLines = _rng.Next(6) == 0 ? _rng.Next(1, 3) : 0;
        for (int i = 0; i < emptyLines; i++)
        {
            head.Append("\r\n");
        }

        head.Append(CultureInfo.InvariantCulture, $"{method} {target} HTTP/1.{(http10 ? 0 : 1)}\r\n");
        var lines = new List<string>();
        if (!http10 || _rng.Next(2) == 0)
        {
            lines.Add($"{Pick(["Host", "host", "HOST"])}:{Pick(["", " ", "  \t"])}example{_rng.Next(100)}");
        }

        int body = _rng.Next(3) == 0 ? _rng.Next(0, 300) : -1;
        if (body >= 0)
        {
            lines.Add($"{Pick(["Content-Length", "content-length"])}:{Pick([" ", "", "\t"])}{body}{Pick(["", " ", "\t"])}");
        }

        bool close = http10;
        int connection = _rng.Next(6);
        if (connection == 0)
        {
            lines.Add($"Connection: {Pick(["close", "Close", "keep-alive, close"])}");
            close = true;
        }
        else if (connection == 1)
        {
            lines.Add("Connection: keep-alive");
            close = false;
        }

        for (int i = _rng.Next(0, 6); i > 0; i--)
        {
            lines.Add($"X-{Pick(["A", "b", "Long-Name_1", "~!"])}-{i}: {Pick(["v", "", "a, b", "with spaces inside", "\u00e9t\u00e9", "GET / HTTP/1.1"])}");
        }

        Shuffle(lines);
        foreach (string l in lines)
        {
            head.Append(l).Append("\r\n");
        }

        head.Append("\r\n");
        byte[] headBytes = Encoding.Latin1.GetBytes(head.ToString());
        byte[] bodyBytes = body > 0 ? BodyLike(body) : [];
        RequestTarget kind = method switch
        {
            "GET" or "HEAD" => (target.Split('?')[0] is "/" or "/plaintext") ? (method == "HEAD" ? RequestTarget.PlaintextHead : RequestTarget.Plaintext) : RequestTarget.NotFound,
            _ => RequestTarget.NotAllowed,
        };
        if (target == "http://h/plaintext" || target == "*")
        {
            kind = method is "GET" or "HEAD" ? RequestTarget.NotFound : RequestTarget.NotAllowed;
        }

        int status = kind switch
        {
            RequestTarget.Plaintext or RequestTarget.PlaintextHead => 200,
            RequestTarget.NotFound => 404,
            _ => 405,
        };
        return new Generated([.. headBytes, .. bodyBytes], headBytes.Length, Math.Max(body, 0), close, kind, status);
    }

    /// <summary>A body that looks like more requests, so that reading it as one would show.</summary>
    private byte[] BodyLike(int length)
    {
        byte[] smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\nPOST / HTTP/1.1\r\nHost: y\r\nContent-Length: 5\r\n\r\nhello"u8.ToArray();
        var b = new byte[length];
        for (int i = 0; i < length; i++)
        {
            b[i] = _rng.Next(4) == 0 ? (byte)_rng.Next(256) : smuggled[i % smuggled.Length];
        }

        return b;
    }

    private byte[] Mutate(byte[] input)
    {
        var b = new List<byte>(input);
        for (int m = _rng.Next(1, 5); m > 0; m--)
        {
            int at = b.Count == 0 ? 0 : _rng.Next(b.Count);
            switch (_rng.Next(9))
            {
                case 0 when b.Count > 0:
                    b[at] ^= (byte)(1 << _rng.Next(8));
                    break;
                case 1:
                    b.Insert(at, s_interesting[_rng.Next(s_interesting.Length)]);
                    break;
                case 2 when b.Count > 0:
                    b.RemoveAt(at);
                    break;
                case 3:
                    // CRLF -> LF somewhere.
                    int cr = b.IndexOf((byte)'\r', at);
                    if (cr >= 0)
                    {
                        b.RemoveAt(cr);
                    }

                    break;
                case 4:
                    InsertLine(b, Pick(["Transfer-Encoding: chunked", "Transfer-Encoding: gzip, chunked", "transfer-encoding:chunked", "Transfer-Encoding : chunked"]));
                    break;
                case 5:
                    InsertLine(b, Pick(["Content-Length: 5", "Content-Length: 0", "Content-Length: +5", "Content-Length: 5, 5", "Content-Length: 99999999999999999999", "Content-Length: 1048577", "Content-Length:", "Content-Length : 3"]));
                    break;
                case 6:
                    InsertLine(b, Pick([" folded", "\tfolded", "Host: dup", "X: a\rb", "Bad Name: x", ": empty", "X-Long: " + new string('a', _rng.Next(100, 9000))]));
                    break;
                case 7 when b.Count > 0:
                    b.RemoveRange(at, b.Count - at);
                    break;
                default:
                    b.Insert(at, (byte)_rng.Next(256));
                    break;
            }
        }

        return [.. b];
    }

    private void InsertLine(List<byte> b, string line)
    {
        // After the request line's CRLF, or at the start.
        int lf = b.IndexOf((byte)'\n');
        b.InsertRange(lf < 0 ? 0 : lf + 1, Encoding.Latin1.GetBytes(line + "\r\n"));
    }

    private ReadOnlySequence<byte> Segmented(byte[] input)
    {
        if (input.Length < 2)
        {
            return new ReadOnlySequence<byte>(input);
        }

        var cuts = new SortedSet<int>();
        for (int i = _rng.Next(1, 5); i > 0; i--)
        {
            cuts.Add(_rng.Next(1, input.Length));
        }

        Segment? first = null;
        Segment? last = null;
        int start = 0;
        foreach (int end in cuts.Append(input.Length))
        {
            var s = new Segment(input.AsMemory(start, end - start), last);
            first ??= s;
            last = s;
            start = end;
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, Segment? previous)
        {
            Memory = memory;
            if (previous is not null)
            {
                RunningIndex = previous.RunningIndex + previous.Memory.Length;
                previous.Next = this;
            }
        }
    }

    private byte[] RandomBytes(int n)
    {
        var b = new byte[n];
        _rng.NextBytes(b);
        return b;
    }

    private T Pick<T>(T[] items) => items[_rng.Next(items.Length)];

    private void Shuffle<T>(List<T> items)
    {
        for (int i = items.Count - 1; i > 0; i--)
        {
            int j = _rng.Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    private void Count(string outcome)
    {
        // Reasons with numbers in them would make the table long; the status and reason text are enough.
        _result.Outcomes[outcome] = _result.Outcomes.TryGetValue(outcome, out long n) ? n + 1 : 1;
    }

    private void Fail(long iteration, string what, byte[] input)
    {
        string shown = Encoding.Latin1.GetString(input.AsSpan(0, Math.Min(input.Length, 600)))
            .Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
        _result.Failures.Add($"iteration {iteration}: {what}\n  input ({input.Length} bytes): {shown}");
    }
}
