using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace IoUring.Benchmarks.Compare;

/// <summary>
/// What the runner gathers about a sample server when a wrk run went wrong (no request completed): whether the server
/// answers one request now and how fast, its listen queue, its threads' states, and its <c>IoUring</c> meter (engines,
/// operations in flight, hand-offs, connections). Printed with the failure, so an intermittent stall leaves evidence.
/// </summary>
internal static class ServerDiagnosis
{
    /// <summary>Gathers the report (best effort: each part says why it is missing).</summary>
    public static string Gather(ServerProcess server)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"  listen queue: {Listen(server.Port)}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"  one request now: {Probe(server.Port)}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"  threads: {ThreadStates(server.Pid)}");
        string meter;
        try
        {
            meter = server.Diagnostics();
        }
        catch (Exception e) when (e is TimeoutException or IOException or InvalidOperationException)
        {
            meter = $"no answer ({e.Message})";
        }

        sb.Append(CultureInfo.InvariantCulture, $"  meter: {meter}");
        return sb.ToString();
    }

    /// <summary>The listening socket's line from <c>ss</c> (Recv-Q: connections waiting in the accept queue) and the established count.</summary>
    private static string Listen(int port)
    {
        if (Exec.Which("ss") is not string ss)
        {
            return "ss not installed";
        }

        try
        {
            string filter = string.Create(CultureInfo.InvariantCulture, $"sport = :{port}");
            (_, string listen, _) = Exec.Run(ss, ["-ltnH", filter], TimeSpan.FromSeconds(10));
            (_, string established, _) = Exec.Run(ss, ["-tnH", "state", "established", filter], TimeSpan.FromSeconds(10));
            int count = established.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
            return $"{listen.Trim().ReplaceLineEndings(" ")}; established {count}";
        }
        catch (Exception e) when (e is TimeoutException or System.ComponentModel.Win32Exception)
        {
            return e.Message;
        }
    }

    /// <summary>Connects, sends one GET /plaintext and waits up to 5 s for the response's first bytes.</summary>
    private static string Probe(int port)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            using var client = new TcpClient();
            if (!client.ConnectAsync("127.0.0.1", port).Wait(TimeSpan.FromSeconds(5)))
            {
                return "connect not done after 5 s";
            }

            double connected = clock.Elapsed.TotalMilliseconds;
            NetworkStream stream = client.GetStream();
            stream.Write("GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"u8);
            var buffer = new byte[512];
            Task<int> read = stream.ReadAsync(buffer).AsTask();
            if (!read.Wait(TimeSpan.FromSeconds(5)))
            {
                return string.Create(CultureInfo.InvariantCulture, $"connected in {connected:F1} ms, no response after 5 s");
            }

            string first = Encoding.ASCII.GetString(buffer, 0, read.Result).Split("\r\n")[0];
            return string.Create(CultureInfo.InvariantCulture, $"connected in {connected:F1} ms, '{first}' after {clock.Elapsed.TotalMilliseconds:F1} ms");
        }
        catch (Exception e) when (e is SocketException or IOException or AggregateException)
        {
            return $"failed: {e.GetBaseException().Message}";
        }
    }

    /// <summary>Each thread's name, state (R running, S sleeping, D uninterruptible) and CPU ticks, from /proc.</summary>
    private static string ThreadStates(int pid)
    {
        try
        {
            var parts = new List<string>();
            foreach (string task in Directory.GetDirectories($"/proc/{pid}/task"))
            {
                ProcStat stat = ProcStat.Read(Path.Combine(task, "stat"));
                parts.Add(string.Create(CultureInfo.InvariantCulture, $"{stat.Name}:{stat.State}:{stat.User + stat.System}"));
            }

            return string.Join(' ', parts);
        }
        catch (IOException e)
        {
            return e.Message;
        }
    }
}
