using IoUring.DocSnippets;

namespace IoUring.Tests.Docs;

/// <summary>
/// The docs' snippet checker reads Markdown the way the docs are written. (The check itself, compiling and running
/// every snippet against the packed packages, runs in CI: <c>dotnet run --project tests/IoUring.DocSnippets</c>.)
/// </summary>
public sealed class DocSnippetsTests
{
    private static readonly string[] Fixtures = ["data.bin"];

    [Fact]
    public void A_page_may_open_with_a_block_of_usings_that_its_other_blocks_assume()
    {
        PageSnippets page = MarkdownSnippets.Read("p.md", """
            # Page

            ```csharp
            using IoUring;
            // a comment is fine
            using System.Text;
            ```

            Text.

            ```csharp
            using IoUring;
            Console.WriteLine(Encoding.UTF8.GetByteCount("x"));
            ```
            """, Fixtures);
        Assert.Empty(page.Problems);
        Assert.NotNull(page.Usings);
        Assert.Equal(["using IoUring;", "using System.Text;"], page.Usings.UsingDirectives);
        Snippet s = Assert.Single(page.Snippets);
        Assert.Equal(2, s.Number);
        Assert.Equal(12, s.Line);
        Assert.Equal(SnippetMode.Run, s.Mode);
        Assert.Equal(["using IoUring;"], s.UsingDirectives);
    }

    [Fact]
    public void A_usings_block_that_is_not_the_first_is_a_problem_and_using_statements_are_not_directives()
    {
        PageSnippets page = MarkdownSnippets.Read("p.md", """
            ```cs
            using var ring = new IoUring.Ring(4);
            ```

            ```csharp
            using IoUring;
            ```
            """, Fixtures);
        Assert.Null(page.Usings);
        Assert.Contains(page.Problems, p => p.Contains("must be the page's first C# block", StringComparison.Ordinal));
        Assert.False(MarkdownSnippets.IsUsingDirective("using var ring = new Ring(4);"));
        Assert.False(MarkdownSnippets.IsUsingDirective("using (var x = Make())"));
        Assert.True(MarkdownSnippets.IsUsingDirective("using static System.Math;"));
        Assert.True(MarkdownSnippets.IsUsingDirective("using Handle = Microsoft.Win32.SafeHandles.SafeFileHandle;"));
    }

    [Fact]
    public void Fence_words_choose_the_check_and_an_unknown_word_is_a_problem()
    {
        PageSnippets page = MarkdownSnippets.Read("p.md", """
            - In a list:

              ```csharp no_run
              while (true) { }
              ```

            ```csharp web
            var app = WebApplication.Create();
            ```

            ```csharp norun
            ```

            ```bash
            echo not C#
            ```
            """, Fixtures);
        Assert.Equal(3, page.Snippets.Count);
        Assert.Equal(SnippetMode.CompileOnly, page.Snippets[0].Mode);
        Assert.Equal("while (true) { }", Assert.Single(page.Snippets[0].Lines));
        Assert.True(page.Snippets[1].Web);
        Assert.Contains(page.Problems, p => p.Contains("unknown snippet attribute 'norun'", StringComparison.Ordinal));
    }

    [Fact]
    public void A_snippet_that_reads_a_data_file_the_text_never_named_is_a_problem()
    {
        const string Code = """
            ```csharp
            byte[] b = File.ReadAllBytes("data.bin");
            ```
            """;
        PageSnippets unnamed = MarkdownSnippets.Read("p.md", Code, Fixtures);
        Assert.Contains(unnamed.Problems, p => p.Contains("reads \"data.bin\"", StringComparison.Ordinal));
        PageSnippets named = MarkdownSnippets.Read("p.md", "Make `data.bin` first: `head -c 1M /dev/urandom > data.bin`.\n\n" + Code, Fixtures);
        Assert.Empty(named.Problems);
    }

    [Fact]
    public void An_unclosed_fence_is_a_problem()
    {
        PageSnippets page = MarkdownSnippets.Read("p.md", "```csharp\nint x = 1;\n", Fixtures);
        Assert.Contains(page.Problems, p => p.Contains("never closed", StringComparison.Ordinal));
    }

    [Fact]
    public void The_repositorys_pages_and_package_readmes_pass_the_structural_checks()
    {
        string repo = RepositoryRoot();
        var pages = new List<string> { "README.md" };
        pages.AddRange(Directory.GetFiles(Path.Combine(repo, "docs"), "*.md").Select(p => Path.GetRelativePath(repo, p)));
        pages.AddRange(PackageReadmes.Pages);
        var problems = new List<string>();
        int snippets = 0;
        foreach (string page in pages)
        {
            PageSnippets ps = MarkdownSnippets.Read(page, File.ReadAllText(Path.Combine(repo, page)), Fixtures);
            problems.AddRange(ps.Problems);
            snippets += ps.Snippets.Count;
        }

        problems.AddRange(PackageReadmes.Check(repo));
        Assert.Empty(problems);
        Assert.True(snippets > 20, $"only {snippets} snippets found");
    }

    [Fact]
    public void Package_readme_links_must_be_absolute_and_point_into_the_repository_url()
    {
        string repo = Directory.CreateTempSubdirectory("iouring-readme-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(repo, "Directory.Build.props"), "<Project><PropertyGroup><RepositoryUrl>https://github.com/o/r</RepositoryUrl></PropertyGroup></Project>");
            Directory.CreateDirectory(Path.Combine(repo, "docs"));
            File.WriteAllText(Path.Combine(repo, "docs", "a.md"), "# a");
            foreach ((string _, string project) in PackageReadmes.Packages)
            {
                string dir = Path.Combine(repo, Path.GetDirectoryName(project)!);
                Directory.CreateDirectory(dir);
                File.WriteAllText(Path.Combine(repo, project), "<PackageReadmeFile>README.md</PackageReadmeFile><None Include=\"README.md\" Pack=\"true\" />");
                File.WriteAllText(Path.Combine(dir, "README.md"), """
                    [ok](https://github.com/o/r/blob/main/docs/a.md) [ok too](https://www.nuget.org/packages/IoUring)
                    [relative](docs/a.md) [missing](https://github.com/o/r/blob/main/docs/b.md) [elsewhere](https://github.com/x/r/blob/main/docs/a.md)

                    ```csharp
                    // [not a link](in/code.md)
                    ```
                    """);
            }

            List<string> problems = PackageReadmes.Check(repo);
            Assert.Equal(6, problems.Count);
            Assert.Equal(2, problems.Count(p => p.Contains("relative links are dead", StringComparison.Ordinal)));
            Assert.Equal(2, problems.Count(p => p.Contains("docs/b.md does not exist", StringComparison.Ordinal)));
            Assert.Equal(2, problems.Count(p => p.Contains("not to the RepositoryUrl", StringComparison.Ordinal)));
        }
        finally
        {
            Directory.Delete(repo, recursive: true);
        }
    }

    private static string RepositoryRoot()
    {
        for (string? d = AppContext.BaseDirectory; d is not null; d = Path.GetDirectoryName(d))
        {
            if (File.Exists(Path.Combine(d, "IoUring.sln")))
            {
                return d;
            }
        }

        throw new InvalidOperationException("IoUring.sln not found above the test's directory");
    }
}
