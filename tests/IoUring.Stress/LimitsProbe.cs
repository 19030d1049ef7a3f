using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Runtime.InteropServices;

namespace IoUring.Stress;

/// <summary>
/// Child-process probes for the limits tests (tests/IoUring.Tests/Limits), run in their own process because they
/// exhaust or raise process-wide limits. Each prints one line of JSON and exits 0 when every check held, 1 otherwise.
/// <code>
///   IoUring.Stress accept-emfile [--pending 4] [--watch-ms 2000]
///   IoUring.Stress connections --count 10000 [--rounds 2] [--engines 2]
/// </code>
/// </summary>
public static class LimitsProbe
{
    /// <summary>
    /// Accepting at <c>RLIMIT_NOFILE</c> exhaustion: a listener on io_uring, an application accept loop that retries
    /// after errors (as a server must), a few echoing connections; then every free descriptor is taken and new
    /// clients connect. Checks: the accept loop sees <c>TooManyOpenSockets</c> but does not spin (few errors, little
    /// CPU while <c>--watch-ms</c> pass), the existing connections keep echoing, and once descriptors are freed the
    /// waiting clients are accepted and echo within a second.
    /// </summary>
    public static int AcceptEmfile(Options options)
    {
        int pending = (int)options.Long("pending", 4);
        int watchMs = (int)options.Long("watch-ms", 2000);
        var failures = new List<string>();
        var json = new StringBuilder("{");
        using var engine = new IoUringEngine();
        using var stop = new CancellationTokenSource();
        using UringSocket listener = UringSocket.Listen(engine, new IPEndPoint(IPAddress.Loopback, 0));
        int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        long acceptErrors = 0;
        long accepted = 0;
        var acceptedAt = new System.Collections.Concurrent.ConcurrentQueue<long>();
        var connections = new List<Task>();
        Task acceptLoop = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    UringSocket s = await listener.AcceptAsync(stop.Token).ConfigureAwait(false);
                    Interlocked.Increment(ref accepted);
                    acceptedAt.Enqueue(Stopwatch.GetTimestamp());
                    lock (connections)
                    {
                        connections.Add(EchoAsync(s.CreateConnection()));
                    }
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.TooManyOpenSockets)
                {
                    // What a server does: note it and accept again. The listener must not let this spin.
                    Interlocked.Increment(ref acceptErrors);
                }
            }
        });

        // Connections made before the exhaustion, and clients created (descriptors taken) but not yet connected.
        var early = new List<Socket>();
        for (int i = 0; i < 4; i++)
        {
            var c = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            c.Connect(IPAddress.Loopback, port);
            early.Add(c);
        }

        Check(failures, WaitFor(() => Interlocked.Read(ref accepted) == early.Count, 10_000), "the early connections were not accepted");
        Check(failures, early.All(c => Echo(c, 100)), "an early connection did not echo before the exhaustion");
        var late = new List<Socket>();
        for (int i = 0; i < pending; i++)
        {
            late.Add(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        }

        // Warm up what runs while no descriptor is free, then take every free descriptor up to the soft RLIMIT_NOFILE
        // (lowering the limit instead would not do: io_uring's accept uses the limit of the moment it was submitted,
        // so an armed multishot accept would go on accepting above a lowered limit). The .NET runtime cannot start
        // a thread without a descriptor (it reads /proc/self/status and aborts with "Out of memory" when it cannot),
        // so the thread pool is grown beforehand and no assembly is loaded in the window.
        ThreadPool.GetMinThreads(out int minWorkers, out int minIo);
        ThreadPool.SetMinThreads(Math.Max(minWorkers, 32), Math.Max(minIo, 32));
        Task.WaitAll([.. Enumerable.Range(0, 32).Select(_ => Task.Run(() => Thread.Sleep(200)))]);
        _ = Environment.CpuUsage;
        _ = Echo(early[0], 1);
        using var reader = new StreamReader("/dev/null");
        int fdsBefore = ProcessStats.OpenFds();
        Native.RLimit limit = default;
        Check(failures, Native.getrlimit(Native.RLIMIT_NOFILE, ref limit) == 0, "getrlimit failed");
        var hog = new List<int>();
        for (int fd; (fd = Native.dup(0)) >= 0;)
        {
            hog.Add(fd);
        }

        json.Append(CultureInfo.InvariantCulture, $"\"fdsBefore\":{fdsBefore},\"limit\":{limit.Current},\"hogged\":{hog.Count}");

        // New clients connect (the handshake completes in the kernel; they wait in the backlog).
        foreach (Socket c in late)
        {
            c.Connect(IPAddress.Loopback, port);
        }

        TimeSpan cpu0 = Environment.CpuUsage.TotalTime;
        long errors0 = Interlocked.Read(ref acceptErrors);
        var watch = Stopwatch.StartNew();
        bool echoedDuring = true;
        while (watch.ElapsedMilliseconds < watchMs)
        {
            echoedDuring &= early.All(c => Echo(c, 37));
            Thread.Sleep(100);
        }

        double cpuShare = (Environment.CpuUsage.TotalTime - cpu0).TotalMilliseconds / watch.Elapsed.TotalMilliseconds;
        long errorsDuring = Interlocked.Read(ref acceptErrors) - errors0;
        long acceptedDuring = Interlocked.Read(ref accepted) - early.Count;
        json.Append(CultureInfo.InvariantCulture, $",\"watchMs\":{watch.ElapsedMilliseconds},\"acceptErrors\":{errorsDuring},\"acceptedWhileExhausted\":{acceptedDuring},\"cpuShare\":{cpuShare:F3},\"echoedWhileExhausted\":{(echoedDuring ? "true" : "false")}");
        Check(failures, errorsDuring >= 1, "the accept loop saw no TooManyOpenSockets while descriptors were exhausted");
        Check(failures, errorsDuring <= watchMs / 10, $"the accept loop spun: {errorsDuring} errors in {watchMs} ms");
        Check(failures, cpuShare < 0.5, $"the process used {cpuShare:P0} of a core while waiting");
        Check(failures, echoedDuring, "an existing connection stopped echoing while descriptors were exhausted");

        // Free the descriptors: the waiting clients are accepted within a second.
        long freedAt = Stopwatch.GetTimestamp();
        foreach (int fd in hog)
        {
            _ = Native.close(fd);
        }

        hog.Clear();
        bool resumed = WaitFor(() => Interlocked.Read(ref accepted) >= early.Count + late.Count, 10_000);
        double resumeMs = acceptedAt.Skip(early.Count).Select(t => Stopwatch.GetElapsedTime(freedAt, t).TotalMilliseconds).DefaultIfEmpty(double.NaN).Max();
        json.Append(CultureInfo.InvariantCulture, $",\"resumed\":{(resumed ? "true" : "false")},\"resumeMs\":{resumeMs:F0}");
        Check(failures, resumed, "the waiting clients were not all accepted after descriptors were freed");
        Check(failures, resumeMs < 1000, $"accepting resumed {resumeMs:F0} ms after descriptors were freed (limit 1000)");
        Check(failures, late.All(c => Echo(c, 55)), "a client accepted after the exhaustion did not echo");

        stop.Cancel();
        foreach (Socket c in early.Concat(late))
        {
            c.Dispose();
        }

        try
        {
            acceptLoop.Wait(10_000);
            Task[] all;
            lock (connections)
            {
                all = [.. connections];
            }

            Task.WaitAll(all, 10_000);
        }
        catch (AggregateException e)
        {
            failures.Add("a connection task failed: " + e.InnerException?.Message);
        }

        return Finish(json, failures);
    }

    /// <summary>
    /// <c>--count</c> concurrent loopback connections, all open at once, each echoing <c>--rounds</c> messages of
    /// its own content through io_uring sockets (<see cref="UringConnection"/> pipes on an engine group); the
    /// clients are .NET sockets. Checks every byte, that the connections were all open together, and that the
    /// descriptors return to their count before.
    /// </summary>
    public static int Connections(Options options)
    {
        int count = (int)options.Long("count", 10_000);
        int rounds = (int)options.Long("rounds", 2);
        int engines = (int)options.Long("engines", 2);

        // A small run first, so that what the runtime opens lazily (assemblies, its epoll, the child's pipes) is
        // open before the descriptors are counted.
        var warmupFailures = new List<string>();
        RunConnections(16, 1, engines, warmupFailures, new StringBuilder("{"));
        var failures = new List<string>(warmupFailures.Where(f => !f.StartsWith("descriptors", StringComparison.Ordinal)).Select(f => "warm-up: " + f));
        var json = new StringBuilder("{");
        RunConnections(count, rounds, engines, failures, json);
        return Finish(json, failures);
    }

    private static void RunConnections(int count, int rounds, int engines, List<string> failures, StringBuilder json)
    {
        int fdsBefore = ProcessStats.OpenFds();
        SortedDictionary<int, string> targetsBefore = ProcessStats.FdTargets();
        var sw = Stopwatch.StartNew();
        long bytesVerified = 0;
        int peakFds;
        using (var group = new IoUringEngineGroup(engines))
        using (var stop = new CancellationTokenSource())
        {
            UringSocket listener = UringSocket.Listen(group.Engines[0], new IPEndPoint(IPAddress.Loopback, 0), new UringSocketOptions { ListenBacklog = 4096 });
            int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
            var served = new List<Task>();
            long open = 0;
            long peakOpen = 0;
            Task acceptLoop = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    UringSocket s;
                    try
                    {
                        s = await listener.AcceptAsync(group.Next(), stop.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }

                    long now = Interlocked.Increment(ref open);
                    InterlockedMax(ref peakOpen, now);
                    Task t = ServeAsync(s.CreateConnection(), () => Interlocked.Decrement(ref open));
                    lock (served)
                    {
                        served.Add(t);
                    }
                }
            });

            // The clients run in a child process (one process cannot hold both ends of 10,000 connections under a
            // hard limit of 20,000 descriptors, and an unprivileged process cannot raise it). It connects them all,
            // waits until this side says all are open, then echoes on all of them at once.
            var psi = new ProcessStartInfo(Environment.ProcessPath ?? "dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (string arg in (string[])[typeof(LimitsProbe).Assembly.Location, "connections-client", "--port", port.ToString(CultureInfo.InvariantCulture), "--count", count.ToString(CultureInfo.InvariantCulture), "--rounds", rounds.ToString(CultureInfo.InvariantCulture)])
            {
                psi.ArgumentList.Add(arg);
            }

            using Process client = Process.Start(psi) ?? throw new InvalidOperationException("could not start the client process");
            string? connected = client.StandardOutput.ReadLine();
            double connectSeconds = sw.Elapsed.TotalSeconds;
            Check(failures, connected == "connected", $"the client process said '{connected}' instead of 'connected'");
            Check(failures, WaitFor(() => Interlocked.Read(ref open) == count, 60_000), $"only {Interlocked.Read(ref open)} of {count} connections were accepted");
            peakFds = ProcessStats.OpenFds();
            client.StandardInput.WriteLine("echo");
            client.StandardInput.Flush();
            string? verified = client.StandardOutput.ReadLine();
            Check(failures, client.WaitForExit(300_000), "the client process did not finish within 5 minutes");
            bytesVerified = long.TryParse(verified, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) ? v : -1;
            long expectedBytes = ExpectedBytes(count, rounds);
            Check(failures, bytesVerified == expectedBytes, $"{bytesVerified} of {expectedBytes} bytes came back intact (client said '{verified}')");
            json.Append(CultureInfo.InvariantCulture, $"\"connections\":{count},\"peakOpen\":{Interlocked.Read(ref peakOpen)},\"connectSeconds\":{connectSeconds:F1}");
            Check(failures, WaitFor(() => Interlocked.Read(ref open) == 0, 60_000), $"{Interlocked.Read(ref open)} server connections did not close after their clients did");
            stop.Cancel();
            acceptLoop.Wait(10_000);
            listener.Dispose();
            Task[] all;
            lock (served)
            {
                all = [.. served];
            }

            Task.WaitAll(all, 60_000);
            Check(failures, Interlocked.Read(ref peakOpen) == count, $"the server had {Interlocked.Read(ref peakOpen)} connections open at once, not {count}");
        }

        int fdsAfter = ProcessStats.OpenFds();
        json.Append(CultureInfo.InvariantCulture, $",\"rounds\":{rounds},\"bytesVerified\":{bytesVerified},\"seconds\":{sw.Elapsed.TotalSeconds:F1},\"fdsBefore\":{fdsBefore},\"peakFds\":{peakFds},\"fdsAfter\":{fdsAfter}");
        Check(failures, peakFds >= fdsBefore + count, $"peak descriptors {peakFds}: the connections were not all open at once");
        Check(failures, fdsAfter <= fdsBefore + 4, $"descriptors leaked: {fdsBefore} before, {fdsAfter} after: " + string.Join(", ", ProcessStats.FdTargets().Where(kv => !targetsBefore.ContainsKey(kv.Key)).Select(kv => $"{kv.Key} {kv.Value}")));
    }

    /// <summary>
    /// The client side of <see cref="Connections"/>: connects <c>--count</c> .NET sockets to <c>--port</c> (at most
    /// 512 handshakes at a time), prints <c>connected</c>, waits for a line on standard input, echoes <c>--rounds</c>
    /// messages on all connections at once, prints the bytes verified, closes them all.
    /// </summary>
    public static int ConnectionsClient(Options options)
    {
        int port = (int)options.Long("port", 0);
        int count = (int)options.Long("count", 10_000);
        int rounds = (int)options.Long("rounds", 2);
        var clients = new Socket[count];
        using (var gate = new SemaphoreSlim(512))
        {
            Task[] connects = [.. Enumerable.Range(0, count).Select(async i =>
            {
                await gate.WaitAsync().ConfigureAwait(false);
                try
                {
                    var c = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                    await c.ConnectAsync(IPAddress.Loopback, port).ConfigureAwait(false);
                    clients[i] = c;
                }
                finally
                {
                    gate.Release();
                }
            })];
            Task.WaitAll(connects);
        }

        Console.WriteLine("connected");
        Console.Out.Flush();
        _ = Console.ReadLine();
        Task<long>[] echoes = [.. clients.Select((c, i) => EchoRoundsAsync(c, i, rounds))];
        Task.WaitAll(echoes);
        Console.WriteLine(echoes.Sum(t => t.Result).ToString(CultureInfo.InvariantCulture));
        Console.Out.Flush();
        foreach (Socket c in clients)
        {
            c.Dispose();
        }

        return 0;
    }

    private static long ExpectedBytes(int count, int rounds)
    {
        long expected = 0;
        for (int i = 0; i < count; i++)
        {
            for (int r = 0; r < rounds; r++)
            {
                expected += 2L * MessageLength(i, r);
            }
        }

        return expected;
    }

    /// <summary>A message length that differs per connection and round (but sums to the same total for the check).</summary>
    private static int MessageLength(int connection, int round) => 64 + ((connection + round) % 4 * 64);

    private static async Task<long> EchoRoundsAsync(Socket c, int index, int rounds)
    {
        long verified = 0;
        byte[] back = new byte[1024];
        for (int r = 0; r < rounds; r++)
        {
            byte[] message = Encoding.ASCII.GetBytes($"{index:D6}/{r:D3}:".PadRight(MessageLength(index, r), (char)('a' + ((index + r) % 26))));
            await c.SendAsync(message, SocketFlags.None).ConfigureAwait(false);
            int got = 0;
            while (got < message.Length)
            {
                int n = await c.ReceiveAsync(back.AsMemory(got, message.Length - got), SocketFlags.None).ConfigureAwait(false);
                if (n == 0)
                {
                    return verified;
                }

                got += n;
            }

            if (back.AsSpan(0, got).SequenceEqual(message))
            {
                verified += 2L * got;
            }
        }

        return verified;
    }

    private static async Task ServeAsync(UringConnection connection, Action closed)
    {
        try
        {
            await EchoAsync(connection).ConfigureAwait(false);
        }
        finally
        {
            closed();
        }
    }

    /// <summary>Echoes everything received until the peer closes.</summary>
    private static async Task EchoAsync(UringConnection connection)
    {
        await using (connection.ConfigureAwait(false))
        {
            PipeReader input = connection.Input;
            PipeWriter output = connection.Output;
            try
            {
                while (true)
                {
                    ReadResult result = await input.ReadAsync().ConfigureAwait(false);
                    foreach (ReadOnlyMemory<byte> segment in result.Buffer)
                    {
                        output.Write(segment.Span);
                    }

                    input.AdvanceTo(result.Buffer.End);
                    FlushResult flushed = await output.FlushAsync().ConfigureAwait(false);
                    if (result.IsCompleted || flushed.IsCompleted)
                    {
                        break;
                    }
                }
            }
            catch (IOException)
            {
                // Reset by the peer.
            }

            await input.CompleteAsync().ConfigureAwait(false);
            await output.CompleteAsync().ConfigureAwait(false);
        }
    }

    private static bool Echo(Socket c, int length)
    {
        byte[] message = new byte[length];
        Random.Shared.NextBytes(message);
        c.Send(message);
        byte[] back = new byte[length];
        int got = 0;
        c.ReceiveTimeout = 10_000;
        try
        {
            while (got < length)
            {
                int n = c.Receive(back, got, length - got, SocketFlags.None);
                if (n == 0)
                {
                    return false;
                }

                got += n;
            }
        }
        catch (SocketException e)
        {
            Console.Error.WriteLine($"echo of {length} bytes: {e.SocketErrorCode} after {got} bytes");
            return false;
        }

        return back.AsSpan().SequenceEqual(message);
    }

    private static bool WaitFor(Func<bool> condition, int milliseconds)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.ElapsedMilliseconds > milliseconds)
            {
                return false;
            }

            Thread.Sleep(5);
        }

        return true;
    }

    private static void InterlockedMax(ref long target, long value)
    {
        long seen;
        while (value > (seen = Interlocked.Read(ref target)) && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }

    private static void Check(List<string> failures, bool ok, string what)
    {
        if (!ok)
        {
            failures.Add(what);
        }
    }

    private static int Finish(StringBuilder json, List<string> failures)
    {
        json.Append(",\"failures\":[");
        json.AppendJoin(',', failures.Select(f => "\"" + f.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\""));
        json.Append("]}");
        Console.WriteLine(json.ToString());
        return failures.Count == 0 ? 0 : 1;
    }

    /// <summary>The few libc calls the descriptor exhaustion needs.</summary>
    private static class Native
    {
        public const int RLIMIT_NOFILE = 7;

        [DllImport("libc", SetLastError = true)]
        public static extern int dup(int fd);

        [DllImport("libc", SetLastError = true)]
        public static extern int close(int fd);

        [DllImport("libc", SetLastError = true)]
        public static extern int getrlimit(int resource, ref RLimit limit);

        /// <summary><c>struct rlimit</c>.</summary>
        [StructLayout(LayoutKind.Sequential)]
        public struct RLimit
        {
            /// <summary>The soft limit.</summary>
            public ulong Current;

            /// <summary>The hard limit.</summary>
            public ulong Max;
        }
    }
}
