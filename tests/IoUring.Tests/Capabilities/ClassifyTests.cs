using static IoUring.Interop.Errno;

namespace IoUring.Tests.Capabilities;

/// <summary>The pure parts of <see cref="IoUringSupport"/>: parsing /proc and turning a setup errno into a reason.</summary>
public sealed class ClassifyTests
{
    [Theory]
    [InlineData("0\n", 0)]
    [InlineData("1\n", 1)]
    [InlineData("2\n", 2)]
    [InlineData(" 2 ", 2)]
    [InlineData("0", 0)]
    public void ParseDisabledSysctl_reads_0_1_and_2(string text, int expected) =>
        Assert.Equal(expected, IoUringSupport.ParseDisabledSysctl(text));

    [Theory]
    [InlineData("")]
    [InlineData("\n")]
    [InlineData("3\n")]
    [InlineData("-1\n")]
    [InlineData("enabled\n")]
    [InlineData("1 2\n")]
    [InlineData("0x1\n")]
    public void ParseDisabledSysctl_rejects_garbage_with_FormatException_quoting_it(string text)
    {
        var e = Assert.Throws<FormatException>(() => IoUringSupport.ParseDisabledSysctl(text));
        Assert.Contains($"'{text.Trim()}'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void ParseSeccompMode_finds_the_Seccomp_line(int mode)
    {
        string status = $"Name:\tdotnet\nUmask:\t0022\nState:\tR (running)\nNoNewPrivs:\t0\nSeccomp:\t{mode}\nSeccomp_filters:\t{(mode == 2 ? 1 : 0)}\nSpeculation_Store_Bypass:\tthread vulnerable\n";
        Assert.Equal(mode, IoUringSupport.ParseSeccompMode(status));
    }

    [Theory]
    [InlineData("Name:\tdotnet\nState:\tR (running)\n")]
    [InlineData("Seccomp_filters:\t1\n")]
    [InlineData("Seccomp:\tfilter\n")]
    [InlineData("")]
    public void ParseSeccompMode_returns_null_without_a_numeric_Seccomp_line(string status) =>
        Assert.Null(IoUringSupport.ParseSeccompMode(status));

    [Theory]
    // EPERM: the sysctl explains it first, then seccomp, then a security module.
    [InlineData(EPERM, 2, 0, SetupFailureReason.DisabledBySysctl)]
    [InlineData(EPERM, 2, 2, SetupFailureReason.DisabledBySysctl)]
    [InlineData(EPERM, 1, 0, SetupFailureReason.DisabledForUnprivileged)]
    [InlineData(EPERM, 1, 2, SetupFailureReason.DisabledForUnprivileged)]
    [InlineData(EPERM, 0, 2, SetupFailureReason.BlockedBySeccomp)]
    [InlineData(EPERM, null, 2, SetupFailureReason.BlockedBySeccomp)]
    [InlineData(EPERM, 0, 1, SetupFailureReason.BlockedBySeccomp)]
    [InlineData(EPERM, 0, 0, SetupFailureReason.PermissionDenied)]
    [InlineData(EPERM, null, null, SetupFailureReason.PermissionDenied)]
    [InlineData(EACCES, 0, 0, SetupFailureReason.PermissionDenied)]
    // ENOSYS: a seccomp filter can fake it; without one the kernel really lacks io_uring.
    [InlineData(ENOSYS, 0, 2, SetupFailureReason.BlockedBySeccomp)]
    [InlineData(ENOSYS, null, 2, SetupFailureReason.BlockedBySeccomp)]
    [InlineData(ENOSYS, null, 0, SetupFailureReason.NotSupportedByKernel)]
    [InlineData(ENOSYS, null, null, SetupFailureReason.NotSupportedByKernel)]
    [InlineData(ENOSYS, 0, 0, SetupFailureReason.NotSupportedByKernel)]
    // Resource and argument errors do not depend on sysctl or seccomp.
    [InlineData(ENOMEM, 0, 0, SetupFailureReason.MemoryLimit)]
    [InlineData(ENOMEM, 0, 2, SetupFailureReason.MemoryLimit)]
    [InlineData(EMFILE, 0, 0, SetupFailureReason.TooManyOpenFiles)]
    [InlineData(ENFILE, null, null, SetupFailureReason.TooManyOpenFiles)]
    [InlineData(EINVAL, 0, 0, SetupFailureReason.InvalidArguments)]
    [InlineData(EINVAL, 0, 2, SetupFailureReason.InvalidArguments)]
    [InlineData(EFAULT, 0, 0, SetupFailureReason.InvalidArguments)]
    [InlineData(EBUSY, 0, 0, SetupFailureReason.Other)]
    public void Classify_maps_errno_sysctl_and_seccomp_to_a_reason(int errno, int? sysctl, int? seccomp, SetupFailureReason expected) =>
        Assert.Equal(expected, IoUringSupport.Classify(errno, sysctl, seccomp));
}
