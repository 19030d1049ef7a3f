namespace IoUring.Tests;

/// <summary>
/// Gates for tests that need the real kernel. Where io_uring is unavailable they skip with the reason, except
/// under CI (CI=true), where that skip would hide a broken setup and so fails the test instead.
/// </summary>
internal static class Kernel
{
    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public static void RequireIoUring()
    {
        IoUringAvailability a = IoUringSupport.Current;
        if (a.IsAvailable)
        {
            return;
        }

        string why = $"io_uring is unavailable here ({a.Reason}): {a.Message}";
        if (IsCi)
        {
            Assert.Fail("CI must run against a real io_uring, but " + why);
        }

        Assert.Skip(why);
    }

    /// <summary>
    /// The gate of <see cref="UringFactAttribute"/> and <see cref="UringTheoryAttribute"/>: <see cref="RequireIoUring"/>
    /// when <paramref name="ops"/> is empty, else <see cref="RequireOp"/> for each opcode in turn.
    /// </summary>
    public static void Require(IReadOnlyList<Opcode> ops)
    {
        if (ops.Count == 0)
        {
            RequireIoUring();
        }

        foreach (Opcode op in ops)
        {
            RequireOp(op);
        }
    }

    /// <summary>Whether the running kernel's release is at least <paramref name="major"/>.<paramref name="minor"/> (for behaviour that changed without a feature bit to probe).</summary>
    public static bool AtLeast(int major, int minor) => IoUringSupport.KernelAtLeast(major, minor);

    /// <summary>Requires io_uring and the given opcode; skips (also under CI) only when the probe says the kernel lacks it.</summary>
    public static void RequireOp(Opcode op)
    {
        RequireIoUring();
        if (!Probe.Current.IsSupported(op))
        {
            Assert.Skip($"The running kernel ({IoUringSupport.KernelRelease()}) does not support {op} (IORING_REGISTER_PROBE).");
        }
    }

    /// <summary>
    /// For a feature with no probe bit (a register operation, a flag of an existing call): skips, also under CI, only when
    /// the running kernel is older than <paramref name="major"/>.<paramref name="minor"/> and refused the call; on a kernel
    /// that should have it, a refusal fails the test.
    /// </summary>
    public static void RequireRefusalMeansOldKernel(bool refused, int major, int minor, string feature)
    {
        if (!refused)
        {
            return;
        }

        string release = IoUringSupport.KernelRelease();
        if (Version.TryParse(string.Concat(release.TakeWhile(c => char.IsDigit(c) || c == '.')).TrimEnd('.'), out Version? v) && v < new Version(major, minor))
        {
            Assert.Skip($"The running kernel ({release}) predates {feature} ({major}.{minor}).");
        }

        Assert.Fail($"The running kernel ({release}) refused {feature}, which it should have since {major}.{minor}.");
    }
}
