namespace IoUring.Tests.Reliability;

/// <summary>
/// <c>/proc/sys/kernel/io_uring_disabled</c> is read as the kernel wrote it, and each value maps to the reason a
/// failed setup reports. (Parsing of arbitrary text is covered in Capabilities/ClassifyTests; the sysctl itself is
/// system-wide and is not changed by tests on a shared machine.)
/// </summary>
public sealed class DisabledSysctlTests
{
    private const string Path = "/proc/sys/kernel/io_uring_disabled";

    [Fact]
    public void The_sysctl_is_read_as_the_kernel_reports_it_and_agrees_with_availability()
    {
        int? value = IoUringSupport.ReadDisabledSysctl();
        if (!File.Exists(Path))
        {
            Assert.Null(value);
            return;
        }

        string raw = File.ReadAllText(Path);
        Assert.Equal(int.Parse(raw.Trim(), System.Globalization.CultureInfo.InvariantCulture), value);
        Assert.Equal(value, IoUringSupport.Current.DisabledSysctl);

        // 2 disables io_uring for everyone; 0 leaves it to seccomp and the kernel.
        if (value == 2)
        {
            Assert.False(IoUringSupport.Current.IsAvailable);
            Assert.Equal(SetupFailureReason.DisabledBySysctl, IoUringSupport.Current.Reason);
        }
        else if (value == 0 && IoUringSupport.ReadSeccompMode() == 0)
        {
            Assert.True(IoUringSupport.Current.IsAvailable, IoUringSupport.Current.Message);
        }
    }

    [Theory]
    [InlineData(2, SetupFailureReason.DisabledBySysctl)]
    [InlineData(1, SetupFailureReason.DisabledForUnprivileged)]
    [InlineData(0, SetupFailureReason.PermissionDenied)]
    public void EPERM_from_setup_is_explained_by_the_sysctl_value(int sysctl, SetupFailureReason expected) =>
        Assert.Equal(expected, IoUringSupport.Classify(1 /* EPERM */, sysctl, seccompMode: 0));
}
