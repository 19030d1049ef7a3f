using System.Collections.Concurrent;

namespace IoUring.Tests;

/// <summary>
/// Builds the C helpers in <c>native/</c> with gcc (once per test run, into a temporary directory) and runs child
/// processes. Where gcc or the kernel headers are missing, tests skip with the reason, except under CI (CI=true),
/// where <c>native/install-deps.sh</c> must have installed them, so a skip would hide a broken setup and fails instead.
/// </summary>
internal static class NativeTools
{
    private static readonly ConcurrentDictionary<string, Lazy<(string? Path, string? Missing)>> s_built = new(StringComparer.Ordinal);
    private static readonly Lazy<string> s_buildDir = new(CreateBuildDir);

    /// <summary>The repository root: the nearest parent directory of the test binaries holding <c>IoUring.sln</c>.</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>Compiles <c>native/{name}.c</c> and returns the executable's path; skips (fails under CI) without gcc.</summary>
    public static string Build(string name)
    {
        (string? path, string? missing) = s_built.GetOrAdd(name, n => new Lazy<(string?, string?)>(() => Compile(n))).Value;
        if (path is not null)
        {
            return path;
        }

        string why = $"Cannot build native/{name}.c: {missing}. Run native/install-deps.sh to install gcc and the kernel headers.";
        if (Kernel.IsCi)
        {
            Assert.Fail("CI must build the native helpers, but: " + why);
        }

        Assert.Skip(why);
        return null!;
    }

    private static (string? Path, string? Missing) Compile(string name)
    {
        string source = Path.Combine(RepoRoot, "native", name + ".c");
        if (!File.Exists(source))
        {
            throw new FileNotFoundException($"native/{name}.c is missing from the repository.", source);
        }

        string? gcc = ChildProcess.Which("gcc");
        if (gcc is null)
        {
            return (null, "gcc is not on PATH");
        }

        string output = Path.Combine(s_buildDir.Value, name);
        ProcessResult r = ChildProcess.Run(gcc, ["-O1", "-Wall", "-Wextra", "-Werror", "-o", output, source]);
        if (r.ExitCode == 0)
        {
            return (output, null);
        }

        // A missing header is a missing dependency; anything else is a bug in the C source and must fail.
        if (r.StdErr.Contains("No such file or directory", StringComparison.Ordinal) && r.StdErr.Contains("#include", StringComparison.Ordinal))
        {
            return (null, "a header is missing: " + r.StdErr.Trim());
        }

        throw new InvalidOperationException($"gcc failed to compile native/{name}.c (exit {r.ExitCode}):\n{r.StdErr}");
    }

    private static string CreateBuildDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"iouring-native-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        };
        return dir;
    }

    private static string FindRepoRoot()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "IoUring.sln")))
            {
                return d.FullName;
            }
        }

        throw new InvalidOperationException($"No IoUring.sln above {AppContext.BaseDirectory}: the tests must run from the repository's build output.");
    }
}
