using System.Globalization;
using System.Net;
using System.Text.Json;
using IoUring.Interop;

namespace IoUring.Tests.Limits;

/// <summary>
/// Process-wide limits and boundaries: accepting when RLIMIT_NOFILE is exhausted, 10,000 concurrent connections,
/// and what a child process inherits. The first two run as child processes of tests/IoUring.Stress (they exhaust or
/// fill the descriptor table, which would disturb the tests running alongside); each prints its measurements as JSON.
/// </summary>
public sealed class LimitsTests
{
    [UringFact]
    public void Accepting_at_RLIMIT_NOFILE_exhaustion_keeps_connections_working_does_not_spin_and_resumes_within_a_second()
    {
        (ProcessResult r, JsonElement o) = RunProbe(["accept-emfile", "--pending", "4", "--watch-ms", "2000"], TimeSpan.FromMinutes(3));

        // While exhausted: the accept loop got TooManyOpenSockets a few times (backing off up to 250 ms), not thousands.
        Assert.InRange(o.GetProperty("acceptErrors").GetInt64(), 1, 200);
        Assert.Equal(0, o.GetProperty("acceptedWhileExhausted").GetInt64());
        Assert.True(o.GetProperty("echoedWhileExhausted").GetBoolean(), r.ToString());

        // Then the waiting clients were accepted within a second of the descriptors being freed.
        Assert.True(o.GetProperty("resumed").GetBoolean(), r.ToString());
        Assert.InRange(o.GetProperty("resumeMs").GetDouble(), 0, 1000);
    }

    [UringFact]
    public void Ten_thousand_concurrent_loopback_connections_echo_every_byte_and_leak_no_descriptor()
    {
        (_, JsonElement o) = RunProbe(["connections", "--count", "10000", "--rounds", "2"], TimeSpan.FromMinutes(8));
        Assert.Equal(10_000, o.GetProperty("peakOpen").GetInt32());
        Assert.Equal(o.GetProperty("fdsBefore").GetInt32(), o.GetProperty("fdsAfter").GetInt32());
    }

    [UringFact]
    public async Task A_child_started_while_rings_sockets_and_files_are_open_inherits_none_of_them()
    {
        using var temp = new TempFile(4096, seed: 5);
        await using var engine = new IoUringEngine();
        using var ring = new Ring(4);
        int efd = Libc.EventFd(0, Libc.EFD_CLOEXEC);
        Assert.True(efd >= 0);
        try
        {
            ring.RegisterEventFd(efd);
            await using UringSocket listener = UringSocket.Listen(engine, new IPEndPoint(IPAddress.Loopback, 0));
            ValueTask<UringSocket> accepting = listener.AcceptAsync(TestContext.Current.CancellationToken);
            await using UringSocket client = await UringSocket.ConnectAsync(engine, listener.LocalEndPoint!, cancellationToken: TestContext.Current.CancellationToken);
            await using UringSocket server = await accepting;
            await using UringFile opened = await UringFile.OpenAsync(engine, temp.Path, FileMode.Open, FileAccess.Read, cancellationToken: TestContext.Current.CancellationToken);
            await using UringFile wrapped = UringFile.Open(engine, temp.Path, FileMode.Open, FileAccess.Read);

            // What this process holds now: every io_uring, eventfd and socket, and the temp file.
            Dictionary<int, string> mine = FdTargets("/proc/self/fd")
                .Where(kv => kv.Value.StartsWith("anon_inode:[io_uring]", StringComparison.Ordinal) || kv.Value.StartsWith("socket:", StringComparison.Ordinal) || kv.Value == temp.Path || kv.Value.StartsWith("anon_inode:[eventfd]", StringComparison.Ordinal))
                .ToDictionary(kv => kv.Key, kv => kv.Value);
            Assert.Contains(mine.Values, v => v.StartsWith("anon_inode:[io_uring]", StringComparison.Ordinal));
            Assert.Contains(mine.Values, v => v.StartsWith("socket:", StringComparison.Ordinal));
            Assert.Contains(mine.Values, v => v == temp.Path);

            // A child lists its own descriptors: none of ours may be there (O_CLOEXEC everywhere; io_uring fds always are).
            ProcessResult child = ChildProcess.Run("/bin/sh", ["-c", "for f in /proc/$$/fd/*; do echo \"${f##*/} $(readlink \"$f\")\"; done"]);
            Assert.Equal(0, child.ExitCode);
            var inherited = child.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => line.Split(' ', 2))
                .Where(p => p.Length == 2 && int.Parse(p[0], CultureInfo.InvariantCulture) > 2)
                .Where(p => mine.ContainsValue(p[1]) || p[1].StartsWith("anon_inode:[io_uring]", StringComparison.Ordinal))
                .Select(p => $"{p[0]} -> {p[1]}")
                .ToList();
            Assert.True(inherited.Count == 0, "the child inherited: " + string.Join(", ", inherited) + "\n" + child.StdOut);
        }
        finally
        {
            _ = Libc.Close(efd);
        }
    }

    private static Dictionary<int, string> FdTargets(string dir)
    {
        var map = new Dictionary<int, string>();
        foreach (string entry in Directory.GetFileSystemEntries(dir))
        {
            try
            {
                map[int.Parse(Path.GetFileName(entry), CultureInfo.InvariantCulture)] = new FileInfo(entry).LinkTarget ?? "?";
            }
            catch (IOException)
            {
            }
        }

        return map;
    }

    /// <summary>Runs a probe of tests/IoUring.Stress; returns its result and its JSON line (the probe must exit with 0).</summary>
    private static (ProcessResult Result, JsonElement Json) RunProbe(string[] args, TimeSpan timeout)
    {
        ProcessResult r = StressProcess.RunStress(args, timeout);
        JsonElement o = Json(r);
        Assert.True(r.ExitCode == 0, r.ToString());
        return (r, o);
    }

    private static JsonElement Json(ProcessResult r)
    {
        string? line = r.StdOut.Split('\n').LastOrDefault(l => l.StartsWith('{'));
        Assert.True(line is not null, "no JSON line from the probe: " + r);
        return JsonDocument.Parse(line).RootElement;
    }
}
