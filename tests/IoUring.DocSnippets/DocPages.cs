namespace IoUring.DocSnippets;

/// <summary>The Markdown pages whose C# blocks are checked, relative to the repository root.</summary>
internal static class DocPages
{
    /// <summary>README.md, docs/*.md, the package READMEs (src/*/README.md) and the samples' READMEs, in that order.</summary>
    public static IEnumerable<string> All(string repo)
    {
        yield return "README.md";
        foreach (string page in Markdown(repo, "docs"))
        {
            yield return page;
        }

        foreach (string page in PackageReadmes.Pages)
        {
            yield return page;
        }

        foreach (string page in Directory.GetDirectories(Path.Combine(repo, "samples")).Order(StringComparer.Ordinal)
            .Select(d => Path.Combine(d, "README.md")).Where(File.Exists))
        {
            yield return Path.GetRelativePath(repo, page);
        }
    }

    private static IEnumerable<string> Markdown(string repo, string folder) =>
        Directory.GetFiles(Path.Combine(repo, folder), "*.md").Select(p => Path.GetRelativePath(repo, p)).Order(StringComparer.Ordinal);
}
