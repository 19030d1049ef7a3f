using System.Diagnostics;
using System.Text;

namespace IoUring.DocSnippets;

/// <summary>The outcome of a child process.</summary>
/// <param name="ExitCode">Its exit code, or -1 when it was killed at the time limit.</param>
/// <param name="Output">Standard output and error, interleaved as they arrived.</param>
/// <param name="Elapsed">How long it ran.</param>
/// <param name="TimedOut">True when it was killed at the time limit.</param>
internal sealed record ToolResult(int ExitCode, string Output, TimeSpan Elapsed, bool TimedOut);

/// <summary>Runs child processes with a time limit, killing the whole tree when it passes.</summary>
internal static class Tool
{
    /// <summary>
    /// How to start <paramref name="file"/> as a quiet child: output and error redirected, no shell, the .NET CLI's
    /// telemetry, logo and first-run text off, and <paramref name="environment"/> added. (The tests' child processes
    /// start the same way.)
    /// </summary>
    /// <param name="file">The program.</param>
    /// <param name="args">Its arguments.</param>
    /// <param name="environment">Extra environment variables.</param>
    /// <returns>The start info.</returns>
    public static ProcessStartInfo StartInfo(string file, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        foreach ((string name, string value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        return info;
    }

    /// <summary>Runs <paramref name="file"/> and waits for it.</summary>
    /// <param name="file">The program.</param>
    /// <param name="args">Its arguments.</param>
    /// <param name="workingDirectory">Where it runs.</param>
    /// <param name="limit">How long it may run.</param>
    /// <param name="environment">Extra environment variables.</param>
    /// <param name="check">Throw when it fails or times out.</param>
    /// <returns>What happened.</returns>
    public static ToolResult Run(string file, IEnumerable<string> args, string workingDirectory, TimeSpan limit, IReadOnlyDictionary<string, string>? environment = null, bool check = true)
    {
        ProcessStartInfo info = StartInfo(file, args, environment);
        info.WorkingDirectory = workingDirectory;

        var output = new StringBuilder();
        var sw = Stopwatch.StartNew();
        using var p = new Process { StartInfo = info };
        p.OutputDataReceived += (_, e) => Append(output, e.Data);
        p.ErrorDataReceived += (_, e) => Append(output, e.Data);
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        bool exited = p.WaitForExit(limit);
        if (!exited)
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
        }
        else
        {
            p.WaitForExit(); // drains the output readers
        }

        string text;
        lock (output)
        {
            text = output.ToString();
        }

        var result = new ToolResult(exited ? p.ExitCode : -1, text, sw.Elapsed, !exited);
        if (check && (result.TimedOut || result.ExitCode != 0))
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} {(result.TimedOut ? "timed out" : $"exited with {result.ExitCode}")}:\n{text}");
        }

        return result;
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.Append(line).Append('\n');
        }
    }
}
