using System.Runtime.InteropServices;

namespace IoUring;

/// <summary><c>struct __kernel_timespec</c>: 64-bit seconds and nanoseconds (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KernelTimespec : IEquatable<KernelTimespec>
{
    /// <summary><c>tv_sec</c>.</summary>
    public long Seconds;
    /// <summary><c>tv_nsec</c>.</summary>
    public long Nanoseconds;

    /// <summary>Creates a timespec from a non-negative <see cref="TimeSpan"/>.</summary>
    /// <param name="value">The duration.</param>
    /// <returns>The timespec.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The duration is negative.</exception>
    public static KernelTimespec FromTimeSpan(TimeSpan value)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
        long ticks = value.Ticks;
        return new KernelTimespec
        {
            Seconds = ticks / TimeSpan.TicksPerSecond,
            Nanoseconds = ticks % TimeSpan.TicksPerSecond * 100,
        };
    }

    /// <inheritdoc/>
    public readonly bool Equals(KernelTimespec other) => Seconds == other.Seconds && Nanoseconds == other.Nanoseconds;

    /// <inheritdoc/>
    public override readonly bool Equals(object? obj) => obj is KernelTimespec other && Equals(other);

    /// <inheritdoc/>
    public override readonly int GetHashCode() => HashCode.Combine(Seconds, Nanoseconds);

    /// <summary>Compares two timespecs.</summary>
    /// <param name="left">The first.</param>
    /// <param name="right">The second.</param>
    /// <returns>True when equal.</returns>
    public static bool operator ==(KernelTimespec left, KernelTimespec right) => left.Equals(right);

    /// <summary>Compares two timespecs.</summary>
    /// <param name="left">The first.</param>
    /// <param name="right">The second.</param>
    /// <returns>True when different.</returns>
    public static bool operator !=(KernelTimespec left, KernelTimespec right) => !left.Equals(right);
}
