using System.Diagnostics;
using System.Text.Json;
using IoUring.DocSnippets;

// The docs' snippet check, like Rust's doctests: every C# block of README.md, docs/*.md and the package READMEs is
// pasted into a fresh console app that references the packed packages from a local feed, compiled with warnings as
// errors, and run unless its fence says no_run (a self-contained snippet must exit 0 within the time limit, in a
// folder holding the data.bin the docs name). Failures name the page, block and line.
//
//   dotnet run -c Release --project tests/IoUring.DocSnippets -- [options]
//     --repo DIR        the repository (default: found from the working directory)
//     --page TEXT       only pages whose path contains TEXT (repeatable)
//     --feed DIR --version V   use packages already packed there instead of packing
//     --no-run          compile only
//     --no-build        pack what `dotnet build -c Release` built (CI) instead of building the packages
//     --list            list the snippets and check the pages' structure; build nothing
//     --work DIR        generate the projects there and keep them (default: a temporary folder, deleted)
//     --json FILE       write the results as JSON
//     --timeout SECONDS how long a snippet may run (default 120)
//
// Exit code 0 when every snippet compiled and every runnable one ran; 1 otherwise.
string? repo = null;
string? feed = null;
string? version = null;
string? work = null;
string? json = null;
bool noRun = false;
bool noBuild = false;
bool list = false;
var filters = new List<string>();
TimeSpan timeout = TimeSpan.FromSeconds(120);
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--repo": repo = Next(); break;
        case "--page": filters.Add(Next()); break;
        case "--feed": feed = Next(); break;
        case "--version": version = Next(); break;
        case "--no-run": noRun = true; break;
        case "--no-build": noBuild = true; break;
        case "--list": list = true; break;
        case "--work": work = Next(); break;
        case "--json": json = Next(); break;
        case "--timeout": timeout = TimeSpan.FromSeconds(int.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture)); break;
        default:
            Console.Error.WriteLine($"unknown argument {args[i]}; see the comment at the top of Program.cs");
            return 2;
    }
}

repo ??= FindRepository(Environment.CurrentDirectory);
if ((feed is null) != (version is null))
{
    Console.Error.WriteLine("--feed and --version go together");
    return 2;
}

string[] fixtures = ["data.bin"];
List<string> pages = ["README.md", .. Directory.GetFiles(Path.Combine(repo, "docs"), "*.md").Select(p => Path.GetRelativePath(repo, p)).Order(StringComparer.Ordinal), .. PackageReadmes.Pages];
pages = pages.Where(p => filters.Count == 0 || filters.Any(f => p.Contains(f, StringComparison.Ordinal))).ToList();
var problems = new List<string>();
var pageSnippets = new List<PageSnippets>();
foreach (string page in pages)
{
    string path = Path.Combine(repo, page);
    if (!File.Exists(path))
    {
        problems.Add($"{page}: missing");
        continue;
    }

    PageSnippets ps = MarkdownSnippets.Read(page, File.ReadAllText(path), fixtures);
    pageSnippets.Add(ps);
    problems.AddRange(ps.Problems);
}

if (filters.Count == 0 || filters.Any(f => "README.md".Contains(f, StringComparison.Ordinal) || f.Contains("src", StringComparison.Ordinal)))
{
    problems.AddRange(PackageReadmes.Check(repo));
}

List<Snippet> snippets = pageSnippets.SelectMany(p => p.Snippets).ToList();
if (list)
{
    foreach (PageSnippets ps in pageSnippets)
    {
        if (ps.Usings is not null)
        {
            Console.WriteLine($"usings  {ps.Usings.Name}: {string.Join(' ', ps.Usings.UsingDirectives)}");
        }

        foreach (Snippet s in ps.Snippets)
        {
            Console.WriteLine($"{(s.Mode == SnippetMode.Run ? "run    " : "no_run ")} {s.Name}{(s.Web ? " [web]" : string.Empty)}: {s.Lines.Count} lines");
        }
    }

    Report.Problems(problems);
    Console.WriteLine($"doc snippets: {snippets.Count} found in {pageSnippets.Count} pages, {problems.Count} problems");
    return problems.Count == 0 ? 0 : 1;
}

bool keep = work is not null;
work ??= Path.Combine(Path.GetTempPath(), $"iouring-doc-snippets-{Environment.ProcessId}");
if (Directory.Exists(work))
{
    Directory.Delete(work, recursive: true);
}

var total = Stopwatch.StartNew();
var ws = new SnippetWorkspace(work, repo);
var results = new List<SnippetResult>();
try
{
    if (feed is null)
    {
        Console.WriteLine("== packing IoUring and IoUring.AspNetCore into a local feed");
        version = ws.Pack(noBuild);
        Console.WriteLine($"   packed in {total.Elapsed.TotalSeconds:0} s");
        feed = ws.Feed;
    }

    ws.WriteNuGetConfig(Path.GetFullPath(feed));
    foreach (PageSnippets ps in pageSnippets)
    {
        foreach (Snippet s in ps.Snippets)
        {
            ws.Write(s, ps.Usings, version!);
        }
    }

    ws.WriteSolution(snippets);
    Console.WriteLine($"== compiling {snippets.Count} snippets of {pageSnippets.Count} pages against IoUring {version} (one console app each)");
    var build = Stopwatch.StartNew();
    Dictionary<string, List<string>> errors = ws.BuildAll();
    Console.WriteLine($"   restored and compiled in {build.Elapsed.TotalSeconds:0} s");
    if (errors.TryGetValue(string.Empty, out List<string>? global))
    {
        problems.AddRange(global);
    }

    byte[] data = new byte[1 << 20];
    new Random(1).NextBytes(data);
    foreach (Snippet s in snippets)
    {
        List<string> own = errors.GetValueOrDefault(ws.ProjectFile(s)) ?? [];
        if (own.Count > 0 || !File.Exists(ws.Program(s)))
        {
            results.Add(new SnippetResult(s, Compiled: false, Ran: false, own.Count > 0 ? own : ["no program was built (see the build output)"], null, TimeSpan.Zero));
            continue;
        }

        if (s.Mode != SnippetMode.Run || noRun)
        {
            results.Add(new SnippetResult(s, Compiled: true, Ran: false, [], null, TimeSpan.Zero));
            continue;
        }

        // A fresh folder holding the data the docs name, so a snippet finds data.bin and leaves nothing behind.
        string runDir = Path.Combine(work, "run", s.Id);
        Directory.CreateDirectory(runDir);
        File.WriteAllBytes(Path.Combine(runDir, "data.bin"), data);
        ToolResult run = Tool.Run("dotnet", [ws.Program(s)], runDir, timeout, check: false);
        List<string> failure = run.TimedOut ? [$"still running after {timeout.TotalSeconds:0} s (a snippet that waits for clients needs ```csharp no_run)"]
            : run.ExitCode != 0 ? [$"exited with {run.ExitCode}"] : [];
        results.Add(new SnippetResult(s, Compiled: true, Ran: true, failure, run.Output, run.Elapsed));
    }

    Report.Print(results, problems, total.Elapsed);
    if (json is not null)
    {
        Report.WriteJson(json, results, problems);
    }

    if (results.Count(r => r.Failed) + problems.Count > 0 && !keep)
    {
        Console.WriteLine($"(the generated projects are kept for a look with --work DIR)");
    }

    return results.Any(r => r.Failed) || problems.Count > 0 ? 1 : 0;
}
finally
{
    if (!keep && Directory.Exists(work))
    {
        Directory.Delete(work, recursive: true);
    }
}

static string FindRepository(string from)
{
    for (string? d = from; d is not null; d = Path.GetDirectoryName(d))
    {
        if (File.Exists(Path.Combine(d, "IoUring.sln")))
        {
            return d;
        }
    }

    throw new InvalidOperationException($"no IoUring.sln above {from}: pass --repo");
}

/// <summary>What happened to one snippet.</summary>
/// <param name="Snippet">The snippet.</param>
/// <param name="Compiled">True when it compiled without errors or warnings.</param>
/// <param name="Ran">True when it was run.</param>
/// <param name="Errors">Compiler diagnostics or the run's failure; empty when it passed.</param>
/// <param name="Output">What the run printed, or null.</param>
/// <param name="Elapsed">How long the run took.</param>
internal sealed record SnippetResult(Snippet Snippet, bool Compiled, bool Ran, List<string> Errors, string? Output, TimeSpan Elapsed)
{
    /// <summary>True when the snippet did not compile or its run failed.</summary>
    public bool Failed => Errors.Count > 0;
}

/// <summary>Prints the results so that a failure names its page, block and line, and writes them as JSON.</summary>
internal static class Report
{
    public static void Print(List<SnippetResult> results, List<string> problems, TimeSpan elapsed)
    {
        foreach (SnippetResult r in results)
        {
            string state = r.Failed ? "FAIL" : "ok  ";
            string what = !r.Compiled ? "does not compile" : r.Ran ? $"compiled, ran in {r.Elapsed.TotalSeconds:0.0} s" : "compiled (no_run)";
            Console.WriteLine($"{state} {r.Snippet.Name}: {what}");
        }

        foreach (SnippetResult r in results.Where(r => r.Failed))
        {
            Console.WriteLine();
            Console.WriteLine($"---- FAILED: {r.Snippet.Name}");
            foreach (string e in r.Errors)
            {
                Console.WriteLine("  " + e);
            }

            if (r.Output is { Length: > 0 } output)
            {
                string[] lines = output.TrimEnd().Split('\n');
                Console.WriteLine($"  output ({lines.Length} lines{(lines.Length > 40 ? ", last 40" : string.Empty)}):");
                foreach (string l in lines.TakeLast(40))
                {
                    Console.WriteLine("    " + l);
                }
            }
        }

        Problems(problems);
        int failed = results.Count(r => r.Failed);
        int ran = results.Count(r => r.Ran && !r.Failed);
        int compileOnly = results.Count(r => r.Compiled && !r.Ran && !r.Failed);
        Console.WriteLine();
        Console.WriteLine($"doc snippets: {results.Count - failed} passed ({ran} ran, {compileOnly} compiled only), {failed} failed, {problems.Count} page problems, in {elapsed.TotalSeconds:0} s");
    }

    public static void Problems(List<string> problems)
    {
        foreach (string p in problems)
        {
            Console.WriteLine("PROBLEM " + p);
        }
    }

    public static void WriteJson(string path, List<SnippetResult> results, List<string> problems)
    {
        using FileStream f = File.Create(path);
        using var w = new Utf8JsonWriter(f, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteNumber("passed", results.Count(r => !r.Failed));
        w.WriteNumber("failed", results.Count(r => r.Failed) + problems.Count);
        w.WriteStartArray("snippets");
        foreach (SnippetResult r in results)
        {
            w.WriteStartObject();
            w.WriteString("page", r.Snippet.Page);
            w.WriteNumber("block", r.Snippet.Number);
            w.WriteNumber("line", r.Snippet.Line);
            w.WriteString("mode", r.Snippet.Mode == SnippetMode.Run ? "run" : "no_run");
            w.WriteBoolean("compiled", r.Compiled);
            w.WriteBoolean("ran", r.Ran);
            w.WriteBoolean("passed", !r.Failed);
            w.WriteNumber("seconds", Math.Round(r.Elapsed.TotalSeconds, 2));
            w.WriteStartArray("errors");
            foreach (string e in r.Errors)
            {
                w.WriteStringValue(e);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("problems");
        foreach (string p in problems)
        {
            w.WriteStringValue(p);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }
}
