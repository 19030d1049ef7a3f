namespace IoUring.Tests;

/// <summary>Deterministic test content.</summary>
internal static class TestData
{
    /// <summary><paramref name="length"/> pseudo-random bytes, the same for the same <paramref name="seed"/>.</summary>
    public static byte[] Bytes(int length, int seed) => Bytes(new Random(seed), length);

    /// <summary><paramref name="length"/> bytes drawn from <paramref name="rnd"/>.</summary>
    public static byte[] Bytes(Random rnd, int length)
    {
        byte[] b = new byte[length];
        rnd.NextBytes(b);
        return b;
    }

    /// <summary>True when every byte of <paramref name="span"/> is <paramref name="value"/>.</summary>
    public static bool AllEqual(ReadOnlySpan<byte> span, byte value) => !span.ContainsAnyExcept(value);
}
