using System.Text;

namespace HttpPlaintext;

/// <summary>
/// The value of the <c>Date</c> response header (RFC 1123, 29 bytes), formatted once per second by a timer rather
/// than per response. Two buffers take turns: the timer writes the idle one and then publishes it, so neither the
/// tick nor a response allocates. (A reader copying from a buffer would have to be stalled for a whole second
/// before the timer came back to that buffer to see a torn value.)
/// </summary>
internal static class DateHeader
{
    public const int Length = 29; // "Sun, 06 Nov 1994 08:49:37 GMT"

    private static readonly byte[] s_a = new byte[Length];
    private static readonly byte[] s_b = new byte[Length];
    private static byte[] s_current = s_a;
    private static readonly Timer s_timer = new(_ => Tick(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));

    static DateHeader() => Tick();

    /// <summary>The current value (valid for about a second).</summary>
    public static ReadOnlySpan<byte> Value => Volatile.Read(ref s_current);

    private static void Tick()
    {
        byte[] next = ReferenceEquals(Volatile.Read(ref s_current), s_a) ? s_b : s_a;
        if (!DateTime.UtcNow.TryFormat(next, out int written, "R") || written != Length)
        {
            // "R" is fixed-width ASCII; this cannot happen, but never publish a half-written value.
            return;
        }

        Volatile.Write(ref s_current, next);
        GC.KeepAlive(s_timer);
    }

    /// <summary>The current value as a string (for tests and logs).</summary>
    public static string Text => Encoding.ASCII.GetString(Value);
}
