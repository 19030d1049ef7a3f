using System.Text.Json;

namespace IoUring.Tests.Reliability;

/// <summary>
/// Registering buffers over RLIMIT_MEMLOCK fails with a clear <see cref="IoUringException"/> (ENOMEM, naming the
/// limit and what to do), not a crash. The tests run as root, whose CAP_IPC_LOCK bypasses the limit, so the probe
/// runs in a child process as user nobody with every capability dropped (<c>setpriv</c>) and a 64 KiB memlock limit
/// (<c>prlimit</c>). A second child below the limit registers fine, which shows that the limit is what refused the first.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class MemlockLimitTests
{
    private const int Limit = 64 * 1024;

    [UringFact]
    public void Registering_buffers_over_RLIMIT_MEMLOCK_without_CAP_IPC_LOCK_is_a_clear_ENOMEM_IoUringException()
    {
        (string program, string[] prefix) = Unprivileged();
        string probe = Copy();
        try
        {
            Check(program, prefix, probe);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(probe)!, recursive: true);
        }
    }

    private static void Check(string program, string[] prefix, string probe)
    {
        ProcessResult over = ChildProcess.Run(program, [.. prefix, ChildProcess.DotnetHost(), probe, "register-buffers", "--bytes", "1048576"], TimeSpan.FromMinutes(2));
        JsonElement o = Parse(over);
        Assert.Equal(0, Convert.ToInt64(o.GetProperty("capEff").GetString(), 16));
        Assert.Equal(Limit.ToString(System.Globalization.CultureInfo.InvariantCulture), o.GetProperty("memlock").GetString());
        Assert.False(o.GetProperty("registered").GetBoolean(), over.ToString());
        Assert.Equal(nameof(IoUringException), o.GetProperty("exception").GetString());
        Assert.Equal(E.ENOMEM, o.GetProperty("errno").GetInt32());
        string message = o.GetProperty("message").GetString()!;
        Assert.Contains("ENOMEM", message, StringComparison.Ordinal);
        Assert.Contains("RLIMIT_MEMLOCK", message, StringComparison.Ordinal);
        Assert.Contains("ulimit -l", message, StringComparison.Ordinal);
        Assert.Equal(3, over.ExitCode);

        ProcessResult under = ChildProcess.Run(program, [.. prefix, ChildProcess.DotnetHost(), probe, "register-buffers", "--bytes", "16384"], TimeSpan.FromMinutes(2));
        Assert.True(Parse(under).GetProperty("registered").GetBoolean(), under.ToString());
        Assert.Equal(0, under.ExitCode);
    }

    /// <summary>prlimit (and, as root, setpriv to user nobody without capabilities) as a command prefix.</summary>
    private static (string Program, string[] Prefix) Unprivileged()
    {
        string? prlimit = ChildProcess.Which("prlimit");
        string? setpriv = ChildProcess.Which("setpriv");
        bool root = Environment.UserName == "root" || File.ReadAllText("/proc/self/status").Contains("\nUid:\t0\t", StringComparison.Ordinal);
        string? missing = prlimit is null ? "prlimit (util-linux)" : root && setpriv is null ? "setpriv (util-linux)" : null;
        if (missing is null && root && !OthersCanExecute(ChildProcess.DotnetHost()))
        {
            missing = $"a dotnet host that user nobody can run ({ChildProcess.DotnetHost()} is not)";
        }

        if (missing is not null)
        {
            string why = $"The memlock probe needs {missing} to run without CAP_IPC_LOCK under a memlock limit";
            if (Kernel.IsCi)
            {
                Assert.Fail(why);
            }

            Assert.Skip(why);
        }

        string[] limit = [$"--memlock={Limit}:{Limit}", "--"];
        return root
            ? (prlimit!, [.. limit, setpriv!, "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--"])
            : (prlimit!, limit);
    }

    private static bool OthersCanExecute(string path)
    {
        if (!Path.IsPathRooted(path) || !File.Exists(path))
        {
            return false;
        }

        for (string? p = path; !string.IsNullOrEmpty(p) && p != "/"; p = Path.GetDirectoryName(p))
        {
            if ((File.GetUnixFileMode(p) & UnixFileMode.OtherExecute) == 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Copies the probe into a world-readable temporary folder, so that user nobody can load it wherever the repository lives.</summary>
    private static string Copy()
    {
        string source = Path.GetDirectoryName(StressProcess.Dll)!;
        string target = Path.Combine(Path.GetTempPath(), $"iouring-memlock-{Guid.NewGuid():N}");
        Directory.CreateDirectory(target);
        File.SetUnixFileMode(target, (UnixFileMode)0x1ED); // 0755
        foreach (string file in Directory.GetFiles(source))
        {
            string to = Path.Combine(target, Path.GetFileName(file));
            File.Copy(file, to);
            File.SetUnixFileMode(to, (UnixFileMode)0x1A4); // 0644
        }

        return Path.Combine(target, Path.GetFileName(StressProcess.Dll));
    }

    private static JsonElement Parse(ProcessResult r)
    {
        string? line = r.StdOut.Split('\n').LastOrDefault(l => l.TrimStart().StartsWith('{'));
        Assert.True(line is not null, $"the probe printed no JSON: {r}");
        return JsonDocument.Parse(line).RootElement.Clone();
    }
}
