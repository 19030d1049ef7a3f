using System.IO.Pipelines;

namespace IoUring;

/// <summary>
/// A <see cref="PipeScheduler"/> that runs continuations with the engine's completions
/// (<see cref="IoUringEngine.ScheduleWithCompletions"/>): released by the ring's owner while it does ring work (a
/// connection's receive flushing its input pipe), a continuation joins the pass's continuation phase (inline mode) or
/// the batch the engine hands to the thread pool next (thread-pool mode), so one pass runs the requests of many
/// connections and the requests they make reach the ring as one batch; released inside a continuation running on an
/// engine thread it runs at once; released on any other thread it goes to the thread pool. Allocation-free.
/// </summary>
internal sealed class CompletionBatchScheduler(IoUringEngine engine) : PipeScheduler
{
    public override void Schedule(Action<object?> action, object? state) => engine.ScheduleWithCompletions(action, state);
}
