namespace IoUring;

// Reads served from the page cache on the loop thread, without a request. A continuation that runs alone in its phase
// (the engine has nothing else in the kernel, nothing waiting to be submitted, no other continuation of this pass to
// run) and asks for a file read would otherwise send one SQE, enter the kernel to submit it, reap its CQE and start a
// new continuation phase: the io_uring round trip of a queue depth of one. A non-blocking preadv2 (RWF_NOWAIT) on the
// spot does the same copy with one system call and completes synchronously. The files layer makes the call
// (UringFile.ReadAsync); this part only says when the loop can afford it and counts what it did.
public sealed partial class IoUringEngine
{
    /// <summary>
    /// Most reads one continuation phase may serve on the spot before a read goes through the ring again: a chain of
    /// cache hits then still gives the loop a pass (requests from other threads, the hand-off monitor's progress) every
    /// few tens of microseconds, as a cooperative scheduler's budget does.
    /// </summary>
    private const int InlineReadBudget = 32;

    /// <summary>
    /// Reads the continuation phase under way may still serve on the spot (owner): set when the owner enters a phase
    /// whose single continuation finds the engine otherwise idle, 0 outside such a phase.
    /// </summary>
    private int _inlineReads;

    /// <summary>Reads served on the spot so far (any thread reads; the owner writes).</summary>
    internal long InlineReads => Volatile.Read(ref Counters.InlineReads);

    /// <summary>
    /// Called by the owner as it enters a continuation phase with <paramref name="continuations"/> items: the phase may
    /// serve reads on the spot only when its one continuation would otherwise leave the ring with nothing but the wake
    /// read in the kernel.
    /// </summary>
    private void OpenInlineReads(int continuations) =>
        _inlineReads = continuations == 1 && _pendingHead is null && _kernelInFlight == (_wakeArmed ? 1 : 0) && !_stopping
            ? InlineReadBudget
            : 0;

    /// <summary>
    /// True when the calling thread is this engine's loop thread in a continuation phase that may serve one more read
    /// on the spot (and takes that read from the phase's budget); false means: send the read through the ring. Nothing
    /// of the ring is touched, so a stale answer after a hand-off only means the old owner's thread does one
    /// non-blocking read itself.
    /// </summary>
    internal bool TryTakeInlineRead()
    {
        if (t_loopEngine != this || _inlineReads <= 0 || _submissions.HasWork || _deferred.HasAny)
        {
            return false;
        }

        _inlineReads--;
        return true;
    }

    /// <summary>Counts a read of <paramref name="bytes"/> served on the spot like a completed read request (metrics, events).</summary>
    internal void CountInlineRead(int bytes)
    {
        Counters.CountCompletion(OpKind.Read, bytes);
        Counters.InlineReads++;
    }
}
