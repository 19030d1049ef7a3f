using System.Globalization;
using IoUring.Interop;

namespace IoUring;

// What a failed ring setup means and what the environment says about io_uring (the kill switch, the sysctl, seccomp,
// the kernel release). It sits in Errors, below Ring, because creating a ring throws through it; the trial ring of
// IoUringSupport.Check (Capabilities/IoUringSupport.cs) sits above Ring.
public static partial class IoUringSupport
{
    /// <summary>
    /// The kill switch: <c>IOURING_DISABLE=1</c> (or any value but <c>0</c>/<c>false</c>/<c>no</c>/<c>off</c>) in a process's environment turns io_uring
    /// off for the whole library in that process, without a rebuild. Every ring then fails to be created with an
    /// <see cref="IoUringSetupException"/> whose <see cref="IoUringSetupException.Reason"/> is
    /// <see cref="SetupFailureReason.DisabledByEnvironment"/>, before any system call; <see cref="Check"/> reports
    /// the same, and layers that can fall back (the Kestrel transport) do. Unset, empty, <c>0</c>, <c>false</c>,
    /// <c>no</c> or <c>off</c> leave io_uring on.
    /// </summary>
    public const string DisableVariable = "IOURING_DISABLE";

    private const string DisabledSysctlPath = "/proc/sys/kernel/io_uring_disabled";

    /// <summary>
    /// True when <see cref="DisableVariable"/> turns io_uring off in this process. Read from the environment at each
    /// call (rings are created rarely): set it before the process starts, as for any runtime switch.
    /// </summary>
    public static bool IsDisabledByEnvironment => ParseDisableVariable(Environment.GetEnvironmentVariable(DisableVariable));

    /// <summary>Reads a value of <see cref="DisableVariable"/>.</summary>
    /// <param name="value">The variable's value, or null when it is not set.</param>
    /// <returns>
    /// False when unset, empty, <c>0</c>, <c>false</c>, <c>no</c> or <c>off</c> (any case, blanks ignored); true for
    /// anything else (<c>1</c>, <c>true</c>, ...): a kill switch that is set to something errs on the side of off.
    /// </returns>
    public static bool ParseDisableVariable(string? value)
    {
        string v = value?.Trim() ?? string.Empty;
        return !(v.Length == 0 || v == "0"
            || v.Equals("false", StringComparison.OrdinalIgnoreCase)
            || v.Equals("no", StringComparison.OrdinalIgnoreCase)
            || v.Equals("off", StringComparison.OrdinalIgnoreCase));
    }

    private static string DisabledByEnvironmentMessage() =>
        $"io_uring is unavailable: it is turned off for this process by the environment variable {DisableVariable}={Environment.GetEnvironmentVariable(DisableVariable)?.Trim()}; unset it (or set it to 0) to use io_uring.";

    /// <summary>The exception a ring creation throws when <see cref="DisableVariable"/> turns io_uring off.</summary>
    internal static IoUringSetupException DisabledByEnvironment() =>
        new(0, SetupFailureReason.DisabledByEnvironment, DisabledByEnvironmentMessage());

    /// <summary>Reads <c>/proc/sys/kernel/io_uring_disabled</c> (kernel 6.6+): 0 enabled, 1 privileged only, 2 disabled.</summary>
    /// <returns>The value, or null when the file does not exist (older kernels, where io_uring cannot be disabled this way).</returns>
    public static int? ReadDisabledSysctl()
    {
        try
        {
            return ParseDisabledSysctl(File.ReadAllText(DisabledSysctlPath));
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Parses the text of <c>io_uring_disabled</c>.</summary>
    /// <param name="text">The file's content, e.g. <c>"0\n"</c>.</param>
    /// <returns>0, 1 or 2.</returns>
    /// <exception cref="FormatException">The text is not one of 0, 1, 2.</exception>
    public static int ParseDisabledSysctl(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string t = text.Trim();
        if (int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v is >= 0 and <= 2)
        {
            return v;
        }

        throw new FormatException($"io_uring_disabled holds '{t}', expected 0, 1 or 2.");
    }

    /// <summary>Reads this process's seccomp mode from <c>/proc/self/status</c>: 0 none, 1 strict, 2 filter.</summary>
    /// <returns>The mode, or null when the kernel does not report it.</returns>
    public static int? ReadSeccompMode()
    {
        try
        {
            return ParseSeccompMode(File.ReadAllText("/proc/self/status"));
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Finds the <c>Seccomp:</c> line of a <c>/proc/PID/status</c> text.</summary>
    /// <param name="status">The file's content.</param>
    /// <returns>The mode, or null when absent.</returns>
    public static int? ParseSeccompMode(string status)
    {
        ArgumentNullException.ThrowIfNull(status);
        foreach (string line in status.Split('\n'))
        {
            if (line.StartsWith("Seccomp:", StringComparison.Ordinal)
                && int.TryParse(line.AsSpan(8).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int mode))
            {
                return mode;
            }
        }

        return null;
    }

    /// <summary>
    /// Whether the running kernel's release is at least <paramref name="major"/>.<paramref name="minor"/>: only for
    /// behaviour that changed without a feature bit or opcode to probe. False when the release cannot be parsed.
    /// </summary>
    internal static bool KernelAtLeast(int major, int minor)
    {
        string[] parts = KernelRelease().Split('.', '-');
        return parts.Length >= 2
            && int.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int ma)
            && int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int mi)
            && (ma > major || (ma == major && mi >= minor));
    }

    /// <summary>The running kernel's release string (<c>uname -r</c>).</summary>
    /// <returns>The release, or the OS version when <c>/proc</c> is unreadable.</returns>
    public static string KernelRelease()
    {
        try
        {
            return File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
        }
        catch (IOException)
        {
            return Environment.OSVersion.Version.ToString();
        }
        catch (UnauthorizedAccessException)
        {
            return Environment.OSVersion.Version.ToString();
        }
    }

    /// <summary>Turns a setup errno into a reason, given what the system says about sysctl and seccomp.</summary>
    /// <param name="errno">The positive errno from <c>io_uring_setup(2)</c>.</param>
    /// <param name="disabledSysctl">The value of <c>io_uring_disabled</c>, if known.</param>
    /// <param name="seccompMode">The process's seccomp mode, if known.</param>
    /// <returns>The reason.</returns>
    public static SetupFailureReason Classify(int errno, int? disabledSysctl, int? seccompMode) => errno switch
    {
        Errno.EPERM when disabledSysctl == 2 => SetupFailureReason.DisabledBySysctl,
        Errno.EPERM when disabledSysctl == 1 => SetupFailureReason.DisabledForUnprivileged,
        Errno.EPERM or Errno.ENOSYS when seccompMode is 1 or 2 => SetupFailureReason.BlockedBySeccomp,
        Errno.EPERM or Errno.EACCES => SetupFailureReason.PermissionDenied,
        Errno.ENOSYS => SetupFailureReason.NotSupportedByKernel,
        Errno.ENOMEM => SetupFailureReason.MemoryLimit,
        Errno.EMFILE or Errno.ENFILE => SetupFailureReason.TooManyOpenFiles,
        Errno.EINVAL or Errno.EFAULT => SetupFailureReason.InvalidArguments,
        _ => SetupFailureReason.Other,
    };

    /// <summary>Builds the exception for a failed setup, with a message that says what to do.</summary>
    internal static IoUringSetupException SetupFailed(int errno, uint entries, SetupFlags flags)
    {
        int? sysctl = ReadDisabledSysctl();
        int? seccomp = ReadSeccompMode();
        SetupFailureReason reason = Classify(errno, sysctl, seccomp);
        string advice = reason switch
        {
            SetupFailureReason.DisabledBySysctl =>
                "io_uring is disabled system-wide (/proc/sys/kernel/io_uring_disabled = 2); an administrator can enable it with 'sysctl kernel.io_uring_disabled=0'",
            SetupFailureReason.DisabledForUnprivileged =>
                "io_uring is limited to privileged processes (/proc/sys/kernel/io_uring_disabled = 1); run with CAP_SYS_ADMIN, join the group in kernel.io_uring_group, or set the sysctl to 0",
            SetupFailureReason.BlockedBySeccomp =>
                $"this process runs under a seccomp filter (Seccomp: {seccomp} in /proc/self/status) that denies io_uring_setup; container runtimes' default profiles do this: allow io_uring_setup/io_uring_enter/io_uring_register in the profile",
            SetupFailureReason.PermissionDenied =>
                "a security module (SELinux/AppArmor) or missing capability denied io_uring_setup",
            SetupFailureReason.NotSupportedByKernel =>
                $"the kernel ({KernelRelease()}) has no io_uring: io_uring needs Linux 5.1+ built with CONFIG_IO_URING, and this library needs 5.11+ (6.1+ recommended)",
            SetupFailureReason.MemoryLimit =>
                "not enough memory for the rings: raise RLIMIT_MEMLOCK ('ulimit -l') or the memory cgroup limit, or ask for fewer entries",
            SetupFailureReason.TooManyOpenFiles =>
                "the process or system is out of file descriptors",
            SetupFailureReason.InvalidArguments =>
                $"the kernel rejected entries={entries} with flags={flags} (0x{(uint)flags:X}): entries must be 1..32768 (or set Clamp), and every flag must be known to this kernel ({KernelRelease()}) and combined legally",
            _ => "unexpected error from io_uring_setup",
        };
        string prefix = reason == SetupFailureReason.InvalidArguments
            ? "io_uring_setup rejected the ring's arguments"
            : "io_uring is unavailable";
        string message = $"{prefix}: io_uring_setup failed with {IoUringException.ErrnoName(errno)} ({errno}): {advice}.";
        return new IoUringSetupException(errno, reason, message);
    }
}
