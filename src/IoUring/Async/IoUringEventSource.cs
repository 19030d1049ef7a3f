using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Tracing;

namespace IoUring;

/// <summary>
/// The library's <see cref="EventSource"/>, named <c>IoUring</c>: the lifecycle of engines and the trouble they run
/// into — how each ring was set up, setups that failed and fallbacks taken, drains that timed out at dispose,
/// operations abandoned to the kernel. <c>dotnet-trace collect --providers IoUring</c> or an
/// <see cref="EventListener"/> reads it; docs/observability.md lists every event. Nothing here is on a per-operation
/// path: each event is written once per engine, per fallback or per failure, and only while a listener is enabled.
/// </summary>
[EventSource(Name = SourceName)]
internal sealed class IoUringEventSource : EventSource
{
    /// <summary>The source's name, <c>IoUring</c>.</summary>
    public const string SourceName = "IoUring";

    /// <summary>The one instance.</summary>
    public static readonly IoUringEventSource Log = new();

    private IoUringEventSource()
    {
    }

    /// <summary>Event ids (stable: tools and tests refer to them).</summary>
    internal static class Ids
    {
        public const int RingCreated = 1;
        public const int RingSetupFallback = 2;
        public const int RingSetupFailed = 3;
        public const int EngineStopped = 4;
        public const int DisposeDrainTimedOut = 5;
        public const int OperationsAbandoned = 6;
        public const int AcceptFallback = 7;
        public const int ReceiveFallback = 8;
        public const int RegistrationFailed = 9;
        public const int EngineFaulted = 10;
        public const int RingHandedOff = 11;
        public const int TransportFallback = 12;
    }

    /// <summary>An engine's ring is set up: the flags the kernel granted, the features it reported, the queue sizes.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "The payload is strings and primitives, which EventSource writes without reflection over user types.")]
    [Event(Ids.RingCreated, Level = EventLevel.Informational, Message = "Engine {0}: ring set up with flags {1}, features {2}, {3} SQ / {4} CQ entries")]
    public void RingCreated(int engineId, string setupFlags, string features, int sqEntries, int cqEntries) =>
        WriteEvent(Ids.RingCreated, engineId, setupFlags, features, sqEntries, cqEntries);

    /// <summary>The kernel refused a ring with <paramref name="refusedFlags"/>; the engine tries <paramref name="nextFlags"/>.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "The payload is strings and primitives, which EventSource writes without reflection over user types.")]
    [Event(Ids.RingSetupFallback, Level = EventLevel.Warning, Message = "Engine {0}: the kernel refused a ring with {1} ({2}); trying {3}")]
    public void RingSetupFallback(int engineId, string refusedFlags, string reason, string nextFlags) =>
        WriteEvent(Ids.RingSetupFallback, engineId, refusedFlags, reason, nextFlags);

    /// <summary>An engine could not be created: io_uring is unavailable (the reason and errno say why).</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "The payload is strings and primitives, which EventSource writes without reflection over user types.")]
    [Event(Ids.RingSetupFailed, Level = EventLevel.Error, Message = "Engine {0}: io_uring setup failed ({1}, errno {2}): {3}")]
    public void RingSetupFailed(int engineId, string reason, int errno, string message) =>
        WriteEvent(Ids.RingSetupFailed, engineId, reason, errno, message);

    /// <summary>An engine stopped; <paramref name="drained"/> is false when the kernel did not give every request back in time.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "The payload is strings and primitives, which EventSource writes without reflection over user types.")]
    [Event(Ids.EngineStopped, Level = EventLevel.Informational, Message = "Engine {0} stopped (drained: {1}, operations abandoned: {2})")]
    public void EngineStopped(int engineId, bool drained, int abandoned) =>
        WriteEvent(Ids.EngineStopped, engineId, drained, abandoned);

    /// <summary>Dispose gave up waiting for the kernel to finish the engine's requests.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "The payload is strings and primitives, which EventSource writes without reflection over user types.")]
    [Event(Ids.DisposeDrainTimedOut, Level = EventLevel.Error, Message = "Engine {0}: dispose waited {2} s and the kernel still holds {1} requests")]
    public void DisposeDrainTimedOut(int engineId, int requestsInKernel, double timeoutSeconds) =>
        WriteEvent(Ids.DisposeDrainTimedOut, engineId, requestsInKernel, timeoutSeconds);

    /// <summary>Operations the kernel still held at dispose: they never complete and their memory stays pinned.</summary>
    [Event(Ids.OperationsAbandoned, Level = EventLevel.Warning, Message = "Engine {0}: {1} operations abandoned to the kernel at dispose (their memory stays pinned for the life of the process)")]
    public void OperationsAbandoned(int engineId, int count) =>
        WriteEvent(Ids.OperationsAbandoned, engineId, count);

    /// <summary>A listener falls back from multishot accept to one accept request per connection (a kernel before 5.19).</summary>
    [Event(Ids.AcceptFallback, Level = EventLevel.Warning, Message = "Engine {0}: multishot accept refused (errno {1}); accepting one connection per request")]
    public void AcceptFallback(int engineId, int errno) =>
        WriteEvent(Ids.AcceptFallback, engineId, errno);

    /// <summary>A connection falls back from multishot receive to a re-armed single-shot receive (a kernel before 6.0).</summary>
    [Event(Ids.ReceiveFallback, Level = EventLevel.Warning, Message = "Engine {0}: multishot receive refused (errno {1}); receiving with single-shot requests")]
    public void ReceiveFallback(int engineId, int errno) =>
        WriteEvent(Ids.ReceiveFallback, engineId, errno);

    /// <summary>Registering a resource with the ring failed (<paramref name="what"/>: registered buffers or file slots); the engine goes on without it.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "The payload is strings and primitives, which EventSource writes without reflection over user types.")]
    [Event(Ids.RegistrationFailed, Level = EventLevel.Warning, Message = "Engine {0}: registering {1} failed (errno {2}: {3}); going on without")]
    public void RegistrationFailed(int engineId, string what, int errno, string message) =>
        WriteEvent(Ids.RegistrationFailed, engineId, what, errno, message);

    /// <summary>An unexpected error stopped the engine (<see cref="IoUringEngine.Fault"/>).</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "The payload is strings and primitives, which EventSource writes without reflection over user types.")]
    [Event(Ids.EngineFaulted, Level = EventLevel.Error, Message = "Engine {0} faulted: {1}: {2}")]
    public void EngineFaulted(int engineId, string exceptionType, string message) =>
        WriteEvent(Ids.EngineFaulted, engineId, exceptionType, message);

    /// <summary>A continuation blocked the engine's thread and the ring moved to another thread.</summary>
    [Event(Ids.RingHandedOff, Level = EventLevel.Verbose, Message = "Engine {0}: a continuation blocked; ring handed to another thread (hand-off {1})")]
    public void RingHandedOff(int engineId, int handOffs) =>
        WriteEvent(Ids.RingHandedOff, engineId, handOffs);

    /// <summary>IoUring.AspNetCore serves Kestrel's endpoints on the socket transport because io_uring cannot be used.</summary>
    [Event(Ids.TransportFallback, Level = EventLevel.Warning, Message = "ASP.NET Core transport: io_uring unavailable ({0}); using Kestrel's socket transport: {1}")]
    public void TransportFallback(string reason, string message) =>
        WriteEvent(Ids.TransportFallback, reason, message);
}
