using System.Reflection;
using System.Text.RegularExpressions;

namespace IoUring.Tests.Interop;

/// <summary>docs/kernel-features.md against the code: every opcode has a prep, and every method and test the tables name exists.</summary>
public sealed partial class KernelFeaturesDocTests
{
    [Fact]
    public void Every_opcode_row_names_existing_preps_and_tests()
    {
        string doc = File.ReadAllText(DocPath());
        Type[] testTypes = typeof(KernelFeaturesDocTests).Assembly.GetTypes();
        var problems = new List<string>();
        var seen = new HashSet<Opcode>();
        foreach (Match row in OpcodeRow().Matches(doc))
        {
            var op = Enum.Parse<Opcode>(row.Groups["op"].Value);
            seen.Add(op);
            string[] preps = PrepName().Matches(row.Groups["api"].Value).Select(m => m.Groups[1].Value).ToArray();
            if (preps.Length == 0)
            {
                problems.Add($"{op}: no prep named");
            }

            foreach (string prep in preps.Where(p => !HasMethod(p)))
            {
                problems.Add($"{op}: {prep} does not exist on Sqe or Ring");
            }

            foreach (string test in row.Groups["tests"].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!testTypes.Any(t => t.Name == test))
                {
                    problems.Add($"{op}: test class {test} does not exist");
                }
            }
        }

        foreach (Opcode op in Enum.GetValues<Opcode>().Where(o => !seen.Contains(o)))
        {
            problems.Add($"{op} has no row in the opcode table");
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void Every_feature_row_names_existing_tests()
    {
        string doc = File.ReadAllText(DocPath());
        int start = doc.IndexOf("## Features beyond opcodes", StringComparison.Ordinal);
        Assert.True(start >= 0, "the feature table is missing");
        string table = doc[start..doc.IndexOf("\n## ", start + 5, StringComparison.Ordinal)];
        Type[] testTypes = typeof(KernelFeaturesDocTests).Assembly.GetTypes();
        int rows = 0;
        foreach (string line in table.Split('\n').Where(l => l.StartsWith("| ", StringComparison.Ordinal) && !l.StartsWith("| feature", StringComparison.Ordinal) && !l.StartsWith("| ---", StringComparison.Ordinal)))
        {
            rows++;
            string tests = line.Split('|', StringSplitOptions.TrimEntries)[^2];
            foreach (Match m in TestName().Matches(tests))
            {
                Assert.True(testTypes.Any(t => t.Name == m.Groups[1].Value), $"{line}: no test class {m.Groups[1].Value}");
            }
        }

        Assert.True(rows >= 20, $"only {rows} feature rows");
    }

    private static bool HasMethod(string name) =>
        typeof(Sqe).GetMethods(BindingFlags.Public | BindingFlags.Instance).Any(m => m.Name == name)
        || typeof(Ring).GetMethods(BindingFlags.Public | BindingFlags.Instance).Any(m => m.Name == name);

    private static string DocPath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "docs", "kernel-features.md");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException("docs/kernel-features.md not found above the test directory.");
    }

    [GeneratedRegex(@"^\| \d+ \| `(?<op>\w+)` \| [^|]+ \| [^|]+ \| (?<api>[^|]+) \| (?<tests>[^|]+) \|", RegexOptions.Multiline)]
    private static partial Regex OpcodeRow();

    [GeneratedRegex(@"`(?:Ring\.)?(Prep\w+)`")]
    private static partial Regex PrepName();

    [GeneratedRegex(@"`(\w+Tests)`")]
    private static partial Regex TestName();
}
