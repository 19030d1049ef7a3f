// The operations under test take their own tokens (or none, on purpose); the test's token would change what is tested.
#pragma warning disable xUnit1051

using System.Diagnostics.Metrics;
using System.Net.Sockets;

namespace IoUring.Tests.Async;

/// <summary>
/// The <c>IoUring</c> meter, read the way an operator's tools read it (a <see cref="MeterListener"/> subscribed to meters
/// named <c>IoUring*</c>): the values must match the I/O the test performed on its own engine. Other tests run engines
/// at the same time, so every check looks at the measurements tagged with this test's engine id only.
/// </summary>
public sealed class MetricsTests
{
    [UringFact]
    public async Task Reads_and_a_failed_read_show_up_as_completed_operations_bytes_and_an_errno()
    {
        using var rig = new EngineTempFile(64 * 1024, seed: 5);
        var (file, handle, engine) = rig;
        const int Reads = 40;
        var buffer = new byte[1000];
        for (int i = 0; i < Reads; i++)
        {
            Assert.Equal(1000, await engine.ReadAsync(handle, buffer, i * 1000L));
        }

        // EBADF: reading from a file opened for writing only.
        using var writeOnly = File.OpenHandle(file.Path, FileMode.Open, FileAccess.Write);
        await Assert.ThrowsAnyAsync<Exception>(async () => await engine.ReadAsync(writeOnly, buffer, 0));

        // The loop keeps running (it may park, one more io_uring_enter) while the snapshot is taken: its own counters
        // are read on both sides of it.
        (long enterBefore, long wakeupsBefore) = (engine.EnterCalls, engine.Wakeups);
        using var meter = new MeterSnapshot(engine);
        (long enterAfter, long wakeupsAfter) = (engine.EnterCalls, engine.Wakeups);
        Assert.Equal(Reads, meter.Long("iouring.operations.completed", ("iouring.operation.kind", "read"), ("iouring.operation.outcome", "success")));
        Assert.Equal(1, meter.Long("iouring.operations.completed", ("iouring.operation.kind", "read"), ("iouring.operation.outcome", "error")));
        Assert.Equal(1, meter.Long("iouring.operation.errors", ("error.type", "EBADF")));
        Assert.Equal(Reads * 1000L, meter.Long("iouring.io.bytes", ("iouring.operation.kind", "read")));
        Assert.Equal(0, meter.Long("iouring.operations.in_flight"));

        // Every read went into an SQE the kernel took, in io_uring_enter calls the meter counted.
        Assert.True(meter.Long("iouring.submissions") >= Reads + 1, $"submissions {meter.Long("iouring.submissions")}");
        Assert.True(meter.Long("iouring.enter.calls") >= 1);
        Assert.InRange(meter.Long("iouring.enter.calls"), enterBefore, enterAfter);
        Assert.InRange(meter.Long("iouring.engine.wakeups"), wakeupsBefore, wakeupsAfter);
        Assert.True(meter.Double("iouring.engine.busy_time") > 0);
        Assert.Equal(0, meter.Long("iouring.cq.overflows"));
        Assert.True(meter.Long("iouring.engines", ofEngine: false) >= 1);
    }

    [UringFact]
    public async Task Writes_count_their_bytes_and_cancelled_reads_count_as_canceled()
    {
        using var file = new TempFile(0, seed: 6);
        using var handle = file.Open(FileAccess.ReadWrite);
        using var engine = new IoUringEngine();
        byte[] data = TestData.Bytes(3000, seed: 6);
        for (int i = 0; i < 5; i++)
        {
            await engine.WriteAsync(handle, data, i * 3000L);
        }

        // A read of an empty pipe waits in the kernel until its token cancels it.
        using var pipe = new TestPipe();
        using var cts = new CancellationTokenSource();
        ValueTask<int> read = engine.ReadAsync(pipe.Read, new byte[16], -1, cts.Token);
        await Wait.UntilAsync(() => engine.OperationsInFlight == 1, "the pipe read is in the kernel");
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await read);

        using var meter = new MeterSnapshot(engine);
        Assert.Equal(5, meter.Long("iouring.operations.completed", ("iouring.operation.kind", "write"), ("iouring.operation.outcome", "success")));
        Assert.Equal(15_000, meter.Long("iouring.io.bytes", ("iouring.operation.kind", "write")));
        Assert.Equal(1, meter.Long("iouring.operations.completed", ("iouring.operation.kind", "read"), ("iouring.operation.outcome", "canceled")));
        Assert.Equal(1, meter.Long("iouring.operation.errors", ("error.type", "ECANCELED")));
    }

    [UringFact]
    public async Task The_batch_size_histogram_records_every_submitted_entry_while_it_is_listened_to()
    {
        using var rig = new EngineTempFile(64 * 1024, seed: 7);
        var (_, handle, engine) = rig;

        // Parked: the engine's counters do not move until a request wakes it, so the histogram and the counter start
        // from the same point (an io_uring_enter adds to both when it returns).
        await Wait.UntilAsync(() => Volatile.Read(ref engine.Counters.ParkedSince) != 0, "the engine parks");
        using var meter = new MeterSnapshot(engine);
        long submittedBefore = engine.Counters.Submitted;

        const int Reads = 64;
        var buffers = new byte[Reads][];
        var reads = new Task<int>[Reads];
        for (int i = 0; i < Reads; i++)
        {
            buffers[i] = new byte[512];
            reads[i] = engine.ReadAsync(handle, buffers[i], i * 512L).AsTask();
        }

        Assert.All(await Task.WhenAll(reads), n => Assert.Equal(512, n));
        await Task.Run(() => Wait.UntilAsync(() => Volatile.Read(ref engine.Counters.ParkedSince) != 0, "the engine parks again"));
        meter.Collect();
        long recorded = meter.HistogramSum("iouring.submission.batch_size");
        long submitted = meter.Long("iouring.submissions") - submittedBefore;
        Assert.True(submitted >= Reads, $"submitted {submitted}");

        // Every batch since the listener enabled the histogram was recorded (the wake read's re-arms included).
        Assert.Equal(submitted, recorded);
        Assert.True(meter.HistogramCount("iouring.submission.batch_size") <= submitted);
    }

    [UringFact]
    public async Task A_connection_shows_as_accepted_and_active_and_its_bytes_match_what_was_echoed()
    {
        await using var engine = new IoUringEngine();
        await using UringSocket listener = UringSocket.Listen(engine, new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        Task<UringSocket> accepting = listener.AcceptAsync().AsTask();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        CancellationToken ct = TestContext.Current.CancellationToken;
        await client.ConnectAsync(listener.LocalEndPoint!, ct);
        UringSocket accepted = await accepting.WaitAsync(Wait.Patience, ct);
        UringConnection connection = accepted.CreateConnection();

        byte[] data = TestData.Bytes(200_000, seed: 8);
        Task echo = EchoOnceAsync(connection, data.Length);
        await client.SendAsync(data, SocketFlags.None, ct);
        var back = new byte[data.Length];
        int got = 0;
        while (got < back.Length)
        {
            int n = await client.ReceiveAsync(back.AsMemory(got), SocketFlags.None, ct);
            Assert.NotEqual(0, n);
            got += n;
        }

        Assert.Equal(data, back);
        await echo.WaitAsync(Wait.Patience, ct);
        using (var meter = new MeterSnapshot(engine))
        {
            Assert.Equal(1, meter.Long("iouring.socket.connections.accepted"));
            Assert.Equal(1, meter.Long("iouring.socket.connections.active"));
            Assert.Equal(data.Length, meter.Long("iouring.socket.io", ("network.io.direction", "receive")));
            Assert.Equal(data.Length, meter.Long("iouring.socket.io", ("network.io.direction", "transmit")));
        }

        await connection.DisposeAsync();
        using (var meter = new MeterSnapshot(engine))
        {
            Assert.Equal(0, meter.Long("iouring.socket.connections.active"));
        }
    }

    [UringFact]
    public void A_disposed_engine_leaves_the_meter()
    {
        var engine = new IoUringEngine();
        using (var meter = new MeterSnapshot(engine))
        {
            Assert.True(meter.Has("iouring.enter.calls"));
        }

        engine.Dispose();
        using (var meter = new MeterSnapshot(engine))
        {
            Assert.False(meter.Has("iouring.enter.calls"));
        }
    }

    private static async Task EchoOnceAsync(UringConnection connection, int length)
    {
        int echoed = 0;
        while (echoed < length)
        {
            System.IO.Pipelines.ReadResult result = await connection.Input.ReadAsync();
            foreach (ReadOnlyMemory<byte> segment in result.Buffer)
            {
                await connection.Output.WriteAsync(segment);
                echoed += segment.Length;
            }

            connection.Input.AdvanceTo(result.Buffer.End);
            Assert.False(result.IsCompleted && echoed < length, "the peer ended early");
        }

        // The send loop reports a send's bytes when its CQE is reaped: wait until the meter can see all of them.
        await Wait.UntilAsync(() => connection.BytesSent == length, "the echo is sent");
    }
}

/// <summary>A <see cref="MeterListener"/> on meters named <c>IoUring*</c> that keeps the last value of each series of one engine.</summary>
internal sealed class MeterSnapshot : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly int _engineId;
    private readonly object _gate = new();
    private readonly List<(string Instrument, KeyValuePair<string, object?>[] Tags, double Value)> _last = [];
    private readonly List<(string Instrument, KeyValuePair<string, object?>[] Tags, double Value)> _recorded = [];

    public MeterSnapshot(IoUringEngine engine)
    {
        _engineId = engine.Id;
        _listener.InstrumentPublished = static (instrument, listener) =>
        {
            if (instrument.Meter.Name.StartsWith("IoUring", StringComparison.Ordinal))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => OnMeasurement(i, v, tags));
        _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => OnMeasurement(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => OnMeasurement(i, v, tags));
        _listener.Start();
        Collect();
    }

    /// <summary>Reads every observable instrument now.</summary>
    public void Collect()
    {
        lock (_gate)
        {
            _last.Clear();
        }

        _listener.RecordObservableInstruments();
    }

    public bool Has(string instrument)
    {
        lock (_gate)
        {
            return _last.Exists(m => m.Instrument == instrument && OfEngine(m.Tags));
        }
    }

    /// <summary>The sum of the last values of <paramref name="instrument"/>'s series of the engine that have <paramref name="tags"/>.</summary>
    public long Long(string instrument, params (string Key, string Value)[] tags) => (long)Sum(instrument, ofEngine: true, tags);

    public long Long(string instrument, bool ofEngine) => (long)Sum(instrument, ofEngine, []);

    public double Double(string instrument) => Sum(instrument, ofEngine: true, []);

    public long HistogramSum(string instrument)
    {
        lock (_gate)
        {
            return (long)_recorded.Where(m => m.Instrument == instrument && OfEngine(m.Tags)).Sum(m => m.Value);
        }
    }

    public long HistogramCount(string instrument)
    {
        lock (_gate)
        {
            return _recorded.Count(m => m.Instrument == instrument && OfEngine(m.Tags));
        }
    }

    public void Dispose() => _listener.Dispose();

    private double Sum(string instrument, bool ofEngine, (string Key, string Value)[] tags)
    {
        lock (_gate)
        {
            return _last
                .Where(m => m.Instrument == instrument && (!ofEngine || OfEngine(m.Tags)))
                .Where(m => tags.All(t => m.Tags.Any(k => k.Key == t.Key && Equals(k.Value, t.Value))))
                .Sum(m => m.Value);
        }
    }

    private bool OfEngine(KeyValuePair<string, object?>[] tags) => tags.Any(t => t.Key == "iouring.engine.id" && Equals(t.Value, _engineId));

    private void OnMeasurement(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        lock (_gate)
        {
            (instrument.IsObservable ? _last : _recorded).Add((instrument.Name, tags.ToArray(), value));
        }
    }
}
