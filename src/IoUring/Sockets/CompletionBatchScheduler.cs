using System.IO.Pipelines;

namespace IoUring;

/// <summary>
/// The reader scheduler of a <see cref="UringConnection"/>'s input pipe in <see cref="ContinuationMode.ThreadPool"/>
/// mode. The loop writes received bytes into the pipe and flushes it, which releases the application's pending read;
/// this scheduler puts that continuation into the batch of completions the loop hands to the thread pool next
/// (<see cref="IoUringEngine.ScheduleWithCompletions"/>) instead of queuing a work item of its own. So one pool work
/// item runs the requests of many connections, with the send completions of the same reap, and the sends the
/// application makes there reach the loop as one chain. Allocation-free on the loop; called from any other thread
/// (a cancelled read, say) it queues the continuation to the thread pool.
/// </summary>
internal sealed class CompletionBatchScheduler(IoUringEngine engine) : PipeScheduler
{
    public override void Schedule(Action<object?> action, object? state) => engine.ScheduleWithCompletions(action, state);
}
