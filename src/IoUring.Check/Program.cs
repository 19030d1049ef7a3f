using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace IoUring.Check;

/// <summary>
/// <c>dotnet run --project src/IoUring.Check [-- --json]</c>: tells whether io_uring is usable in this process and,
/// when it is not, why (sysctl, seccomp, kernel, limits). Exit code 0 when available, 2 when not, 1 on bad usage.
/// </summary>
internal static class Program
{
    private const int ExitAvailable = 0;
    private const int ExitUsage = 1;
    private const int ExitUnavailable = 2;

    private static int Main(string[] args)
    {
        bool json = false;
        foreach (string arg in args)
        {
            switch (arg)
            {
                case "--json":
                    json = true;
                    break;
                case "-h" or "--help":
                    Console.Out.Write(Usage);
                    return ExitAvailable;
                default:
                    Console.Error.WriteLine($"IoUring.Check: unknown option '{arg}'.");
                    Console.Error.Write(Usage);
                    return ExitUsage;
            }
        }

        Report report = Report.Collect();
        Console.Out.Write(json ? report.ToJson() : report.ToText());
        return report.Availability.IsAvailable ? ExitAvailable : ExitUnavailable;
    }

    private const string Usage =
        "usage: IoUring.Check [--json]\n" +
        "  Creates a small io_uring and reports whether it worked, and why not when it did not:\n" +
        "  kernel release, kernel.io_uring_disabled, seccomp mode, the IOURING_DISABLE kill switch, setup result,\n" +
        "  ring features, supported opcodes.\n" +
        "  --json   machine-readable output\n" +
        "  exit code: 0 io_uring available, 2 unavailable, 1 bad usage\n";
}

/// <summary>Everything the tool reports, gathered once.</summary>
internal sealed class Report
{
    private Report(IoUringAvailability availability, Probe? probe, string? probeError)
    {
        Availability = availability;
        Probe = probe;
        ProbeError = probeError;
    }

    public IoUringAvailability Availability { get; }

    public Probe? Probe { get; }

    public string? ProbeError { get; }

    public static Report Collect()
    {
        IoUringAvailability availability = IoUringSupport.Check();
        if (!availability.IsAvailable)
        {
            return new Report(availability, null, null);
        }

        try
        {
            return new Report(availability, Probe.Current, null);
        }
        catch (IoUringException e)
        {
            return new Report(availability, null, e.Message);
        }
    }

    public string ToText()
    {
        IoUringAvailability a = Availability;
        var sb = new StringBuilder();
        sb.AppendLine(a.IsAvailable ? "io_uring is available." : $"io_uring is NOT available: {a.Reason}.");
        Line(sb, "kernel release", a.KernelRelease);
        Line(sb, "io_uring_disabled", DescribeSysctl(a.DisabledSysctl));
        Line(sb, "seccomp", DescribeSeccomp(a.SeccompMode));
        Line(sb, IoUringSupport.DisableVariable, IoUringSupport.IsDisabledByEnvironment ? "set: io_uring is turned off for this process" : "not set");
        if (a.IsAvailable)
        {
            Line(sb, "setup", "ok");
            Line(sb, "features", $"0x{(uint)a.Features:X}: {string.Join(", ", FeatureNames(a.Features))}");
        }
        else
        {
            Line(sb, "setup", a.Errno == 0 ? $"not tried: {a.Reason}" : $"failed: {a.Reason}, {IoUringException.ErrnoName(a.Errno)} ({a.Errno})");
            Line(sb, "message", a.Message);
        }

        if (Probe is Probe p)
        {
            IReadOnlyList<Opcode> missing = p.MissingOpcodes();
            string lastName = Enum.IsDefined((Opcode)p.LastOp) ? $" ({(Opcode)p.LastOp})" : "";
            Line(sb, "probe last_op", $"{p.LastOp}{lastName}");
            Line(sb, "supported opcodes", string.Join(", ", p.SupportedOpcodes()));
            Line(sb, "missing opcodes", missing.Count == 0 ? "none" : string.Join(", ", missing));
        }
        else if (ProbeError is not null)
        {
            Line(sb, "probe", ProbeError);
        }

        return sb.ToString();
    }

    public string ToJson()
    {
        IoUringAvailability a = Availability;
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteBoolean("available", a.IsAvailable);
            w.WriteString("reason", a.Reason.ToString());
            w.WriteNumber("errno", a.Errno);
            if (a.Errno != 0)
            {
                w.WriteString("errnoName", IoUringException.ErrnoName(a.Errno));
            }
            else
            {
                w.WriteNull("errnoName");
            }

            w.WriteString("message", a.Message);
            w.WriteString("kernelRelease", a.KernelRelease);
            WriteNullable(w, "ioUringDisabled", a.DisabledSysctl);
            WriteNullable(w, "seccompMode", a.SeccompMode);
            w.WriteBoolean("disabledByEnvironment", IoUringSupport.IsDisabledByEnvironment);
            w.WriteStartObject("features");
            w.WriteNumber("value", (uint)a.Features);
            WriteArray(w, "names", FeatureNames(a.Features));
            w.WriteEndObject();
            if (Probe is Probe p)
            {
                w.WriteStartObject("probe");
                w.WriteNumber("lastOp", p.LastOp);
                WriteArray(w, "supported", p.SupportedOpcodes().Select(o => o.ToString()));
                WriteArray(w, "missing", p.MissingOpcodes().Select(o => o.ToString()));
                w.WriteEndObject();
            }
            else
            {
                w.WriteNull("probe");
            }

            if (ProbeError is not null)
            {
                w.WriteString("probeError", ProbeError);
            }

            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    private static void Line(StringBuilder sb, string name, string value) =>
        sb.Append("  ").Append(name.PadRight(19)).AppendLine(value);

    private static string DescribeSysctl(int? value) => value switch
    {
        null => "absent (kernel before 6.6: io_uring cannot be disabled by sysctl)",
        0 => "0 (enabled for every process)",
        1 => "1 (only privileged processes or members of kernel.io_uring_group)",
        2 => "2 (disabled for every process)",
        _ => value.Value.ToString(CultureInfo.InvariantCulture),
    };

    private static string DescribeSeccomp(int? mode) => mode switch
    {
        null => "unknown (no Seccomp line in /proc/self/status)",
        0 => "0 (no filter)",
        1 => "1 (strict mode)",
        2 => "2 (filter: system calls may be denied, as in containers)",
        _ => mode.Value.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>Names of the set feature bits; bits this library does not know are shown in hex.</summary>
    private static List<string> FeatureNames(RingFeatures features)
    {
        var names = new List<string>();
        uint known = 0;
        foreach (RingFeatures f in Enum.GetValues<RingFeatures>())
        {
            known |= (uint)f;
            if (f != RingFeatures.None && (features & f) == f)
            {
                names.Add(f.ToString());
            }
        }

        uint unknown = (uint)features & ~known;
        if (unknown != 0)
        {
            names.Add($"0x{unknown:X}");
        }

        return names;
    }

    private static void WriteNullable(Utf8JsonWriter w, string name, int? value)
    {
        if (value is int v)
        {
            w.WriteNumber(name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static void WriteArray(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (string v in values)
        {
            w.WriteStringValue(v);
        }

        w.WriteEndArray();
    }
}
