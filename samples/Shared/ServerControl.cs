using System.Globalization;
using System.Runtime.InteropServices;

namespace IoUring.Samples;

/// <summary>
/// The benchmark runner's control channel to a sample server started as a child process (<c>--control stdin</c>):
/// each line <c>stats</c> on standard input is answered on standard output with one line of process-wide counters,
/// and end of input stops the server (so a server never outlives a runner that died).
/// </summary>
internal static class ServerControl
{
    private static long s_requests;

    /// <summary>Requests answered so far (the handler adds to it once per batch of pipelined requests).</summary>
    public static long Requests => Volatile.Read(ref s_requests);

    public static void AddRequests(int count) => Interlocked.Add(ref s_requests, count);

    /// <summary>
    /// Prints <c>listening on ...</c>, then, when <paramref name="useStdin"/>, serves <c>stats</c> lines until end of
    /// input and cancels <paramref name="stop"/>; otherwise waits for Ctrl+C or SIGTERM.
    /// </summary>
    public static async Task RunAsync(string listening, bool useStdin, CancellationTokenSource stop)
    {
        Console.Out.WriteLine(listening);
        Console.Out.Flush();
        if (!useStdin)
        {
            using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
            Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token);
            }
            catch (OperationCanceledException)
            {
            }

            return;
        }

        // A dedicated thread: a blocking read of stdin must not hold a thread-pool thread the server needs.
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reader = new Thread(() =>
        {
            string? line;
            while ((line = Console.In.ReadLine()) is not null)
            {
                if (line.Trim() == "stats")
                {
                    Console.Out.WriteLine(Stats());
                    Console.Out.Flush();
                }
                else if (line.Trim() == "diag")
                {
                    Console.Out.WriteLine(Diagnostics());
                    Console.Out.Flush();
                }
            }

            stop.Cancel();
            done.TrySetResult();
        })
        { IsBackground = true, Name = "control" };
        reader.Start();
        await done.Task;
    }

    /// <summary>
    /// <c>stats requests=N allocated=B cpu_us=U vcsw=V ivcsw=I</c>: requests answered, managed bytes allocated by
    /// every thread, and getrusage(RUSAGE_SELF) CPU time and context switches (all threads, live or exited).
    /// </summary>
    public static string Stats()
    {
        long requests = Requests;
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        _ = getrusage(0, out RUsage u);
        long cpu = ((u.UserSec + u.SysSec) * 1_000_000) + u.UserUsec + u.SysUsec;
        return string.Create(CultureInfo.InvariantCulture,
            $"stats requests={requests} allocated={allocated} cpu_us={cpu} vcsw={u.Nvcsw} ivcsw={u.Nivcsw}");
    }

    /// <summary>
    /// <c>diag name{tags}=value ...</c>: every observable instrument of the <c>IoUring</c> meter read now (operations
    /// in flight, hand-offs, connections accepted and active, per engine), for the runner to print when a run goes wrong.
    /// </summary>
    public static string Diagnostics()
    {
        var values = new List<string>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = static (instrument, l) =>
        {
            if (instrument.Meter.Name == "IoUring")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        void Record<T>(System.Diagnostics.Metrics.Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var sb = new System.Text.StringBuilder(instrument.Name);
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                sb.Append(CultureInfo.InvariantCulture, $"{(sb.Length == instrument.Name.Length ? "{" : ",")}{tag.Key}={tag.Value}");
            }

            sb.Append(sb.Length == instrument.Name.Length ? "=" : "}=").Append(CultureInfo.InvariantCulture, $"{value}");
            lock (values)
            {
                values.Add(sb.ToString());
            }
        }

        listener.SetMeasurementEventCallback<long>((i, v, t, _) => Record(i, v, t));
        listener.SetMeasurementEventCallback<int>((i, v, t, _) => Record(i, v, t));
        listener.SetMeasurementEventCallback<double>((i, v, t, _) => Record(i, v, t));
        listener.Start();
        listener.RecordObservableInstruments();
        return "diag " + string.Join(' ', values);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct RUsage
    {
        public long UserSec;
        public long UserUsec;
        public long SysSec;
        public long SysUsec;
        public long MaxRss;
        public long IxRss;
        public long IdRss;
        public long IsRss;
        public long MinFlt;
        public long MajFlt;
        public long NSwap;
        public long InBlock;
        public long OuBlock;
        public long MsgSnd;
        public long MsgRcv;
        public long NSignals;
        public long Nvcsw;
        public long Nivcsw;
    }

    [DllImport("libc", EntryPoint = "getrusage")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
#pragma warning disable SYSLIB1054 // LibraryImport would need unsafe code for the out struct; a sample stays safe.
    private static extern int getrusage(int who, out RUsage usage);
#pragma warning restore SYSLIB1054
}
