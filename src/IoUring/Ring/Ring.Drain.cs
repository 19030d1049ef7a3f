using System.Diagnostics;
using IoUring.Interop;

namespace IoUring;

// The dispose drain: cancel everything in flight and reap until the kernel has given every request back, including
// what a multishot timeout the cancel cannot reach holds up.
public sealed partial class Ring
{
    /// <summary>One round of the drain, in <see cref="Stopwatch"/> ticks (100 ms): the cancel is resent this often.</summary>
    private static readonly long DrainRound = Stopwatch.Frequency / 10;

    private bool DrainInFlight(TimeSpan timeout)
    {
        if (_inFlight <= 0 && _sqeTail == _sqeHead)
        {
            return true;
        }

        try
        {
            // Requests prepared but never submitted are simply abandoned: the kernel never saw them.
            _sqeTail = _sqeHead;
            if (_inFlight <= 0)
            {
                return true;
            }

            // Cancel everything (5.19+: ANY|ALL; older kernels answer -EINVAL and we just wait), and again every
            // 100 ms: a request can start after a cancel passed (one released by a drain or a link), and a slow
            // kernel may not have reached the cancel yet.
            long deadline = DeadlineAfter(timeout);
            long nextCancel = 0;
            int rounds = 0;
            var timerStreams = new TimerStreams();
            while (_inFlight > 0)
            {
                long now = Stopwatch.GetTimestamp();
                if (now >= deadline)
                {
                    return false;
                }

                if (now >= nextCancel)
                {
                    if (rounds > 0 && timerStreams.Count > 0)
                    {
                        if (timerStreams.Count >= _inFlight)
                        {
                            // Everything still in flight is a multishot timeout that kept firing through a whole
                            // round after a cancel: see TimerStreams. It holds no memory of ours, so closing the
                            // ring is safe.
                            _inFlight = 0;
                            return true;
                        }

                        // Other requests wait beside such a timer, perhaps linked behind it: end it by overflow.
                        EndMultishotsByOverflow(deadline);
                    }

                    SubmitCancelEverything();
                    timerStreams.Clear();
                    rounds++;
                    now = Stopwatch.GetTimestamp();
                    nextCancel = now + DrainRound;
                }

                long slice = Math.Min(deadline, nextCancel) - now;
                if (TryWaitCqe(TimeSpan.FromSeconds(Math.Max(1.0, slice) / Stopwatch.Frequency), out Cqe cqe))
                {
                    timerStreams.Note(cqe);
                    CqeSeen(cqe);
                }
            }

            return true;
        }
        catch (IoUringException)
        {
            return false;
        }
        catch (NotSupportedException)
        {
            // No timed wait before 5.11: we cannot prove the kernel is done, so pinned memory stays pinned.
            return false;
        }
    }

    /// <summary>
    /// Ends every multishot request in flight, the multishot timeouts no cancel reaches among them, by letting the CQ
    /// fill up without reaping. A request linked behind a multishot timeout (<c>IOSQE_IO_LINK</c> or
    /// <c>IOSQE_IO_HARDLINK</c> on the timeout) is not issued until the timeout completes for good, and until then it
    /// is on none of the lists ASYNC_CANCEL searches (io-wq, poll, timeouts): only its link head knows it. With no
    /// repeat count that timeout never completes by itself, and when its period is shorter than the gap between two
    /// <c>io_uring_enter</c> calls the cancel misses it (see <see cref="TimerStreams"/>), so the linked request would
    /// wait for ever (Ring fuzz seeds 59 and 61 of issue 16 on <c>DEFER_TASKRUN</c> rings: a splice and a read, and a
    /// statx, linked behind such a timer). But a multishot request posts a CQE with <see cref="CqeFlags.More"/> only while the
    /// CQ has room and nothing waits in the overflow list (io_req_post_cqe fails otherwise); a multishot timeout whose
    /// post failed does not re-arm but completes with its final CQE, which goes to the overflow list
    /// (io_timeout_complete). That final completion issues the requests linked behind it, or fails them with
    /// <c>-ECANCELED</c> (without <c>IORING_TIMEOUT_ETIME_SUCCESS</c> the timer's <c>-ETIME</c> counts as a failure):
    /// either way they complete normally, and the drain reaps them (and flushes the overflow list) as usual.
    /// The CQ is first filled to one short of full with NOPs: left to the timers, a large CQ fills at their pace (Ring
    /// fuzz seed 9 of the final sweep: a timer firing every ~20 ms had posted 4,320 CQEs into an 8,192-entry CQ after
    /// 90 s, and the watchdog called the dispose a hang). The last slot is left to the timers, so the CQE that finds no
    /// room is a timer's own post, which ends it; a NOP overflowing instead would not.
    /// Returns when the overflow list holds something, at the deadline, or when the CQ stopped growing for a round
    /// (nothing is firing any more).
    /// </summary>
    private void EndMultishotsByOverflow(long deadline)
    {
        uint entries = _cq.Entries;
        uint lastReady = uint.MaxValue;
        long lastGrowth = 0;
        bool filled = false;
        while (!IsCqOverflowPending)
        {
            long now = Stopwatch.GetTimestamp();
            uint ready = CqReady;
            if (!filled)
            {
                filled = true;
                if (ready + 1 < entries)
                {
                    SubmitNops(entries - 1 - ready);
                    continue;
                }
            }

            if (ready != lastReady)
            {
                lastReady = ready;
                lastGrowth = now;
            }
            else if (now - lastGrowth >= DrainRound)
            {
                return;
            }

            if (now >= deadline)
            {
                return;
            }

            if (ready < entries)
            {
                // The kernel runs the timers' task work while we wait (on DEFER_TASKRUN rings only then), each run
                // posting a CQE and re-arming, until the CQ is full.
                long slice = Math.Min(deadline - now, DrainRound);
                _ = WaitCqes(entries, TimeSpan.FromSeconds((double)slice / Stopwatch.Frequency), TimeSpan.Zero);
            }
            else
            {
                // Full: the next run of a timer's task work finds no room and completes it. A GETEVENTS enter runs
                // the pending task work; if the timer has not fired again yet, try again a moment later.
                EnterGetEvents(0);
                if (!IsCqOverflowPending)
                {
                    Thread.Sleep(1);
                }
            }
        }
    }

    /// <summary>
    /// Submits <paramref name="count"/> NOPs (as many per <c>io_uring_enter</c> as the SQ holds), each of which posts
    /// one CQE. The SQEs are written field by field, as in <see cref="SubmitCancelEverything"/>: a zeroed SQE is a NOP.
    /// Stops early if the kernel pushes back (<c>EBUSY</c>/<c>EAGAIN</c>): the drain's next round tries again.
    /// </summary>
    private void SubmitNops(uint count)
    {
        try
        {
            while (count > 0)
            {
                uint batch = Math.Min(count, SqSpaceLeft);
                if (batch == 0)
                {
                    return;
                }

                for (uint i = 0; i < batch; i++)
                {
                    ref Sqe sqe = ref GetSqe();
                    sqe.Opcode = Opcode.Nop;
                    sqe.UserData = ulong.MaxValue;
                }

                count -= batch;
                for (int round = 0; round <= _sqEntries && SqReady > 0; round++)
                {
                    if (Submit() == 0 && !_sqPoll)
                    {
                        return;
                    }
                }
            }
        }
        catch (IoUringException)
        {
            // Completions are backed up: whatever was submitted counts; the drain goes on from there.
        }
    }

    /// <summary>
    /// The user data of multishot timeouts seen firing during one round of the dispose drain. A multishot timeout
    /// with a short period (<c>IORING_TIMEOUT_MULTISHOT</c>, no repeat count) cannot be cancelled reliably: the kernel
    /// takes it off its timeout list when the timer fires and puts it back only when the task work that posts the
    /// CQE re-arms it (io_timeout_fn / io_timeout_complete), and ASYNC_CANCEL and TIMEOUT_REMOVE look only at that
    /// list, so with a period shorter than the time between two io_uring_enter calls the cancel nearly always
    /// misses it (-ENOENT) and the timer fires forever. Its CQEs are recognisable (<c>-ETIME</c> with
    /// <see cref="CqeFlags.More"/>: no other request posts that), and it references no user memory once submitted
    /// (the kernel copied its timespec at prep), so once every request still in flight is such a stream the drain
    /// ends and the ring is closed; the kernel's ring teardown kills the timer. When other requests are left beside
    /// it, the drain ends the timer first (<see cref="EndMultishotsByOverflow"/>), since they may be linked behind it.
    /// </summary>
    private sealed class TimerStreams
    {
        private readonly HashSet<ulong> _userData = [];

        /// <summary>How many distinct multishot timeouts fired since <see cref="Clear"/>.</summary>
        public int Count => _userData.Count;

        public void Note(in Cqe cqe)
        {
            if (cqe.Res == -Errno.ETIME && (cqe.Flags & CqeFlags.More) != 0)
            {
                _ = _userData.Add(cqe.UserData);
            }
        }

        public void Clear() => _userData.Clear();
    }

    /// <summary>
    /// Queues an ASYNC_CANCEL(ANY|ALL) and submits until the kernel has consumed the whole SQ. One Submit is not
    /// enough: after a partial submit the SQ still holds published SQEs, the cancel sits behind them, and the kernel
    /// stops each batch at the first SQE that fails to start.
    /// </summary>
    private void SubmitCancelEverything()
    {
        try
        {
            for (int round = 0; round <= _sqEntries && SqSpaceLeft == 0; round++)
            {
                _ = Submit();
            }

            if (SqSpaceLeft > 0)
            {
                // IORING_OP_ASYNC_CANCEL with ANY | ALL, what Sqe.PrepCancelAny prepares: written field by field because
                // the ring core sits below the Preps layer. The SQE comes zeroed from GetSqe.
                ref Sqe sqe = ref GetSqe();
                sqe.Opcode = Opcode.AsyncCancel;
                sqe.Fd = -1;
                sqe.CancelFlags = AsyncCancelFlags.Any | AsyncCancelFlags.All;
                sqe.UserData = ulong.MaxValue;
            }

            for (int round = 0; round <= _sqEntries && SqReady > 0; round++)
            {
                if (Submit() == 0 && !_sqPoll)
                {
                    break;
                }
            }
        }
        catch (IoUringException)
        {
            // EBUSY/EAGAIN: completions are backed up. Reaping below makes room; the next round submits again.
        }
    }
}
