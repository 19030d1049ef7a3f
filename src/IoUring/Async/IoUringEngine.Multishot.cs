using System.Diagnostics;
using System.Runtime.ExceptionServices;
using IoUring.Interop;

namespace IoUring;

// Multishot requests (MultishotOperation): one SQE, many CQEs. Their user data has the top bit set (ordinary ops never
// do) and indexes a table of their own, so the ordinary op path pays nothing for them. Everything but QueueMultishot
// runs on the ring's owner.
public sealed partial class IoUringEngine
{
    /// <summary>Set in the user data of every multishot request (and of the internal tags above them).</summary>
    private const ulong MultishotBit = 1UL << 63;

    /// <summary>Head of the lock-free stack of multishot ops waiting to be reconciled by the loop.</summary>
    private MultishotOperation? _multishotHead;

    private readonly MultishotOperation _multishotClosed = new ClosedSentinel();

    private MultishotOperation?[] _multishotSlots = new MultishotOperation?[16];
    private int[] _multishotFree = [15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0];
    private int _multishotFreeCount = 16;
    private uint _multishotSequence;

    /// <summary>Ops the loop has seen and not yet closed, so a stopping engine can tell each of them (loop).</summary>
    private MultishotOperation? _liveHead;

    /// <summary>The ring, for code that runs on the loop thread (multishot callbacks).</summary>
    internal Ring LoopRing
    {
        get
        {
            Debug.Assert(IsOnLoopThread, "The ring is touched by the loop thread only.");
            return _ring;
        }
    }

    /// <summary>Queues <paramref name="op"/> for the loop to reconcile. Lock-free; callable from any thread.</summary>
    /// <returns>False when the engine has stopped.</returns>
    internal bool QueueMultishot(MultishotOperation op)
    {
        if (Interlocked.Exchange(ref op.RequestQueued, 1) != 0)
        {
            // Already queued: the loop reads the op's wishes after it takes it, so it sees this one too.
            return !ReferenceEquals(Volatile.Read(ref _multishotHead), _multishotClosed);
        }

        MultishotOperation? head = Volatile.Read(ref _multishotHead);
        while (true)
        {
            if (ReferenceEquals(head, _multishotClosed))
            {
                Volatile.Write(ref op.RequestQueued, 0);
                if (Volatile.Read(ref op.EverQueued) == 0)
                {
                    // The loop never saw the op, so the kernel never held it: tell it here.
                    op.NotifyEngineStopped(stillInKernel: false);
                }

                return false;
            }

            op.NextRequest = head;
            MultishotOperation? seen = Interlocked.CompareExchange(ref _multishotHead, op, head);
            if (ReferenceEquals(seen, head))
            {
                break;
            }

            head = seen;
        }

        Volatile.Write(ref op.EverQueued, 1);
        _submissions.WakeIfParked();
        return true;
    }

    /// <summary>Takes the request stack and reconciles each op with what the kernel holds.</summary>
    private void TakeMultishot()
    {
        if (Volatile.Read(ref _multishotHead) is null)
        {
            return;
        }

        MultishotOperation? list = Interlocked.Exchange(ref _multishotHead, null);
        while (list is not null)
        {
            MultishotOperation op = list;
            list = op.NextRequest;
            op.NextRequest = null;
            // Reset first (full fence), then read the wishes: a wish made after this pushes the op again.
            Interlocked.Exchange(ref op.RequestQueued, 0);
            if (op.ClosedNotified)
            {
                continue;
            }

            RegisterLive(op);
            try
            {
                op.OnReconcile();
            }
            catch (Exception e)
            {
                SurfaceCallbackError(e);
            }

            Reconcile(op);
        }
    }

    private void Reconcile(MultishotOperation op)
    {
        if (op.ClosedNotified)
        {
            return;
        }

        if (op.WantsArmed)
        {
            if (op.Slot < 0 && Volatile.Read(ref _state) == StateRunning)
            {
                SubmitMultishot(op);
            }

            return;
        }

        if (op.Slot >= 0)
        {
            if (!op.CancelIssued)
            {
                op.CancelIssued = true;
                QueueCancel(op.UserData);
            }

            return;
        }

        if (op.IsClosing)
        {
            op.ClosedNotified = true;
            UnregisterLive(op);
            try
            {
                op.OnClosed();
            }
            catch (Exception e)
            {
                SurfaceCallbackError(e);
            }
        }
    }

    private void SubmitMultishot(MultishotOperation op)
    {
        Sqe prepared = default;
        bool go;
        try
        {
            go = op.PrepareSqe(ref prepared);
        }
        catch (Exception e)
        {
            SurfaceCallbackError(e);
            go = false;
        }

        if (!go)
        {
            return;
        }

        if (_multishotFreeCount == 0)
        {
            int old = _multishotSlots.Length;
            Array.Resize(ref _multishotSlots, old * 2);
            Array.Resize(ref _multishotFree, old * 2);
            for (int i = (old * 2) - 1; i >= old; i--)
            {
                _multishotFree[_multishotFreeCount++] = i;
            }
        }

        int slot = _multishotFree[--_multishotFreeCount];
        _multishotSlots[slot] = op;
        _multishotSequence = (_multishotSequence + 1) & 0x7FFF_FFFF;
        ulong userData = MultishotBit | ((ulong)_multishotSequence << 32) | (uint)slot;
        op.Slot = slot;
        op.UserData = userData;
        op.CancelIssued = false;
        ref Sqe sqe = ref GetInternalSqe();
        sqe = prepared;
        sqe.UserData = userData;
        _kernelInFlight++;
    }

    /// <summary>A CQE whose user data has <see cref="MultishotBit"/> set (and is not an internal tag).</summary>
    private void OnMultishotCqe(ulong userData, int res, CqeFlags flags)
    {
        int slot = (int)(uint)userData;
        MultishotOperation? op = (uint)slot < (uint)_multishotSlots.Length ? _multishotSlots[slot] : null;
        if (op is null || op.UserData != userData)
        {
            // A zero-copy send that failed at prep may post a notification after its final CQE (a kernel quirk, see
            // docs/reliability.md): nothing waits for it.
            Debug.Assert((flags & CqeFlags.Notif) != 0, $"A CQE for unknown multishot user data {userData:x}.");
            return;
        }

        bool final = (flags & CqeFlags.More) == 0;
        if (final)
        {
            _multishotSlots[slot] = null;
            _multishotFree[_multishotFreeCount++] = slot;
            op.Slot = -1;
            op.CancelIssued = false;
            _kernelInFlight--;
        }

        try
        {
            op.OnCqe(res, flags);
        }
        catch (Exception e)
        {
            SurfaceCallbackError(e);
        }

        if (final && (op.WantsArmed || op.IsClosing))
        {
            // Re-arm (the kernel ended it early, or it is a re-armed single shot) or finish closing: through the
            // stack, so that no SQE is taken while the loop is in the middle of a batch of CQEs.
            _ = QueueMultishot(op);
        }
    }

    private static void SurfaceCallbackError(Exception e) =>
        ThreadPool.UnsafeQueueUserWorkItem(static state => ExceptionDispatchInfo.Throw((Exception)state!), e);

    private void RegisterLive(MultishotOperation op)
    {
        if (op.Registered)
        {
            return;
        }

        op.Registered = true;
        op.LivePrev = null;
        op.LiveNext = _liveHead;
        if (_liveHead is not null)
        {
            _liveHead.LivePrev = op;
        }

        _liveHead = op;
    }

    private void UnregisterLive(MultishotOperation op)
    {
        if (!op.Registered)
        {
            return;
        }

        op.Registered = false;
        if (op.LivePrev is not null)
        {
            op.LivePrev.LiveNext = op.LiveNext;
        }
        else
        {
            _liveHead = op.LiveNext;
        }

        if (op.LiveNext is not null)
        {
            op.LiveNext.LivePrev = op.LivePrev;
        }

        op.LivePrev = op.LiveNext = null;
    }

    /// <summary>Shutdown, step 1: closes the request stack; ops still in it become live so the last step tells them.</summary>
    private void CloseMultishotStack()
    {
        MultishotOperation? list = Interlocked.Exchange(ref _multishotHead, _multishotClosed);
        while (list is not null)
        {
            MultishotOperation next = list.NextRequest!;
            list.NextRequest = null;
            Volatile.Write(ref list.RequestQueued, 0);
            if (!list.ClosedNotified)
            {
                RegisterLive(list);
            }

            list = next;
        }
    }

    /// <summary>Shutdown (per-op cancel path): cancels every multishot request the kernel holds.</summary>
    private void CancelEachMultishot()
    {
        for (int i = 0; i < _multishotSlots.Length; i++)
        {
            if (_multishotSlots[i] is MultishotOperation op)
            {
                QueueCancel(op.UserData);
            }
        }
    }

    /// <summary>Shutdown, last step: tells every live op the engine stopped; one the kernel still holds stays pinned forever.</summary>
    private void StopMultishot()
    {
        MultishotOperation? op = _liveHead;
        _liveHead = null;
        while (op is not null)
        {
            MultishotOperation? next = op.LiveNext;
            op.LivePrev = op.LiveNext = null;
            op.Registered = false;
            bool held = op.Slot >= 0;
            if (held)
            {
                _multishotSlots[op.Slot] = null;
                PinnedForever.Keep(op);
                Interlocked.Increment(ref _abandoned);
            }

            try
            {
                op.NotifyEngineStopped(held);
            }
            catch (Exception e)
            {
                SurfaceCallbackError(e);
            }

            op = next;
        }
    }

    private sealed class ClosedSentinel() : MultishotOperation(null!)
    {
        protected internal override bool PrepareSqe(ref Sqe sqe) => false;

        protected internal override void OnCqe(int res, CqeFlags flags)
        {
        }

        protected internal override void OnClosed()
        {
        }

        protected internal override void OnEngineStopped(bool stillInKernel)
        {
        }
    }
}
