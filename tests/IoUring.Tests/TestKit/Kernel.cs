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
}
