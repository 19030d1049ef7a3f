namespace IoUring;

// The ring an engine creates at start-up: the setup flags it asks for, and the fallbacks when the kernel refuses them.
public sealed partial class IoUringEngine
{
    /// <summary>
    /// A ring that never changes threads asks for SINGLE_ISSUER + DEFER_TASKRUN (6.1+), then COOP_TASKRUN, then a plain
    /// ring. One that may be handed off is plain: with SINGLE_ISSUER only its creator may enter it, and with COOP_TASKRUN a
    /// completion of a request its old owner submitted would wait until that thread, maybe asleep in a continuation,
    /// enters the kernel again; a plain ring wakes that thread to post the completion.
    /// </summary>
    private static Ring CreateRing(IoUringEngineOptions options, int engineId)
    {
        // At least two SQ entries: a request with a deadline and its LINK_TIMEOUT go in together. The CQ (and so the
        // budget of ops in the kernel) still follows QueueEntries.
        uint entries = Math.Max(2u, options.QueueEntries);
        uint cq = options.QueueEntries * 4;
        var attempts = new List<RingOptions>(3);
        if (!options.HandsOff)
        {
            if (options.UseDeferTaskRun)
            {
                // SINGLE_ISSUER binds the ring to the creating thread: this one, the loop.
                attempts.Add(new RingOptions { CqEntries = cq, SingleIssuer = true, DeferTaskRun = true, DisposeDrainTimeout = TimeSpan.FromSeconds(1) });
            }

            attempts.Add(new RingOptions { CqEntries = cq, CoopTaskRun = true, TaskRunFlag = true, DisposeDrainTimeout = TimeSpan.FromSeconds(1) });
        }

        attempts.Add(new RingOptions { CqEntries = cq, DisposeDrainTimeout = TimeSpan.FromSeconds(1) });
        IoUringSetupException? last = null;
        for (int i = 0; i < attempts.Count; i++)
        {
            try
            {
                return new Ring(entries, attempts[i]);
            }
            catch (IoUringSetupException e) when (e.Reason == SetupFailureReason.InvalidArguments)
            {
                last = e;
                if (i + 1 < attempts.Count && IoUringEventSource.Log.IsEnabled())
                {
                    IoUringEventSource.Log.RingSetupFallback(engineId, Describe(attempts[i]), e.Message, Describe(attempts[i + 1]));
                }
            }
        }

        throw last!;
    }

    /// <summary>The setup flags a ring attempt asks for, for <see cref="IoUringEventSource.RingSetupFallback"/>.</summary>
    private static string Describe(RingOptions o) =>
        o.DeferTaskRun ? "SINGLE_ISSUER|DEFER_TASKRUN" : o.CoopTaskRun ? "COOP_TASKRUN|TASKRUN_FLAG" : "no task-run flags";
}
