using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace IoUring.DocSnippets;

/// <summary>
/// A folder outside the repository (so none of its build files apply) holding one fresh console project per snippet,
/// each referencing the packed packages from a local feed, and a solution that builds them all at once.
/// </summary>
internal sealed partial class SnippetWorkspace
{
    private readonly string _repo;

    /// <summary>Creates the workspace layout under <paramref name="root"/>.</summary>
    /// <param name="root">An empty folder outside the repository.</param>
    /// <param name="repo">The repository root (paths in <c>#line</c> directives point into it).</param>
    public SnippetWorkspace(string root, string repo)
    {
        Root = root;
        _repo = repo;
        Directory.CreateDirectory(Path.Combine(root, "snippets"));
    }

    /// <summary>The workspace folder.</summary>
    public string Root { get; }

    /// <summary>The local feed with the packed packages.</summary>
    public string Feed => Path.Combine(Root, "feed");

    /// <summary>The NuGet packages folder the snippets restore into (private: the test versions stay out of the user's cache).</summary>
    public string Packages => Path.Combine(Root, "packages");

    /// <summary>The solution of every generated project.</summary>
    public string Solution => Path.Combine(Root, "snippets.slnx");

    /// <summary>The folder of a snippet's project.</summary>
    public string ProjectDir(Snippet s) => Path.Combine(Root, "snippets", s.Id);

    /// <summary>The project file of a snippet.</summary>
    public string ProjectFile(Snippet s) => Path.Combine(ProjectDir(s), s.Id + ".csproj");

    /// <summary>The built program of a snippet.</summary>
    public string Program(Snippet s) => Path.Combine(ProjectDir(s), "bin", "Release", "net10.0", s.Id + ".dll");

    /// <summary>Packs the library packages into <see cref="Feed"/> with a version no real release has.</summary>
    /// <param name="noBuild">Pack what <c>dotnet build -c Release</c> already built (CI builds first).</param>
    /// <returns>The version.</returns>
    public string Pack(bool noBuild)
    {
        string version = "0.0.0-docs." + DateTime.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture);
        foreach ((string _, string project) in PackageReadmes.Packages)
        {
            // PackageVersion (not Version) leaves the assembly version alone, so an up-to-date build is not redone.
            List<string> args = ["pack", Path.Combine(_repo, project), "-c", "Release", "-o", Feed, $"-p:PackageVersion={version}", "-nologo", "-v", "q"];
            if (noBuild)
            {
                args.Add("--no-build");
            }

            Tool.Run("dotnet", args, _repo, TimeSpan.FromMinutes(10));
        }

        return version;
    }

    /// <summary>Writes the NuGet configuration: the local feed for the library, the user's package cache and nuget.org for the rest.</summary>
    public void WriteNuGetConfig(string feed)
    {
        string cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p
            ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var xml = new StringBuilder();
        xml.AppendLine("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
        xml.AppendLine("<configuration>");
        xml.AppendLine("  <packageSources>");
        xml.AppendLine("    <clear />");
        xml.AppendLine($"    <add key=\"local\" value=\"{feed}\" />");
        if (Directory.Exists(cache))
        {
            xml.AppendLine($"    <add key=\"cache\" value=\"{cache}\" />");
        }

        xml.AppendLine("    <add key=\"nuget.org\" value=\"https://api.nuget.org/v3/index.json\" />");
        xml.AppendLine("  </packageSources>");
        xml.AppendLine("  <packageSourceMapping>");
        xml.AppendLine("    <packageSource key=\"local\"><package pattern=\"IoUring\" /><package pattern=\"IoUring.*\" /></packageSource>");
        if (Directory.Exists(cache))
        {
            xml.AppendLine("    <packageSource key=\"cache\"><package pattern=\"*\" /></packageSource>");
        }

        xml.AppendLine("    <packageSource key=\"nuget.org\"><package pattern=\"*\" /></packageSource>");
        xml.AppendLine("  </packageSourceMapping>");
        xml.AppendLine("</configuration>");
        File.WriteAllText(Path.Combine(Root, "nuget.config"), xml.ToString());

        // Nothing from the repository or above may leak into the snippets' builds.
        File.WriteAllText(Path.Combine(Root, "Directory.Build.props"), "<Project />\n");
        File.WriteAllText(Path.Combine(Root, "Directory.Build.targets"), "<Project />\n");
        File.WriteAllText(Path.Combine(Root, "Directory.Packages.props"), "<Project />\n");
    }

    /// <summary>
    /// Writes a snippet's console project: what <c>dotnet new console</c> (or <c>dotnet new web</c>) makes, plus the
    /// package, with warnings as errors; and its <c>Program.cs</c>: the page's usings, then the snippet, with
    /// <c>#line</c> directives so that every diagnostic names the Markdown page and line.
    /// </summary>
    public void Write(Snippet snippet, Snippet? pageUsings, string version)
    {
        string dir = ProjectDir(snippet);
        Directory.CreateDirectory(dir);
        string code = string.Join('\n', snippet.Lines);
        bool aspNetCore = snippet.Web || code.Contains("IoUring.AspNetCore", StringComparison.Ordinal) ||
            (pageUsings?.Lines.Any(l => l.Contains("IoUring.AspNetCore", StringComparison.Ordinal)) ?? false);
        string sdk = snippet.Web ? "Microsoft.NET.Sdk.Web" : "Microsoft.NET.Sdk";
        string package = aspNetCore ? "IoUring.AspNetCore" : "IoUring";
        File.WriteAllText(ProjectFile(snippet), $"""
            <Project Sdk="{sdk}">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                <NuGetAudit>false</NuGetAudit>
                <SatelliteResourceLanguages>en</SatelliteResourceLanguages>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="{package}" Version="{version}" />
              </ItemGroup>
            </Project>

            """);

        string page = Path.Combine(_repo, snippet.Page);
        var program = new StringBuilder();
        if (pageUsings is not null)
        {
            HashSet<string> own = snippet.UsingDirectives.ToHashSet(StringComparer.Ordinal);
            for (int i = 0; i < pageUsings.Lines.Count; i++)
            {
                string line = pageUsings.Lines[i];
                if (MarkdownSnippets.IsUsingDirective(line) && !own.Contains(line.Trim()))
                {
                    program.Append(CultureInfo.InvariantCulture, $"#line {pageUsings.Line + i} \"{page}\"\n");
                    program.Append(line).Append('\n');
                }
            }
        }

        program.Append(CultureInfo.InvariantCulture, $"#line {snippet.Line} \"{page}\"\n");
        program.Append(code).Append('\n');
        File.WriteAllText(Path.Combine(dir, "Program.cs"), program.ToString());
    }

    /// <summary>Writes the solution of the given snippets' projects.</summary>
    public void WriteSolution(IEnumerable<Snippet> snippets)
    {
        var xml = new StringBuilder("<Solution>\n");
        foreach (Snippet s in snippets)
        {
            xml.Append(CultureInfo.InvariantCulture, $"  <Project Path=\"{Path.GetRelativePath(Root, ProjectFile(s))}\" />\n");
        }

        xml.Append("</Solution>\n");
        File.WriteAllText(Solution, xml.ToString());
    }

    /// <summary>
    /// Restores and builds every project in one MSBuild run (parallel, one compiler server) and returns each project's
    /// errors, keyed by project file. A project missing from the result built cleanly.
    /// </summary>
    public Dictionary<string, List<string>> BuildAll()
    {
        var env = new Dictionary<string, string> { ["NUGET_PACKAGES"] = Packages };
        ToolResult r = Tool.Run("dotnet", ["build", Solution, "-c", "Release", "-nologo", "-v:q", "-clp:NoSummary;ForceNoAlign", "-m"], Root, TimeSpan.FromMinutes(20), env, check: false);
        var errors = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (string line in r.Output.Split('\n'))
        {
            Match m = Diagnostic().Match(line);
            if (!m.Success)
            {
                continue;
            }

            string project = m.Groups["project"].Value.Trim();
            string text = m.Groups["text"].Value.Trim().Replace(_repo + Path.DirectorySeparatorChar, string.Empty, StringComparison.Ordinal);
            if (!errors.TryGetValue(project, out List<string>? list))
            {
                errors[project] = list = [];
            }

            if (!list.Contains(text))
            {
                list.Add(text);
            }
        }

        if (r.ExitCode != 0 && errors.Count == 0)
        {
            errors[string.Empty] = ["the build failed without a diagnostic naming a snippet; its output follows", r.Output];
        }

        return errors;
    }

    [GeneratedRegex(@"^(?<text>.*?\b(error|warning)\s+[A-Z]+[0-9]+:.*?)\s*\[(?<project>[^\]]+\.csproj)(::[^\]]*)?\]\s*$")]
    private static partial Regex Diagnostic();
}
