using System.IO.Pipelines;

namespace IoUring;

/// <summary>
/// A <see cref="PipeScheduler"/> for the reader of a connection's output pipe (the send loop): released by a flush
/// inside a continuation on the engine's thread, the send loop runs right after that continuation phase
/// (<see cref="IoUringEngine.ScheduleAfterPhase"/>), so everything the phase's continuations flushed to one connection
/// goes out as one send; released anywhere else, it runs at once. Kestrel flushes a chunked response twice (headers
/// and body, then the terminating chunk): resumed inline, the send loop sent them as two segments, which cost the
/// server a second send and completion and the peer a second segment per request. Allocation-free.
/// </summary>
internal sealed class PhaseEndScheduler(IoUringEngine engine) : PipeScheduler
{
    public override void Schedule(Action<object?> action, object? state) => engine.ScheduleAfterPhase(action, state);
}
