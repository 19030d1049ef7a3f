using System.Text.RegularExpressions;

namespace IoUring.DocSnippets;

/// <summary>
/// Checks the README each package ships: it exists and is packed, and every link in it is absolute (a relative link
/// is dead on the package's page) and, when it points into this repository, starts with the repository URL of
/// <c>Directory.Build.props</c> and names a file or folder that exists.
/// </summary>
internal static partial class PackageReadmes
{
    /// <summary>The packages and their projects.</summary>
    public static readonly (string Package, string Project)[] Packages =
    [
        ("IoUring", "src/IoUring/IoUring.csproj"),
        ("IoUring.AspNetCore", "src/IoUring.AspNetCore/IoUring.AspNetCore.csproj"),
    ];

    /// <summary>The package READMEs, relative to the repository root.</summary>
    public static IEnumerable<string> Pages => Packages.Select(p => Path.Combine(Path.GetDirectoryName(p.Project)!, "README.md"));

    /// <summary>Returns every problem found.</summary>
    /// <param name="repo">The repository root.</param>
    /// <returns>One line per problem, naming the file and line.</returns>
    public static List<string> Check(string repo)
    {
        var problems = new List<string>();
        string props = File.ReadAllText(Path.Combine(repo, "Directory.Build.props"));
        Match url = RepositoryUrl().Match(props);
        if (!url.Success)
        {
            problems.Add("Directory.Build.props: no <RepositoryUrl>: the package READMEs' links need the repository's URL");
            return problems;
        }

        string repositoryUrl = url.Groups[1].Value.Trim().TrimEnd('/');
        foreach ((string package, string project) in Packages)
        {
            string readme = Path.Combine(Path.GetDirectoryName(project)!, "README.md");
            string csproj = File.ReadAllText(Path.Combine(repo, project));
            if (!csproj.Contains("<PackageReadmeFile>README.md</PackageReadmeFile>", StringComparison.Ordinal) ||
                !csproj.Contains("Include=\"README.md\" Pack=\"true\"", StringComparison.Ordinal))
            {
                problems.Add($"{project}: package {package} must pack its own README.md (PackageReadmeFile, and <None Include=\"README.md\" Pack=\"true\" PackagePath=\"/\" />)");
            }

            string path = Path.Combine(repo, readme);
            if (!File.Exists(path))
            {
                problems.Add($"{readme}: missing: package {package} needs a consumer-facing README");
                continue;
            }

            string[] lines = File.ReadAllLines(path);
            bool inCode = false;
            for (int i = 0; i < lines.Length; i++)
            {
                if (lines[i].TrimStart().StartsWith("```", StringComparison.Ordinal))
                {
                    inCode = !inCode;
                    continue;
                }

                if (inCode)
                {
                    continue;
                }

                foreach (Match m in Link().Matches(lines[i]))
                {
                    string target = m.Groups["target"].Value;
                    string? problem = CheckLink(repo, repositoryUrl, target);
                    if (problem is not null)
                    {
                        problems.Add($"{readme}:{i + 1}: link '{target}': {problem}");
                    }
                }
            }
        }

        return problems;
    }

    private static string? CheckLink(string repo, string repositoryUrl, string target)
    {
        if (!target.StartsWith("https://", StringComparison.Ordinal) && !target.StartsWith("http://", StringComparison.Ordinal))
        {
            return target.StartsWith("mailto:", StringComparison.Ordinal)
                ? null
                : $"relative links are dead on the package page: use {repositoryUrl}/blob/main/<path>";
        }

        if (!target.Contains("github.com", StringComparison.OrdinalIgnoreCase) || target.StartsWith("https://github.com/dotnet/", StringComparison.OrdinalIgnoreCase) ||
            target.StartsWith("https://github.com/axboe/", StringComparison.OrdinalIgnoreCase))
        {
            return null; // another site, or another project on GitHub
        }

        if (!target.StartsWith(repositoryUrl + "/", StringComparison.Ordinal) && target != repositoryUrl)
        {
            return $"points to GitHub but not to the RepositoryUrl of Directory.Build.props ({repositoryUrl})";
        }

        string rest = target.Length > repositoryUrl.Length ? target[(repositoryUrl.Length + 1)..] : string.Empty;
        if (rest.Length == 0)
        {
            return null;
        }

        Match m = RepositoryPath().Match(rest);
        if (!m.Success)
        {
            return "expected <RepositoryUrl>/blob/main/<file> or <RepositoryUrl>/tree/main/<folder>";
        }

        string relative = Uri.UnescapeDataString(m.Groups["path"].Value);
        string full = Path.Combine(repo, relative);
        bool exists = m.Groups["kind"].Value == "blob" ? File.Exists(full) : Directory.Exists(full);
        return exists ? null : $"{relative} does not exist in the repository";
    }

    [GeneratedRegex(@"<RepositoryUrl>([^<]+)</RepositoryUrl>")]
    private static partial Regex RepositoryUrl();

    [GeneratedRegex(@"\]\((?<target>[^)\s]+)(\s+""[^""]*"")?\)|<(?<target>https?://[^>]+)>|^\[[^\]]+\]:\s*(?<target>\S+)")]
    private static partial Regex Link();

    [GeneratedRegex(@"^(?<kind>blob|tree)/main/(?<path>[^#?]+)([#?].*)?$")]
    private static partial Regex RepositoryPath();
}
