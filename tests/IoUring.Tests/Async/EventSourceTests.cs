// The operations under test take their own tokens (or none, on purpose); the test's token would change what is tested.
#pragma warning disable xUnit1051

using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace IoUring.Tests.Async;

/// <summary>
/// The <c>IoUring</c> event source, read by a plain <see cref="EventListener"/> enabled by name: an engine's ring setup,
/// its stop, a drain that times out and the operations it abandons. Other tests' engines write events too, so every
/// check looks at the events of this test's engine only.
/// </summary>
public sealed class EventSourceTests
{
    [UringFact]
    public void An_engine_reports_its_ring_setup_and_its_stop()
    {
        using var events = new IoUringEvents();
        var engine = new IoUringEngine();
        int id = engine.Id;
        engine.Dispose();

        EventWrittenEventArgs created = events.Single(id, "RingCreated");
        Assert.Equal(EventLevel.Informational, created.Level);
        Assert.Equal(engine.SetupFlags.ToString(), created.Payload![1]);
        Assert.Equal(engine.Features.ToString(), created.Payload[2]);
        Assert.True((int)created.Payload[3]! > 0);

        EventWrittenEventArgs stopped = events.Single(id, "EngineStopped");
        Assert.True((bool)stopped.Payload![1]!);
        Assert.Equal(0, stopped.Payload[2]);
        Assert.Empty(events.Of(id, "DisposeDrainTimedOut"));
    }

    [UringFact]
    public async Task A_drain_that_times_out_reports_the_timeout_and_the_abandoned_operation()
    {
        using var events = new IoUringEvents();
        using var pipe = new TestPipe();
        var engine = new IoUringEngine(new IoUringEngineOptions { DisposeTimeout = TimeSpan.Zero });
        long abandonedBefore = IoUringMetrics.AbandonedOperations;

        // A read of an empty pipe: cancelled at dispose, but with no time to wait the drain gives up on it at once.
        _ = engine.ReadAsync(pipe.Read, new byte[64], -1).AsTask();
        await Wait.UntilAsync(() => engine.OperationsInFlight == 1, "the read is in the kernel");
        engine.Dispose();

        EventWrittenEventArgs timedOut = events.Single(engine.Id, "DisposeDrainTimedOut");
        Assert.Equal(EventLevel.Error, timedOut.Level);
        Assert.True((int)timedOut.Payload![1]! >= 1, "requests still in the kernel");
        Assert.Equal(0.0, timedOut.Payload[2]);

        EventWrittenEventArgs abandoned = events.Single(engine.Id, "OperationsAbandoned");
        Assert.Equal(1, abandoned.Payload![1]);
        Assert.False((bool)events.Single(engine.Id, "EngineStopped").Payload![1]!);

        // The meter's process-wide count of abandoned operations took it too.
        Assert.True(IoUringMetrics.AbandonedOperations >= abandonedBefore + 1);
    }

    [UringFact]
    public async Task A_hand_off_is_reported_at_verbose_level()
    {
        using var events = new IoUringEvents(EventLevel.Verbose);
        using var engine = new IoUringEngine();

        // A continuation on the engine's thread that blocks well past HandOffAfter (1 ms).
        await Task.Run(async () =>
        {
            await EngineReadWriteTests.ResumeOnLoopAsync(engine);
            Thread.Sleep(100);
        });

        await Wait.UntilAsync(() => engine.HandOffs >= 1, "the ring is handed off");
        EventWrittenEventArgs handOff = events.Of(engine.Id, "RingHandedOff").First();
        Assert.Equal(EventLevel.Verbose, handOff.Level);
    }

    [Fact]
    public void The_source_is_named_IoUring_and_its_manifest_builds()
    {
        Assert.Equal("IoUring", EventSource.GetName(typeof(IoUringEventSource)));
        string? manifest = EventSource.GenerateManifest(typeof(IoUringEventSource), typeof(IoUringEventSource).Assembly.Location);
        Assert.NotNull(manifest);
        foreach (string name in new[] { "RingCreated", "RingSetupFallback", "RingSetupFailed", "EngineStopped", "DisposeDrainTimedOut", "OperationsAbandoned", "AcceptFallback", "ReceiveFallback", "RegistrationFailed", "EngineFaulted", "RingHandedOff", "TransportFallback" })
        {
            Assert.Contains($"\"{name}\"", manifest, StringComparison.Ordinal);
        }
    }
}

/// <summary>An <see cref="EventListener"/> that enables the source named <c>IoUring</c> and keeps what it writes.</summary>
internal sealed class IoUringEvents : EventListener
{
    private readonly ConcurrentQueue<EventWrittenEventArgs> _events = new();
    private readonly EventLevel _level;

    public IoUringEvents(EventLevel level = EventLevel.Informational)
    {
        _level = level;
        // Sources created before this listener are announced from the base constructor, before _level is set.
        foreach (EventSource source in EventSource.GetSources())
        {
            OnEventSourceCreated(source);
        }
    }

    /// <summary>The events named <paramref name="name"/> whose first payload item is <paramref name="engineId"/>.</summary>
    public IReadOnlyList<EventWrittenEventArgs> Of(int engineId, string name) =>
        [.. _events.Where(e => e.EventName == name && e.Payload is { Count: > 0 } p && Equals(p[0], engineId))];

    public EventWrittenEventArgs Single(int engineId, string name)
    {
        IReadOnlyList<EventWrittenEventArgs> found = Of(engineId, name);
        Assert.True(found.Count == 1, $"{found.Count} {name} events of engine {engineId}");
        return found[0];
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "IoUring" && _level != 0)
        {
            EnableEvents(eventSource, _level);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData) => _events.Enqueue(eventData);
}
