using System.Globalization;
using System.Net;

namespace IoUring.Samples;

/// <summary>
/// The samples' command line: <c>--name value</c> options and <c>--flag</c> switches. An argument that is neither, or
/// an option without its value, prints the usage to standard error; the sample then exits with code 2.
/// </summary>
internal sealed class SampleArgs
{
    /// <summary>The options given, by name (with the dashes).</summary>
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    /// <summary>The switches given.</summary>
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    private SampleArgs()
    {
    }

    /// <summary>Parses <paramref name="args"/>; null (after printing <paramref name="usage"/>) when one is not understood.</summary>
    /// <param name="args">The command line.</param>
    /// <param name="usage">The usage line, without "usage: ".</param>
    /// <param name="options">The options that take a value, e.g. <c>--port</c>.</param>
    /// <param name="flags">The switches that take none, e.g. <c>--require-iouring</c>.</param>
    public static SampleArgs? Parse(string[] args, string usage, string[] options, string[]? flags = null)
    {
        var parsed = new SampleArgs();
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            if (flags is not null && flags.Contains(a))
            {
                parsed._flags.Add(a);
            }
            else if (options.Contains(a) && i + 1 < args.Length)
            {
                parsed._values[a] = args[++i];
            }
            else
            {
                Console.Error.WriteLine($"usage: {usage}");
                return null;
            }
        }

        return parsed;
    }

    /// <summary>True when switch <paramref name="flag"/> was given.</summary>
    public bool Has(string flag) => _flags.Contains(flag);

    /// <summary>The value of <paramref name="name"/>, or <paramref name="fallback"/>.</summary>
    public string Get(string name, string fallback) => _values.GetValueOrDefault(name, fallback);

    /// <summary>The integer value of <paramref name="name"/>, or <paramref name="fallback"/>.</summary>
    public int Get(string name, int fallback) => _values.TryGetValue(name, out string? v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    /// <summary>The integer value of <paramref name="name"/>, or null when it was not given.</summary>
    public int? GetInt(string name) => _values.TryGetValue(name, out string? v) ? int.Parse(v, CultureInfo.InvariantCulture) : null;

    /// <summary>The number value of <paramref name="name"/>, or <paramref name="fallback"/>.</summary>
    public double Get(string name, double fallback) => _values.TryGetValue(name, out string? v) ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;

    /// <summary>The address value of <paramref name="name"/>, or <paramref name="fallback"/>.</summary>
    public IPAddress Get(string name, IPAddress fallback) => _values.TryGetValue(name, out string? v) ? IPAddress.Parse(v) : fallback;

    /// <summary>The value of <paramref name="name"/> as one of <paramref name="choices"/>, or <paramref name="fallback"/> when not given.</summary>
    /// <exception cref="ArgumentException">The value is none of the choices.</exception>
    public T Choose<T>(string name, T fallback, params (string Word, T Value)[] choices)
    {
        if (!_values.TryGetValue(name, out string? v))
        {
            return fallback;
        }

        foreach ((string word, T value) in choices)
        {
            if (word == v)
            {
                return value;
            }
        }

        throw new ArgumentException($"{name}: '{v}' is not {string.Join(" or ", choices.Select(static c => c.Word))}");
    }
}
