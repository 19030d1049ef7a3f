using System.Globalization;

namespace IoUring.Stress;

/// <summary>
/// Command lines:
/// <code>
///   IoUring.Stress [soak] --seconds 30 --files 4 --seed 1 [--driver ring|async] [--file-mb 4] [--entries 64] [--json out.json]
///   IoUring.Stress fuzz --seed 1 --iterations 20000 [--seconds 10] [--layer ring|async|sockets|http]
///   IoUring.Stress register-buffers --bytes 1048576
///   IoUring.Stress accept-emfile [--pending 4] [--watch-ms 2000]
///   IoUring.Stress connections --count 10000 [--rounds 2] [--engines 2]
/// </code>
/// Exit codes: 0 success; 1 a verification failure, leak, undocumented exception or hang; 2 bad command line;
/// 3 (register-buffers) the kernel refused the registration with a clear <see cref="IoUringException"/>.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        string mode = args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal) ? args[0] : "soak";
        string[] rest = mode == "soak" && (args.Length == 0 || args[0].StartsWith("--", StringComparison.Ordinal)) ? args : args[1..];
        try
        {
            var options = Options.Parse(rest);
            return mode switch
            {
                "soak" => Soak.SoakCommand.Run(options),
                "fuzz" => Fuzz.FuzzCommand.Run(options),
                "register-buffers" => RegisterBuffersProbe.Run(options),
                "accept-emfile" => LimitsProbe.AcceptEmfile(options),
                "connections" => LimitsProbe.Connections(options),
                "connections-client" => LimitsProbe.ConnectionsClient(options),
                _ => Usage($"unknown mode '{mode}'"),
            };
        }
        catch (FormatException e)
        {
            return Usage(e.Message);
        }
    }

    private static int Usage(string why)
    {
        Console.Error.WriteLine($"IoUring.Stress: {why}");
        Console.Error.WriteLine("usage: IoUring.Stress [soak] --seconds S --files N --seed N [--driver ring|async] [--file-mb M] [--entries E] [--json PATH]");
        Console.Error.WriteLine("       IoUring.Stress fuzz --seed N --iterations M [--seconds S] [--layer ring|async|sockets|http]");
        Console.Error.WriteLine("       IoUring.Stress register-buffers --bytes N");
        Console.Error.WriteLine("       IoUring.Stress accept-emfile [--pending N] [--watch-ms MS]");
        Console.Error.WriteLine("       IoUring.Stress connections --count N [--rounds R] [--engines E]");
        return 2;
    }
}

/// <summary>--name value pairs.</summary>
public sealed class Options
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public static Options Parse(string[] args)
    {
        var o = new Options();
        for (int i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                throw new FormatException($"unexpected argument '{args[i]}'");
            }

            string name = args[i][2..];
            string value = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : "true";
            o._values[name] = value;
        }

        return o;
    }

    public string? String(string name) => _values.TryGetValue(name, out string? v) ? v : null;

    public long Long(string name, long fallback) =>
        _values.TryGetValue(name, out string? v)
            ? long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out long x) ? x : throw new FormatException($"--{name} needs an integer, got '{v}'")
            : fallback;

    public double Double(string name, double fallback) =>
        _values.TryGetValue(name, out string? v)
            ? double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) ? x : throw new FormatException($"--{name} needs a number, got '{v}'")
            : fallback;

    public bool Flag(string name) => _values.TryGetValue(name, out string? v) && v != "false";
}
