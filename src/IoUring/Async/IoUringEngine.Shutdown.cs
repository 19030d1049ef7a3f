using System.Diagnostics;
using IoUring.Interop;

namespace IoUring;

// Stopping: refuse new requests, cancel what the kernel holds, wait (up to DisposeTimeout) for it to give everything
// back, and keep pinned forever whatever it does not. Runs on the ring's last owner.
public sealed partial class IoUringEngine
{
    /// <summary>Operations the kernel still held when the engine stopped (pinned forever).</summary>
    private int _abandoned;

    private void Shutdown()
    {
        // From here completions go to the thread pool: a continuation that blocks must not hold up the drain, and the
        // ring is not handed off any more.
        _stopping = true;
        if (_options.HandsOff)
        {
            EngineMonitor.Unregister(this);
        }

        _deferred.Close(_ready);
        if (_ready.Count > 0)
        {
            // A fault in the middle of a pass left completions unrun, or continuations deferred callbacks to the next
            // pass: they run on a pool thread.
            ThreadPool.UnsafeQueueUserWorkItem(static list => list.Run(), _ready, preferLocal: false);
            _ready = new ReadyList(1);
        }

        // 1. No more submissions: close the queue. Ops taken now never reach the kernel.
        IoOperation? queued = _submissions.Close(out IoOperation? newest);
        if (queued is not null)
        {
            AppendChain(queued, newest!);
        }

        // Requests still in running batches' lists: _state is no longer Running, so a batch that pushes after this
        // publishes at once and finds the queue closed.
        _ = TakeDispatchLists(stalledOnly: false);

        CloseMultishotStack();
        CompletePendingUnsubmitted();
        FlushDispatch();

        // 2. Cancel what the kernel holds, and 3. reap until it has given everything back, or the time is up.
        bool drained = true;
        try
        {
            drained = CancelAndDrain();
        }
        catch (Exception e)
        {
            Fault ??= e;
            drained = false;
        }

        // A write whose CQE reported a short count during the drain was queued again for the rest; it never goes out.
        CompletePendingUnsubmitted();
        FlushDispatch();

        // 4. Whatever the kernel still holds keeps its pins (and its op) reachable forever: a bounded leak, never a
        // write into memory that was handed back. Ops the kernel only reads from (sends, writes) or whose memory is
        // the library's own fail with ECANCELED (ObjectDisposedException), so nobody waits for them forever; a read
        // into the caller's buffer never completes, since completing it would hand the buffer back.
        if (!drained && IoUringEventSource.Log.IsEnabled())
        {
            IoUringEventSource.Log.DisposeDrainTimedOut(Id, _kernelInFlight, _options.DisposeTimeout.TotalSeconds);
        }

        int abandoned = 0;
        for (int i = 0; i < _operations.Capacity; i++)
        {
            if (_operations.At(i) is IoOperation op)
            {
                _operations.Forget(i);
                PinnedForever.Keep(op);
                Interlocked.Increment(ref _abandoned);
                abandoned++;
                if (op.GiveUpAtShutdown())
                {
                    CompleteOp(op, -Errno.ECANCELED);
                }
            }
        }

        FlushDispatch();
        if (abandoned > 0)
        {
            IoUringEventSource.Log.OperationsAbandoned(Id, abandoned);
        }

        StopMultishot();
        bool wakeArmed = _wakeArmed;
        Counters.CqOverflow = _ring.CqOverflow;
        try
        {
            _ring.Dispose();
        }
        catch (Exception e)
        {
            Fault ??= e;
        }

        // Registered buffers are freed once every one is given back, unless the kernel may still write into them.
        _registeredBuffers?.OnEngineStopped(kernelDone: drained);
        if (wakeArmed || !drained)
        {
            PinnedForever.Keep(_wakeBuffer!);
        }
        else
        {
            _wakeBuffer!.Dispose();
        }

        // Closes the eventfd once no submitter is in the middle of writing to it.
        _submissions.DisposeWakeHandle();
        IoUringMetrics.Unregister(this, abandoned);
        if (IoUringEventSource.Log.IsEnabled())
        {
            IoUringEventSource.Log.EngineStopped(Id, drained, abandoned);
        }

        Volatile.Write(ref _state, StateStopped);
        _stopped.TrySetResult();
    }

    /// <summary>
    /// Completes every op of the pending list without submitting it: the engine is stopping. A CLOSE still closes its
    /// descriptor here (the caller's handle gave it up when the close was queued, so nobody else would); every other
    /// op fails with <c>ECANCELED</c> (<see cref="ObjectDisposedException"/> for the caller).
    /// </summary>
    private void CompletePendingUnsubmitted()
    {
        IoOperation? pending = _pendingHead;
        _pendingHead = _pendingTail = null;
        while (pending is not null)
        {
            IoOperation? next = pending.NextSubmit;
            pending.NextSubmit = null;
            CompleteOp(pending, pending.Kind == OpKind.Close ? Libc.Close(pending.Template.Fd) : -Errno.ECANCELED);
            pending = next;
        }
    }

    private bool CancelAndDrain()
    {
        if (_kernelInFlight == 0)
        {
            return true;
        }

        bool perOp = false;
        bool anyPending = true;
        QueueCancelAny();

        long deadline = DrainDeadline(_options.DisposeTimeout);
        while (_kernelInFlight > 0)
        {
            SubmitOnly();
            long left = deadline - Stopwatch.GetTimestamp();
            if (left <= 0)
            {
                return false;
            }

            // Wait in slices of at most a second, so an infinite (or huge) timeout never overflows a TimeSpan.
            double slice = Math.Min(1.0, (double)left / Stopwatch.Frequency);
            if (!_ring.TryWaitCqe(TimeSpan.FromSeconds(slice), out _))
            {
                // A slice went by without any completion. A request that was running when the first cancel came
                // (-EALREADY: a send blocked in an io-wq worker, say) may be cancellable now: ask again.
                if (!anyPending && !perOp)
                {
                    QueueCancelAny();
                    anyPending = true;
                }
            }
            else
            {
                CompletionBatch batch = _ring.ReadyCqes;
                uint count = batch.Count;
                CompletionFaultInjector? faults = CompletionFaults.Injector;
                foreach (ref readonly Cqe cqe in batch)
                {
                    if (cqe.UserData == CancelAnyTag)
                    {
                        _kernelInFlight--;
                        anyPending = false;
                        // Kernels before 5.19 know no IORING_ASYNC_CANCEL_ANY: cancel one by one instead.
                        perOp |= cqe.Res == -Errno.EINVAL;
                    }
                    else
                    {
                        Deliver(faults, cqe);
                    }
                }

                _ring.CqAdvance(count);
                FlushDispatch();
            }

            if (perOp)
            {
                perOp = false;
                CancelEachInFlight();
            }
        }

        return true;
    }

    /// <summary>Queues an <c>ASYNC_CANCEL</c> of every request in the kernel (<c>ANY | ALL</c>, 5.19+).</summary>
    private void QueueCancelAny()
    {
        ref Sqe sqe = ref GetInternalSqe();
        sqe.PrepCancelAny();
        sqe.UserData = CancelAnyTag;
        _kernelInFlight++;
    }

    /// <summary>
    /// The Stopwatch timestamp at which the drain gives up: <see cref="Timeout.InfiniteTimeSpan"/> and timeouts too large
    /// to add to the clock mean never. (A plain sum overflowed for <see cref="TimeSpan.MaxValue"/> and made the drain give
    /// up at once, abandoning every operation.)
    /// </summary>
    internal static long DrainDeadline(TimeSpan timeout)
    {
        if (timeout == Timeout.InfiniteTimeSpan)
        {
            return long.MaxValue;
        }

        long now = Stopwatch.GetTimestamp();
        double ticks = timeout.TotalSeconds * Stopwatch.Frequency;
        return ticks >= long.MaxValue - now ? long.MaxValue : now + (long)ticks;
    }

    private void CancelEachInFlight()
    {
        CancelEachMultishot();
        for (int i = 0; i < _operations.Capacity; i++)
        {
            if (_operations.At(i) is IoOperation op)
            {
                QueueCancel(op.UserData);
            }
        }

        if (_wakeArmed)
        {
            QueueCancel(WakeTag);
        }
    }
}
