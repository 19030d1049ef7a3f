using System.Text.RegularExpressions;

namespace IoUring.DocSnippets;

/// <summary>How a snippet is checked, from the words after the language in its fence (<c>```csharp no_run</c>).</summary>
internal enum SnippetMode
{
    /// <summary>Compiled and run; it must exit with 0 within the time limit.</summary>
    Run,

    /// <summary>Compiled only (<c>no_run</c>): a server that waits for clients, or code that needs what CI lacks.</summary>
    CompileOnly,

    /// <summary>The page's block of <c>using</c> directives, prepended to the page's other snippets.</summary>
    Usings,
}

/// <summary>One fenced C# block of a Markdown page.</summary>
/// <param name="Page">The page, relative to the repository root (<c>docs/getting-started.md</c>).</param>
/// <param name="Number">1-based position among the page's C# blocks.</param>
/// <param name="Line">1-based line of the block's first code line in the page.</param>
/// <param name="Lines">The code, with the fence's indentation removed.</param>
/// <param name="Mode">How it is checked.</param>
/// <param name="Web">True for <c>```csharp web</c>: an ASP.NET Core app (<c>dotnet new web</c>, <c>Microsoft.NET.Sdk.Web</c>).</param>
internal sealed record Snippet(string Page, int Number, int Line, IReadOnlyList<string> Lines, SnippetMode Mode, bool Web)
{
    /// <summary>How the report names the snippet: page, block number and line.</summary>
    public string Name => $"{Page} block {Number} (line {Line})";

    /// <summary>A file-system-safe identifier, unique in a run.</summary>
    public string Id => Regex.Replace(Page, "[^A-Za-z0-9]+", "-").Trim('-').ToLowerInvariant() + "-" + Number.ToString("00", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The snippet's own leading <c>using</c> directives.</summary>
    public IEnumerable<string> UsingDirectives => Lines.Where(MarkdownSnippets.IsUsingDirective).Select(l => l.Trim());
}

/// <summary>A page's C# snippets, the page's usings block (if any) and the problems found while reading it.</summary>
internal sealed record PageSnippets(string Page, Snippet? Usings, IReadOnlyList<Snippet> Snippets, IReadOnlyList<string> Problems);

/// <summary>Reads fenced C# blocks out of Markdown.</summary>
/// <remarks>
/// <para>A fence opens with three or more backticks (or tildes), optionally indented (inside a list); the first word
/// of its info string is the language: <c>csharp</c>, <c>cs</c> or <c>c#</c>. Further words: <c>no_run</c> (compile
/// only), <c>web</c> (an ASP.NET Core app). Anything else is an error, so a typo cannot silently skip a check.</para>
/// <para>A page may open with one C# block made only of <c>using</c> directives (and comments): those usings are
/// prepended to the page's other blocks, as the page says they should be when pasting.</para>
/// </remarks>
internal static partial class MarkdownSnippets
{
    private static readonly string[] CSharp = ["csharp", "cs", "c#"];

    /// <summary>Extracts the snippets of one page.</summary>
    /// <param name="page">The page's path relative to the repository root, for messages.</param>
    /// <param name="markdown">The page's text.</param>
    /// <param name="fixtures">
    /// Files the checker provides in a snippet's working directory (<c>data.bin</c>): a snippet that uses one must come
    /// after prose that names it, so a reader knows to create it.
    /// </param>
    /// <returns>The snippets and any problems (unknown attributes, a usings block that is not the first, an unclosed fence, unnamed data).</returns>
    public static PageSnippets Read(string page, string markdown, IReadOnlyCollection<string> fixtures)
    {
        string[] lines = markdown.ReplaceLineEndings("\n").Split('\n');
        var snippets = new List<Snippet>();
        var problems = new List<string>();
        var prose = new System.Text.StringBuilder();
        Snippet? usings = null;
        int number = 0;
        for (int i = 0; i < lines.Length; i++)
        {
            Match open = FenceOpen().Match(lines[i]);
            if (!open.Success)
            {
                prose.AppendLine(lines[i]);
                continue;
            }

            int openLine = i + 1;
            string indent = open.Groups["indent"].Value;
            string fence = open.Groups["fence"].Value;
            string[] info = open.Groups["info"].Value.Split([' ', '\t', ','], StringSplitOptions.RemoveEmptyEntries);
            int start = i + 1;
            int end = start;
            while (end < lines.Length && !IsFenceClose(lines[end], fence))
            {
                end++;
            }

            if (end == lines.Length)
            {
                problems.Add($"{page}:{openLine}: the code fence opened here is never closed");
                break;
            }

            i = end;
            if (info.Length == 0 || !CSharp.Contains(info[0], StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }

            number++;
            List<string> code = lines[start..end].Select(l => Unindent(l, indent)).ToList();
            SnippetMode mode = SnippetMode.Run;
            bool web = false;
            foreach (string word in info.Skip(1))
            {
                switch (word)
                {
                    case "no_run":
                        mode = SnippetMode.CompileOnly;
                        break;
                    case "web":
                        web = true;
                        break;
                    default:
                        problems.Add($"{page}:{openLine}: unknown snippet attribute '{word}' (known: no_run, web)");
                        break;
                }
            }

            bool onlyUsings = code.Any(IsUsingDirective) && code.All(l => IsUsingDirective(l) || IsBlankOrComment(l));
            if (onlyUsings)
            {
                if (number == 1)
                {
                    usings = new Snippet(page, number, start + 1, code, SnippetMode.Usings, web);
                    continue;
                }

                problems.Add($"{page}:{start + 1}: a block of only using directives must be the page's first C# block (it is block {number})");
            }

            foreach (string fixture in fixtures)
            {
                if (code.Any(l => l.Contains($"\"{fixture}\"", StringComparison.Ordinal)) && !prose.ToString().Contains(fixture, StringComparison.Ordinal))
                {
                    problems.Add($"{page}:{start + 1}: block {number} reads \"{fixture}\", but no text before it says what that file is (name it, and how to make one)");
                }
            }

            snippets.Add(new Snippet(page, number, start + 1, code, mode, web));
        }

        return new PageSnippets(page, usings, snippets, problems);
    }

    /// <summary>True for a <c>using</c> directive (not a <c>using</c> statement or declaration).</summary>
    public static bool IsUsingDirective(string line) => UsingDirective().IsMatch(line);

    private static bool IsBlankOrComment(string line)
    {
        string t = line.Trim();
        return t.Length == 0 || t.StartsWith("//", StringComparison.Ordinal);
    }

    private static bool IsFenceClose(string line, string fence)
    {
        string t = line.Trim();
        return t.Length >= fence.Length && t.All(c => c == fence[0]);
    }

    private static string Unindent(string line, string indent) =>
        line.StartsWith(indent, StringComparison.Ordinal) ? line[indent.Length..] : line.TrimStart();

    [GeneratedRegex(@"^(?<indent>\s*)(?<fence>`{3,}|~{3,})\s*(?<info>[^`]*)$")]
    private static partial Regex FenceOpen();

    [GeneratedRegex(@"^\s*(global\s+)?using\s+(static\s+)?(\w+\s*=\s*)?[\w.]+(<[^;]*>)?\s*;\s*(//.*)?$")]
    private static partial Regex UsingDirective();
}
