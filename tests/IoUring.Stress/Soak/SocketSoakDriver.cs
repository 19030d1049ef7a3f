using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace IoUring.Stress.Soak;

/// <summary>
/// The sockets driver: per cycle an <see cref="IoUringEngineGroup"/> (random size, ThreadPool or Inline continuations),
/// a loopback listener (TCP over IPv4, dual-mode IPv6, or a Unix-domain socket, with random
/// <see cref="UringSocketOptions"/>), an echo server and many concurrent clients. Every connection end is one of three
/// kinds, picked at random on both sides: a <see cref="UringConnection"/>'s pipes, its <see cref="Stream"/>, or the raw
/// <see cref="UringSocket.ReceiveAsync"/>/<see cref="UringSocket.SendAsync"/> (raw clients are made by
/// <see cref="UringSocket.ConnectAsync"/> or by <see cref="UringSocket.FromSocket"/> of a connected
/// <see cref="Socket"/>). Connection options are random too, including the fallbacks: no multishot receive, no buffer
/// ring, a buffer ring of one or two buffers (ENOBUFS), tiny pause thresholds, zero-copy sends of small blocks.
/// </summary>
/// <remarks>
/// <para>A client sends a preamble (how it means to end, and after how many bytes the server should abort), then
/// messages of random size, each a 16-byte header (sequence number, length, offset into a shared random pattern,
/// FNV-1a checksum) and its payload; a concurrent reader checks every echoed header against what was sent and every
/// payload byte against the pattern. Endings: half-close (the reader must then see every message and end of stream),
/// client abort (RST), a read cancelled by a token, or the server aborting after a random number of bytes (the client
/// must see a prefix of its messages, then end of stream or a reset). Accepts are sometimes cancelled by a token.</para>
/// <para>Errors are counted by kind; the expected ones (a reset after an abort, <see cref="OperationCanceledException"/>
/// after a cancel, <see cref="ObjectDisposedException"/> once the engines are being disposed) are counted, anything
/// else is a failure. Every cycle ends by disposing the engines with connections open; every task must then finish
/// within a minute (no hang). The soak command checks descriptors and pinned memory before and after.</para>
/// </remarks>
public sealed class SocketSoakDriver : EngineSoakDriver
{
    private const int HeaderBytes = 16;
    private const int PreambleBytes = 8;
    private static readonly byte[] Pattern = MakePattern();

    private long _abandonedZeroCopy;
    private long _abandonedZeroCopyOps;

    public override string Name => "sockets";

    /// <summary>An abandoned zero-copy send keeps its buffer pinned for good, by design (see <see cref="RunCycle"/>).</summary>
    protected override long PinnedByDesign => _abandonedZeroCopyOps;

    private enum Ending
    {
        HalfClose,
        ClientAbort,
        CancelRead,
        PeerAbort,
    }

    private enum EndKind
    {
        Pipes,
        Stream,
        Raw,
    }

    private static byte[] MakePattern()
    {
        byte[] p = new byte[256 * 1024];
        new Random(12345).NextBytes(p);
        return p;
    }

    public override SoakDriverResult Run(SoakFiles files, SoakStats stats, SoakConfig config)
    {
        _stats = stats;
        _config = config;

        // Load lazily opened runtime files now, before the soak command counts descriptors.
        try
        {
            throw new IOException("warm-up");
        }
        catch (IOException e)
        {
            _ = e.ToString();
        }

        _ = System.Reflection.Assembly.Load("System.Runtime.Intrinsics");
        _ = RunCycles(new Random(config.Seed), extraSeconds: 2);
        return new SoakDriverResult(0, 0, 0) { ExpectedPinnedForever = (int)_abandonedZeroCopy };
    }

    protected override long RunCycle(int cycle, double seconds, Random rng)
    {
        ContinuationMode mode = cycle % 2 == 0 ? ContinuationMode.ThreadPool : ContinuationMode.Inline;
        int engines = rng.Next(1, 4);
        var group = new IoUringEngineGroup(engines, new IoUringEngineOptions
        {
            QueueEntries = rng.Next(3) == 0 ? 16u : 256u,
            Continuations = mode,
            ThreadName = $"sockets soak c{cycle}",
        });
        var ctx = new Cycle(group, rng.Next(), this);
        string? unixPath = null;
        EndPoint listenAt;
        int family = rng.Next(10);
        if (family < 6)
        {
            listenAt = new IPEndPoint(IPAddress.Loopback, 0);
        }
        else if (family < 8 && Socket.OSSupportsIPv6)
        {
            listenAt = new IPEndPoint(IPAddress.IPv6Any, 0);
        }
        else
        {
            unixPath = Path.Combine(Path.GetTempPath(), $"iouring-ssoak-{Environment.ProcessId}-{cycle}.sock");
            listenAt = new UnixDomainSocketEndPoint(unixPath);
        }

        var listenOptions = new UringSocketOptions
        {
            // Not tiny: a full accept queue makes the kernel drop or reset handshakes (TCP behaviour, not the library).
            ListenBacklog = rng.Next(2) == 0 ? 512 : rng.Next(128, 512),
            UseMultishotAccept = rng.Next(3) != 0,
            MaxQueuedAccepts = rng.Next(2) == 0 ? 256 : rng.Next(1, 8),
        };
        _phase.Text = $"cycle {cycle} ({mode}, {engines} engines, {listenAt.AddressFamily}, multishot accept {listenOptions.UseMultishotAccept}): running";
        Event($"cycle {mode}");
        Event($"listener {listenAt.AddressFamily}");
        UringSocket listener = UringSocket.Listen(group.Next(), listenAt, listenOptions);
        ctx.Connect = listenAt switch
        {
            IPEndPoint { Address: var a } when a.Equals(IPAddress.IPv6Any) => new IPEndPoint(rng.Next(2) == 0 ? IPAddress.IPv6Loopback : IPAddress.Loopback, ((IPEndPoint)listener.LocalEndPoint!).Port),
            IPEndPoint => listener.LocalEndPoint!,
            _ => listenAt,
        };

        Task acceptLoop = Task.Run(() => ctx.AcceptLoopAsync(listener));
        int workers = Math.Max(2, _config.MaxInFlight / 2);
        var tasks = new Task[workers];
        for (int w = 0; w < workers; w++)
        {
            int seed = unchecked((_config.Seed * 7919) + (cycle * 131) + w);
            tasks[w] = Task.Run(() => ctx.ClientLoopAsync(seed));
        }

        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < seconds && _stats.FailureCount == 0)
        {
            Thread.Sleep(20);
        }

        // Dispose the engines with connections open and transfers running.
        _phase.Text = $"cycle {cycle} ({mode}): disposing the engines with connections open";
        Volatile.Write(ref ctx.Stopping, 1);
        Event($"engines disposed with {Volatile.Read(ref ctx.Open)} connection ends open", 1);
        int pinnedForeverBefore = ProcessStats.PinnedForeverObjects();
        if (rng.Next(2) == 0)
        {
            group.Dispose();
        }
        else
        {
            group.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        ctx.StopAccepting.Cancel();
        _phase.Text = $"cycle {cycle} ({mode}): waiting for clients and server handlers";
        Task all = Task.WhenAll(tasks.Append(acceptLoop));
        if (!all.Wait(SoakPhase.HangLimit / 2))
        {
            Fail($"cycle {cycle}: tasks still running {SoakPhase.HangLimit.TotalSeconds} s after the engines were disposed ({tasks.Count(t => !t.IsCompleted)} clients, accept loop done: {acceptLoop.IsCompleted}); ends: {ctx.Stuck()}");
            return 0;
        }

        Task handlers = Task.WhenAll(ctx.Handlers.ToArray());
        if (!handlers.Wait(SoakPhase.HangLimit / 4))
        {
            Fail($"cycle {cycle}: server handlers still running {SoakPhase.HangLimit.TotalSeconds} s after the engines were disposed; ends: {ctx.Stuck()}");
            return 0;
        }

        foreach (Task t in tasks.Append(acceptLoop).Concat(ctx.Handlers).Where(t => t.IsFaulted))
        {
            Fail($"cycle {cycle}: a task crashed: {t.Exception!.InnerException}");
        }

        listener.Dispose();
        bool zeroCopyAbandoned = false;
        foreach (IoUringEngine e in group.Engines)
        {
            if (e.AbandonedOperations != 0 && e.OperationsInFlight == 0 && e.Fault is null && ctx.ZeroCopyEngines.ContainsKey(e))
            {
                // A SEND_ZC's notification comes only when the kernel lets go of the pages; over loopback that can wait
                // for the peer (on a stopped engine, not read any more) to consume them. The engine then keeps the
                // request's memory pinned for good, by design (a bounded leak, never a use-after-free).
                Event("engine abandoned requests with zero-copy sends in use (pinned forever by design)", e.AbandonedOperations);
                zeroCopyAbandoned = true;
                _abandonedZeroCopyOps += e.AbandonedOperations;
            }
            else if (e.OperationsInFlight != 0 || e.AbandonedOperations != 0 || e.Fault is not null)
            {
                Fail($"cycle {cycle}: engine {e.Id} after dispose: {e.OperationsInFlight} in flight, {e.AbandonedOperations} abandoned, fault {e.Fault}");
            }
        }

        if (zeroCopyAbandoned)
        {
            _abandonedZeroCopy += Math.Max(0, ProcessStats.PinnedForeverObjects() - pinnedForeverBefore);
        }

        if (Volatile.Read(ref ctx.Open) != 0)
        {
            Fail($"cycle {cycle}: {ctx.Open} connection ends not disposed");
        }

        if (unixPath is not null)
        {
            File.Delete(unixPath);
        }

        ctx.StopAccepting.Dispose();
        Interlocked.Increment(ref _progress);
        return 0;
    }

    // ---- shared counters ----

    private void Op(string kind)
    {
        lock (_gate)
        {
            _stats.Op(kind);
        }

        Interlocked.Increment(ref _progress);
    }

    private void Verified(long bytes)
    {
        lock (_gate)
        {
            _stats.BytesRead += bytes;
            _stats.BytesVerified += bytes;
        }
    }

    private void Written(long bytes)
    {
        lock (_gate)
        {
            _stats.BytesWritten += bytes;
        }
    }

    private static string ErrorName(Exception e)
    {
        Exception inner = e is IOException { InnerException: SocketException s } ? s : e;
        return inner switch
        {
            SocketException se => $"{e.GetType().Name}({se.SocketErrorCode})",
            _ => e.GetType().Name,
        };
    }

    /// <summary>Counts an error: expected (documented type in a situation that explains it) or a failure.</summary>
    private void Error(string where, Exception e, bool expected)
    {
        bool documented = e is IOException or SocketException or ObjectDisposedException or OperationCanceledException;
        string key = $"{(expected && documented ? "expected" : "UNEXPECTED")} {where} {ErrorName(e)}";
        lock (_gate)
        {
            _stats.ResultsByErrno.TryGetValue(key, out long v);
            _stats.ResultsByErrno[key] = v + 1;
        }

        if (!expected || !documented)
        {
            Fail($"{where}: unexpected {e}");
        }
    }

    /// <summary>The receive operation's state, by reflection, for a hang report.</summary>
    private static string Internals(UringConnection c)
    {
        const System.Reflection.BindingFlags all = System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public;
        object? receive = typeof(UringConnection).GetField("_receive", all)?.GetValue(c);
        if (receive is null)
        {
            return "?";
        }

        var parts = new List<string>();
        AddScalarFields(receive, parts);
        object? zc = typeof(UringConnection).GetField("_zeroCopy", all)?.GetValue(c);
        if (zc is not null)
        {
            parts.Add("zc:");
            AddScalarFields(zc, parts);
        }

        object? sending = typeof(UringConnection).GetField("_sending", all)?.GetValue(c);
        parts.Add($"sending={(sending as Task)?.Status}");
        return string.Join(",", parts);
    }

    /// <summary>Adds <c>name=value</c> for every scalar field (bool, int, long, enum, null) of <paramref name="o"/>, base types included.</summary>
    private static void AddScalarFields(object o, List<string> parts)
    {
        const System.Reflection.BindingFlags declared = System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic
            | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.DeclaredOnly;
        for (Type? t = o.GetType(); t is not null && t != typeof(object); t = t.BaseType)
        {
            foreach (System.Reflection.FieldInfo f in t.GetFields(declared))
            {
                object? v = f.GetValue(o);
                if (v is bool or int or long or Enum or null)
                {
                    parts.Add($"{f.Name}={v}");
                }
            }
        }
    }

    private static uint Fnv(ReadOnlySpan<byte> data)
    {
        uint h = 2166136261;
        foreach (byte b in data)
        {
            h = (h ^ b) * 16777619;
        }

        return h;
    }

    // ---- connection ends ----

    /// <summary>One end of a connection: pipes, stream or raw socket behind one interface.</summary>
    private abstract class End : IAsyncDisposable
    {
        public abstract string Kind { get; }

        /// <summary>What the end is waiting for, for a hang report.</summary>
        public volatile string Doing = "idle";

        public string Side = string.Empty;

        public bool Adopted;

        public virtual string Details => string.Empty;

        /// <summary>A connection's state for a hang report (the pipe and stream ends).</summary>
        protected static string ConnectionDetails(UringConnection c) =>
            $" [multishot {c.UsesMultishotReceive}, ring {c.UsesBufferRing}, pauses {c.ReceivePauses}, shortages {c.ReceiveBufferShortages}, in {c.BytesReceived}, out {c.BytesSent}, engine disposing {c.Socket.Engine.IsDisposing} in flight {c.Socket.Engine.OperationsInFlight} abandoned {c.Socket.Engine.AbandonedOperations}; {Internals(c)}]";

        /// <summary>Runs one read with <see cref="Doing"/> naming it until it returns.</summary>
        protected async ValueTask<int> TrackedAsync(string what, Func<ValueTask<int>> io)
        {
            Doing = what;
            int n = await io().ConfigureAwait(false);
            Doing = "idle";
            return n;
        }

        /// <summary>Runs one write (then, if given, a flush) with <see cref="Doing"/> naming each step until it returns.</summary>
        protected async ValueTask TrackedAsync(string what, Func<ValueTask> io, string? flush = null, Func<Task>? flushIo = null)
        {
            Doing = what;
            await io().ConfigureAwait(false);
            if (flushIo is not null)
            {
                Doing = flush!;
                await flushIo().ConfigureAwait(false);
            }

            Doing = "idle";
        }

        public abstract ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken token);

        public abstract ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken token);

        public abstract ValueTask HalfCloseAsync();

        public abstract void Abort();

        public abstract ValueTask DisposeAsync();

        public async ValueTask<bool> ReadExactlyAsync(Memory<byte> buffer, CancellationToken token)
        {
            int at = 0;
            while (at < buffer.Length)
            {
                int n = await ReadAsync(buffer[at..], token).ConfigureAwait(false);
                if (n == 0)
                {
                    if (at == 0)
                    {
                        return false;
                    }

                    throw new EndOfStreamException($"end of stream after {at} of {buffer.Length} bytes");
                }

                at += n;
            }

            return true;
        }
    }

    private sealed class PipeEnd(UringConnection c, Random rng) : End
    {
        public override string Kind => "pipes";

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken token)
        {
            Doing = "pipe read";
            System.IO.Pipelines.ReadResult r = await c.Input.ReadAsync(token).ConfigureAwait(false);
            Doing = "idle";
            if (r.Buffer.IsEmpty)
            {
                c.Input.AdvanceTo(r.Buffer.End);
                return r.IsCompleted ? 0 : throw new InvalidOperationException("empty read that is not the end");
            }

            int n = (int)Math.Min(r.Buffer.Length, buffer.Length);
            System.Buffers.ReadOnlySequence<byte> take = r.Buffer.Slice(0, n);
            System.Buffers.BuffersExtensions.CopyTo(take, buffer.Span);
            c.Input.AdvanceTo(take.End);
            return n;
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken token)
        {
            // Random splits and flush points: several segments in one flush exercise the gather send.
            while (!data.IsEmpty)
            {
                int n = Math.Min(data.Length, rng.Next(1, 3) == 1 ? data.Length : rng.Next(1, 20000));
                Memory<byte> m = c.Output.GetMemory(Math.Min(n, 4096));
                n = Math.Min(n, m.Length);
                data.Span[..n].CopyTo(m.Span);
                c.Output.Advance(n);
                data = data[n..];
                if (data.IsEmpty || rng.Next(4) == 0)
                {
                    Doing = "pipe flush";
                    System.IO.Pipelines.FlushResult f = await c.Output.FlushAsync(token).ConfigureAwait(false);
                    Doing = "idle";
                    if (f.IsCompleted)
                    {
                        throw new IOException("the output's reader is gone (connection closed)");
                    }
                }
            }
        }

        public override async ValueTask HalfCloseAsync() => await c.Output.CompleteAsync().ConfigureAwait(false);

        public override void Abort() => c.Abort();

        public override string Details => ConnectionDetails(c);

        public override ValueTask DisposeAsync() => c.DisposeAsync();
    }

    private sealed class StreamEnd(UringConnection c) : End
    {
        private readonly Stream _s = c.AsStream();

        public override string Kind => "stream";

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken token) =>
            TrackedAsync("stream read", () => _s.ReadAsync(buffer, token));

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken token) =>
            TrackedAsync("stream write", () => _s.WriteAsync(data, token), "stream flush", () => _s.FlushAsync(token));

        public override async ValueTask HalfCloseAsync() => await c.Output.CompleteAsync().ConfigureAwait(false);

        public override void Abort() => c.Abort();

        public override string Details => ConnectionDetails(c);

        public override async ValueTask DisposeAsync()
        {
            await _s.DisposeAsync().ConfigureAwait(false);
            await c.DisposeAsync().ConfigureAwait(false);
        }
    }

    private sealed class RawEnd(UringSocket s, Socket? adopted) : End
    {
        public override string Kind => adopted is null ? "raw" : "raw FromSocket";

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken token) =>
            TrackedAsync("raw receive", () => s.ReceiveAsync(buffer, token));

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken token) =>
            TrackedAsync("raw send", () => s.SendAsync(data, token));

        public override ValueTask HalfCloseAsync() => s.ShutdownAsync(SocketShutdown.Send);

        public override void Abort()
        {
            if (adopted is not null && adopted.AddressFamily != AddressFamily.Unix)
            {
                adopted.LingerState = new LingerOption(true, 0); // close sends RST
            }

            s.Dispose();
        }

        public override ValueTask DisposeAsync() => s.DisposeAsync();
    }

    private static UringConnectionOptions RandomConnectionOptions(Random rng)
    {
        long inPause = rng.Next(3) == 0 ? rng.Next(1, 8192) : 1 << 20;
        long outPause = rng.Next(3) == 0 ? rng.Next(1, 8192) : 1 << 20;
        return new UringConnectionOptions
        {
            UseMultishotReceive = rng.Next(3) != 0,
            UseBufferRing = rng.Next(4) != 0,
            ReceiveBufferSize = rng.Next(3) == 0 ? rng.Next(1, 2048) : 16 * 1024,
            ReceiveBufferCount = rng.Next(3) == 0 ? 1 << rng.Next(0, 2) : 512,
            InputPauseThreshold = inPause,
            InputResumeThreshold = rng.NextInt64(0, inPause + 1),
            OutputPauseThreshold = outPause,
            OutputResumeThreshold = rng.NextInt64(0, outPause + 1),
            ZeroCopySendThreshold = rng.Next(3) switch { 0 => 0, 1 => rng.Next(1, 4096), _ => 64 * 1024 },
            // Generous: a close that times out aborts (RST) by design, which a slow, loaded machine must not trigger.
            CloseTimeout = TimeSpan.FromSeconds(30),
        };
    }

    private sealed class Cycle(IoUringEngineGroup group, int seed, SocketSoakDriver d)
    {
        public readonly CancellationTokenSource StopAccepting = new();
        public readonly ConcurrentBag<Task> Handlers = [];
        public readonly ConcurrentDictionary<End, byte> Ends = new();
        public readonly ConcurrentDictionary<IoUringEngine, byte> ZeroCopyEngines = new();

        public string Stuck() => string.Join("; ", Ends.Keys.Select(e => $"{e.Side} {e.Kind}{(e.Adopted ? " (FromSocket)" : string.Empty)}: {e.Doing}{e.Details}").GroupBy(x => x).Select(g => $"{g.Count()} x {g.Key}"));
        public EndPoint Connect = null!;
        public int Stopping;
        public int Open;
        private readonly Random _serverRng = new(seed);

        private bool IsStopping => Volatile.Read(ref Stopping) != 0;

        private End Wrap(UringSocket s, Socket? adopted, Random rng, string side)
        {
            EndKind kind = (EndKind)rng.Next(3);
            if (kind == EndKind.Raw)
            {
                d.Event($"{side} end raw{(adopted is null ? string.Empty : " (FromSocket)")}");
                return new RawEnd(s, adopted);
            }

            UringConnectionOptions options = RandomConnectionOptions(rng);
            UringConnection c = s.CreateConnection(options);
            if (options.ZeroCopySendThreshold > 0)
            {
                ZeroCopyEngines[s.Engine] = 0;
            }

            d.Event($"{side} end {kind}{(c.UsesMultishotReceive ? " multishot" : " single-shot")}{(c.UsesBufferRing ? " buffer ring" : " own buffer")}");
            return kind == EndKind.Pipes ? new PipeEnd(c, rng) : new StreamEnd(c);
        }

        public async Task AcceptLoopAsync(UringSocket listener)
        {
            while (!IsStopping)
            {
                CancellationTokenSource? cancelSoon = null;
                int roll;
                lock (_serverRng)
                {
                    roll = _serverRng.Next(20);
                }

                if (roll == 0)
                {
                    cancelSoon = CancellationTokenSource.CreateLinkedTokenSource(StopAccepting.Token);
                    cancelSoon.CancelAfter(TimeSpan.FromMilliseconds(1));
                }

                UringSocket accepted;
                try
                {
                    d.Op("Accept");
                    accepted = await listener.AcceptAsync(group.Next(), (cancelSoon ?? StopAccepting).Token).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    bool cancelled = e is OperationCanceledException && (cancelSoon is not null || IsStopping);
                    d.Error("accept", e, expected: cancelled || IsStopping);
                    if (IsStopping || e is not OperationCanceledException)
                    {
                        return;
                    }

                    continue;
                }
                finally
                {
                    cancelSoon?.Dispose();
                }

                int seedForHandler;
                lock (_serverRng)
                {
                    seedForHandler = _serverRng.Next();
                }

                Handlers.Add(Task.Run(() => ServeAsync(accepted, seedForHandler)));
            }
        }

        private async Task ServeAsync(UringSocket socket, int seed)
        {
            var rng = new Random(seed);
            End end;
            try
            {
                end = Wrap(socket, null, rng, "server");
            }
            catch (Exception e)
            {
                d.Error("server CreateConnection", e, expected: IsStopping);
                socket.Dispose();
                return;
            }

            Interlocked.Increment(ref Open);
            end.Side = "server";
            Ends[end] = 0;
            Ending ending = Ending.HalfClose;
            bool aborted = false;
            bool knowsEnding = false;
            try
            {
                byte[] preamble = new byte[PreambleBytes];
                if (!await end.ReadExactlyAsync(preamble, default).ConfigureAwait(false))
                {
                    d.Event("server: client sent nothing");
                    return;
                }

                ending = (Ending)preamble[0];
                knowsEnding = true;
                int abortAfter = BinaryPrimitives.ReadInt32LittleEndian(preamble.AsSpan(4));
                byte[] buffer = new byte[rng.Next(1, 3) == 1 ? 65536 : rng.Next(1, 4096)];
                long echoed = 0;
                while (true)
                {
                    int n = await end.ReadAsync(buffer, default).ConfigureAwait(false);
                    if (n == 0)
                    {
                        await end.HalfCloseAsync().ConfigureAwait(false);
                        d.Op("server half-close after end of stream");
                        break;
                    }

                    if (ending == Ending.PeerAbort && echoed + n >= abortAfter)
                    {
                        int part = (int)(abortAfter - echoed);
                        await end.WriteAsync(buffer.AsMemory(0, part), default).ConfigureAwait(false);
                        aborted = true;
                        end.Abort();
                        d.Op($"server abort ({end.Kind})");
                        break;
                    }

                    await end.WriteAsync(buffer.AsMemory(0, n), default).ConfigureAwait(false);
                    echoed += n;
                }
            }
            catch (Exception e)
            {
                // A client that aborts, cancels its read (and then closes with data unread: RST), or engines that stop,
                // explain a reset, an end of stream in the middle, or a disposed socket.
                bool expected = IsStopping || aborted || !knowsEnding || ending is Ending.ClientAbort or Ending.CancelRead || e is EndOfStreamException && ending != Ending.HalfClose;
                d.Error($"server {end.Kind}", e is EndOfStreamException ? new IOException(e.Message, e) : e, expected);
            }
            finally
            {
                await DisposeEndAsync(end, "server").ConfigureAwait(false);
            }
        }

        private async Task DisposeEndAsync(End end, string side)
        {
            try
            {
                end.Doing = "dispose";
                await end.DisposeAsync().ConfigureAwait(false);
                Ends.TryRemove(end, out _);
            }
            catch (Exception e)
            {
                d.Error($"{side} dispose {end.Kind}", e, expected: false);
            }
            finally
            {
                Interlocked.Decrement(ref Open);
            }
        }

        public async Task ClientLoopAsync(int seed)
        {
            var rng = new Random(seed);
            while (!IsStopping && d._stats.FailureCount == 0)
            {
                await OneConnectionAsync(rng).ConfigureAwait(false);
            }
        }

        private async Task<End?> ConnectAsync(Random rng)
        {
            IoUringEngine engine = group.Next();
            if (rng.Next(4) == 0)
            {
                // A System.Net socket connected the ordinary way, adopted.
                var sys = Connect is UnixDomainSocketEndPoint
                    ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
                    : new Socket(Connect.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    await sys.ConnectAsync(Connect).ConfigureAwait(false);
                    d.Op("Connect (System.Net) + FromSocket");
                    UringSocket adopted = UringSocket.FromSocket(engine, sys);
                    End e = rng.Next(2) == 0 ? new RawEnd(adopted, sys) : Wrap(adopted, sys, rng, "client");
                    e.Adopted = true;
                    return e;
                }
                catch
                {
                    sys.Dispose();
                    throw;
                }
            }

            d.Op("ConnectAsync");
            UringSocket s = await UringSocket.ConnectAsync(engine, Connect, null, default).ConfigureAwait(false);
            try
            {
                return Wrap(s, null, rng, "client");
            }
            catch
            {
                s.Dispose();
                throw;
            }
        }

        private async Task OneConnectionAsync(Random rng)
        {
            End? end;
            try
            {
                end = await ConnectAsync(rng).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // Refused connects are expected only once the listener's engine is going away.
                d.Error("connect", e, expected: IsStopping);
                return;
            }

            if (end is null)
            {
                return;
            }

            Interlocked.Increment(ref Open);
            end.Side = "client";
            Ends[end] = 0;
            int roll = rng.Next(100);
            Ending ending = roll switch
            {
                < 55 => Ending.HalfClose,
                < 70 => Ending.ClientAbort,
                < 85 => Ending.CancelRead,
                _ => Ending.PeerAbort,
            };
            int messages = rng.Next(1, 24);
            var sent = new ConcurrentQueue<(int Seq, int Length, int Offset, uint Sum)>();
            int abortAfter = rng.Next(1, 200_000);
            using var readCancel = new CancellationTokenSource();
            using var writeCancel = new CancellationTokenSource();
            var state = new ClientState();
            try
            {
                byte[] preamble = new byte[PreambleBytes];
                preamble[0] = (byte)ending;
                BinaryPrimitives.WriteInt32LittleEndian(preamble.AsSpan(4), abortAfter);
                await end.WriteAsync(preamble, default).ConfigureAwait(false);
                Task writer = WriteMessagesAsync(end, rng.Next(), messages, sent, ending, state, writeCancel.Token);
                Task reader = ReadMessagesAsync(end, sent, ending, readCancel.Token, state);
                if (ending == Ending.ClientAbort)
                {
                    await Task.Delay(rng.Next(0, 4)).ConfigureAwait(false);
                    state.Aborted = true;
                    end.Abort();
                    d.Op($"client abort ({end.Kind})");
                }
                else if (ending == Ending.CancelRead)
                {
                    readCancel.CancelAfter(rng.Next(0, 5));
                }

                // The reader ends first; unless the client half-closed (then the writer is done), a writer that nobody
                // reads for any more would wait on back-pressure: cancel it.
                await reader.ConfigureAwait(false);
                if (ending != Ending.HalfClose)
                {
                    await writeCancel.CancelAsync().ConfigureAwait(false);
                }

                await writer.ConfigureAwait(false);
            }
            catch (Exception e)
            {
                d.Error($"client {end.Kind} preamble", e, expected: IsStopping || ending != Ending.HalfClose);
            }
            finally
            {
                await DisposeEndAsync(end, "client").ConfigureAwait(false);
            }
        }

        private sealed class ClientState
        {
            public volatile bool Aborted;
            public volatile bool WriterDone;
        }

        private async Task WriteMessagesAsync(End end, int seed, int messages, ConcurrentQueue<(int, int, int, uint)> sent, Ending ending, ClientState state, CancellationToken token)
        {
            var rng = new Random(seed);
            byte[] header = new byte[HeaderBytes];
            try
            {
                for (int seq = 0; seq < messages && !IsStopping && !state.Aborted; seq++)
                {
                    int length = rng.Next(4) == 0 ? rng.Next(0, 64) : rng.Next(0, 64 * 1024);
                    int offset = rng.Next(0, Pattern.Length - length + 1);
                    ReadOnlyMemory<byte> payload = Pattern.AsMemory(offset, length);
                    uint sum = Fnv(payload.Span);
                    BinaryPrimitives.WriteInt32LittleEndian(header, seq);
                    BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4), length);
                    BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), offset);
                    BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(12), sum);
                    sent.Enqueue((seq, length, offset, sum));
                    if (rng.Next(2) == 0)
                    {
                        byte[] whole = new byte[HeaderBytes + length];
                        header.CopyTo(whole, 0);
                        payload.Span.CopyTo(whole.AsSpan(HeaderBytes));
                        await end.WriteAsync(whole, token).ConfigureAwait(false);
                    }
                    else
                    {
                        await end.WriteAsync(header, token).ConfigureAwait(false);
                        await end.WriteAsync(payload, token).ConfigureAwait(false);
                    }

                    d.Op("message sent");
                    d.Written(HeaderBytes + length);
                }

                state.WriterDone = true;
                if (!state.Aborted && !IsStopping)
                {
                    await end.HalfCloseAsync().ConfigureAwait(false);
                    d.Op($"client half-close ({end.Kind})");
                }
            }
            catch (Exception e)
            {
                d.Error($"client write {end.Kind}", e, expected: IsStopping || ending != Ending.HalfClose);
            }
        }

        private async Task ReadMessagesAsync(End end, ConcurrentQueue<(int Seq, int Length, int Offset, uint Sum)> sent, Ending ending, CancellationToken token, ClientState state)
        {
            byte[] header = new byte[HeaderBytes];
            byte[] payload = new byte[64 * 1024];
            int received = 0;
            try
            {
                while (true)
                {
                    if (!await end.ReadExactlyAsync(header, token).ConfigureAwait(false))
                    {
                        // End of stream: after a half-close every message must have come back.
                        if (ending == Ending.HalfClose && !IsStopping && (!state.WriterDone || !sent.IsEmpty))
                        {
                            d.Fail($"client {end.Kind}: end of stream after {received} messages, {sent.Count} never came back (writer done: {state.WriterDone})");
                        }

                        d.Op($"client end of stream ({ending})");
                        return;
                    }

                    if (!sent.TryDequeue(out var want))
                    {
                        d.Fail($"client {end.Kind}: a message came back that was never sent");
                        return;
                    }

                    int seq = BinaryPrimitives.ReadInt32LittleEndian(header);
                    int length = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(4));
                    int offset = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(8));
                    uint sum = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(12));
                    if (seq != want.Seq || length != want.Length || offset != want.Offset || sum != want.Sum)
                    {
                        d.Fail($"client {end.Kind}: header of message {want.Seq} came back as seq {seq}, length {length}, offset {offset}, sum {sum:x8}");
                        return;
                    }

                    if (length > 0 && !await end.ReadExactlyAsync(payload.AsMemory(0, length), token).ConfigureAwait(false))
                    {
                        throw new EndOfStreamException($"end of stream before the payload of message {seq}");
                    }

                    if (Fnv(payload.AsSpan(0, length)) != sum || !payload.AsSpan(0, length).SequenceEqual(Pattern.AsSpan(offset, length)))
                    {
                        d.Fail($"client {end.Kind}: payload of message {seq} ({length} bytes) came back corrupted");
                        return;
                    }

                    received++;
                    d.Op("message verified");
                    d.Verified(HeaderBytes + length);
                }
            }
            catch (Exception e)
            {
                bool expected = IsStopping || state.Aborted
                    || (ending == Ending.CancelRead && e is OperationCanceledException)
                    || (ending == Ending.PeerAbort && e is IOException or SocketException);
                d.Error($"client read {end.Kind} ({ending})", e, expected);
            }
        }
    }
}
