using System.Globalization;

namespace IoUring.Tests;

/// <summary>The parsed output of <c>native/abi_dump.c</c>: what the C compiler sees in the system's uapi headers.</summary>
internal sealed class AbiDump
{
    private AbiDump(string header)
    {
        Header = header;
    }

    /// <summary>The uapi header version, e.g. <c>6.1.192</c>.</summary>
    public string Header { get; }

    /// <summary><c>sizeof(struct name)</c> by struct name.</summary>
    public Dictionary<string, int> StructSizes { get; } = new(StringComparer.Ordinal);

    /// <summary>Every field line, in header order.</summary>
    public List<CField> Fields { get; } = [];

    /// <summary>Constant values by name.</summary>
    public Dictionary<string, long> Constants { get; } = new(StringComparer.Ordinal);

    /// <summary>Builds and runs abi_dump (skips without gcc, fails under CI) and parses its output.</summary>
    public static AbiDump Load()
    {
        string exe = NativeTools.Build("abi_dump");
        ProcessResult r = ChildProcess.Run(exe, []);
        Assert.True(r.ExitCode == 0, "abi_dump failed: " + r);
        return Parse(r.StdOut);
    }

    public static AbiDump Parse(string text)
    {
        AbiDump? dump = null;
        foreach (string raw in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string[] w = raw.Split(' ');
            if (w[0] == "header" && w.Length == 2)
            {
                dump = new AbiDump(w[1]);
                continue;
            }

            if (dump is null)
            {
                throw new FormatException($"abi_dump output must start with 'header': '{raw}'");
            }

            switch (w)
            {
                case ["struct", string name, "size", string size] when !name.Contains('.', StringComparison.Ordinal):
                    dump.StructSizes.Add(name, Int(size));
                    break;
                case ["struct", string qualified, "offset", string offset, "size", string size]:
                    int dot = qualified.IndexOf('.', StringComparison.Ordinal);
                    dump.Fields.Add(new CField(qualified[..dot], qualified[(dot + 1)..], Int(offset), Int(size)));
                    break;
                case ["const", string name, string value]:
                    dump.Constants.Add(name, long.Parse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture));
                    break;
                default:
                    throw new FormatException($"Unrecognised abi_dump line: '{raw}'");
            }
        }

        return dump ?? throw new FormatException("abi_dump printed nothing.");
    }

    private static int Int(string s) => int.Parse(s, NumberStyles.None, CultureInfo.InvariantCulture);
}

/// <summary>One field of a C struct: <c>offsetof</c> and <c>sizeof</c> (0 for a flexible array member).</summary>
internal sealed record CField(string Struct, string Name, int Offset, int Size)
{
    public string Key => Struct + "." + Name;
}
