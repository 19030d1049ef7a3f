using System.Runtime.ExceptionServices;

namespace IoUring;

/// <summary>
/// Runs one item of a list of completions kept as parallel arrays (<see cref="ReadyList"/> for inline continuations,
/// <see cref="CompletionDispatch"/> for thread-pool batches): an operation's result, or a scheduled callback.
/// </summary>
internal static class CompletionItems
{
    /// <summary>
    /// Completes the operation at <paramref name="i"/> with its result, or runs the callback there, and clears the
    /// slot. A continuation that throws (only a custom consumer of the <c>IValueTaskSource</c>, or a throwing pipe
    /// callback, can) is surfaced like an unhandled exception in an async void method, without losing the other items.
    /// </summary>
    public static void Run(IoOperation?[] ops, long[] results, Action<object?>?[] callbacks, object?[] states, int i)
    {
        try
        {
            IoOperation? op = ops[i];
            if (op is not null)
            {
                ops[i] = null;
                op.Complete(results[i]);
            }
            else
            {
                Action<object?> callback = callbacks[i]!;
                object? state = states[i];
                callbacks[i] = null;
                states[i] = null;
                callback(state);
            }
        }
        catch (Exception e)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static state => ExceptionDispatchInfo.Throw((Exception)state!), e);
        }
    }
}
