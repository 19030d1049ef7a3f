using IoUring.Interop;
using Microsoft.Win32.SafeHandles;

namespace IoUring;

/// <summary>
/// An engine's inbox: requests and cancellations pushed by any thread and taken, all at once, by the thread that owns
/// the ring. Two lock-free stacks (one CAS per push, one exchange per take), the owner's "parked" flag, and the eventfd
/// that wakes a parked owner.
/// </summary>
/// <remarks>
/// <para><b>No lost wake-up.</b> A pusher links its request first (a CAS: a full fence) and reads the parked flag second;
/// the owner sets the flag first (an exchange: a full fence) and looks at the stacks once more second. So either the
/// owner sees the request and does not park, or the pusher sees the flag and writes the eventfd (Dekker).</para>
/// <para><b>Closing.</b> At shutdown the owner swaps a sentinel into both stacks: later pushes are refused, and the
/// owner completes whatever it took without submitting it.</para>
/// </remarks>
internal sealed class SubmissionQueue
{
    /// <summary>Marks both stacks as closed once the engine has shut down.</summary>
    private readonly IoOperation _closed;

    /// <summary>Head of the stack of requests not yet taken by the owner, newest first.</summary>
    private IoOperation? _head;

    /// <summary>Head of the stack of requests whose token was cancelled, linked through <see cref="IoOperation.NextCancel"/>.</summary>
    private IoOperation? _cancelHead;

    /// <summary>1 while the owner is (about to be) blocked in the kernel and needs an eventfd write to wake up.</summary>
    private int _parked;

    /// <summary>The eventfd pushers write to; ref-counted so a late waker never writes to a reused descriptor.</summary>
    private SafeFileHandle? _wakeHandle;

    /// <summary>Eventfd writes made so far.</summary>
    private long _wakeups;

    public SubmissionQueue(IoOperation closedSentinel) => _closed = closedSentinel;

    /// <summary>Times a pusher had to wake the parked owner with an eventfd write.</summary>
    public long Wakeups => Interlocked.Read(ref _wakeups);

    /// <summary>True when a request or a cancellation is waiting (read racily by the owner).</summary>
    public bool HasWork
    {
        get
        {
            IoOperation? head = Volatile.Read(ref _head);
            IoOperation? cancels = Volatile.Read(ref _cancelHead);
            return (head is not null && !ReferenceEquals(head, _closed)) || (cancels is not null && !ReferenceEquals(cancels, _closed));
        }
    }

    /// <summary>True once <see cref="Close"/> has run.</summary>
    public bool IsClosed => ReferenceEquals(Volatile.Read(ref _head), _closed);

    /// <summary>Gives the queue the eventfd the owner keeps a read armed on (set once, at start-up).</summary>
    public void AttachWakeHandle(SafeFileHandle handle) => _wakeHandle = handle;

    /// <summary>Closes the eventfd once no pusher is in the middle of writing to it (shutdown, last step).</summary>
    public void DisposeWakeHandle() => _wakeHandle?.Dispose();

    /// <summary>Pushes one request and wakes the owner if it is parked. False once the queue is closed.</summary>
    public bool TryPush(IoOperation op)
    {
        if (!TryLink(op, op))
        {
            return false;
        }

        // The CAS in the link is a full fence, so this read cannot move before it (see the remarks).
        WakeIfParked();
        return true;
    }

    /// <summary>
    /// Links the chain <paramref name="newest"/>..<paramref name="oldest"/> (by <see cref="IoOperation.NextSubmit"/>) with
    /// one successful CAS and wakes the owner at most once. False, without linking, once the queue is closed.
    /// </summary>
    public bool TryPushChain(IoOperation newest, IoOperation oldest)
    {
        if (!TryLink(newest, oldest))
        {
            return false;
        }

        WakeIfParked();
        return true;
    }

    private bool TryLink(IoOperation newest, IoOperation oldest)
    {
        IoOperation? head = Volatile.Read(ref _head);
        while (true)
        {
            if (ReferenceEquals(head, _closed))
            {
                return false;
            }

            oldest.NextSubmit = head;
            IoOperation? seen = Interlocked.CompareExchange(ref _head, newest, head);
            if (ReferenceEquals(seen, head))
            {
                return true;
            }

            head = seen;
        }
    }

    /// <summary>Pushes a request whose token was cancelled. Ignored once the queue is closed (shutdown cancels everything).</summary>
    public void PushCancel(IoOperation op)
    {
        IoOperation? head = Volatile.Read(ref _cancelHead);
        while (true)
        {
            if (ReferenceEquals(head, _closed))
            {
                return;
            }

            op.NextCancel = head;
            IoOperation? seen = Interlocked.CompareExchange(ref _cancelHead, op, head);
            if (ReferenceEquals(seen, head))
            {
                break;
            }

            head = seen;
        }

        WakeIfParked();
    }

    /// <summary>Takes every request pushed so far, oldest first (the stack is LIFO, so it is reversed); null when none (owner).</summary>
    public IoOperation? TakeAll(out IoOperation? newest)
    {
        newest = null;
        IoOperation? head = Volatile.Read(ref _head);
        if (head is null || ReferenceEquals(head, _closed))
        {
            return null;
        }

        IoOperation? list = Interlocked.Exchange(ref _head, null);
        newest = list;
        return Reverse(list);
    }

    /// <summary>Takes the cancellation stack, newest first, linked through <see cref="IoOperation.NextCancel"/>; null when none (owner).</summary>
    public IoOperation? TakeCancels()
    {
        IoOperation? head = Volatile.Read(ref _cancelHead);
        return head is null || ReferenceEquals(head, _closed) ? null : Interlocked.Exchange(ref _cancelHead, null);
    }

    /// <summary>
    /// Closes both stacks for good: later pushes are refused. Returns the requests still queued, oldest first, for the
    /// owner to complete without submitting; pending cancellations are dropped (shutdown cancels everything).
    /// </summary>
    public IoOperation? Close(out IoOperation? newest)
    {
        IoOperation? list = Interlocked.Exchange(ref _head, _closed);
        IoOperation? cancels = Interlocked.Exchange(ref _cancelHead, _closed);
        while (cancels is not null && !ReferenceEquals(cancels, _closed))
        {
            IoOperation next = cancels.NextCancel!;
            cancels.NextCancel = null;
            Volatile.Write(ref cancels.CancelQueued, 0);
            cancels = next;
        }

        if (ReferenceEquals(list, _closed))
        {
            newest = null;
            return null;
        }

        newest = list;
        return Reverse(list);
    }

    private static IoOperation? Reverse(IoOperation? list)
    {
        IoOperation? reversed = null;
        while (list is not null)
        {
            IoOperation? next = list.NextSubmit;
            list.NextSubmit = reversed;
            reversed = list;
            list = next;
        }

        return reversed;
    }

    /// <summary>Announces that the owner is about to block in the kernel (a full fence; see the remarks).</summary>
    public void Park() => Interlocked.Exchange(ref _parked, 1);

    /// <summary>The owner is running again (or did not park after all).</summary>
    public void Unpark() => Volatile.Write(ref _parked, 0);

    /// <summary>True while the owner is parked in the kernel.</summary>
    public bool IsParked => Volatile.Read(ref _parked) != 0;

    /// <summary>Writes the eventfd if the owner is parked; the first pusher to see the flag clears it, so one write wakes it.</summary>
    public void WakeIfParked()
    {
        if (Volatile.Read(ref _parked) != 0 && Interlocked.Exchange(ref _parked, 0) != 0)
        {
            Wake();
        }
    }

    /// <summary>Writes the eventfd unconditionally (a stop request).</summary>
    public void Wake()
    {
        SafeFileHandle? h = Volatile.Read(ref _wakeHandle);
        if (h is null)
        {
            return;
        }

        bool added = false;
        try
        {
            // The reference keeps the eventfd open (and its number unused by anything else) until the write is done.
            h.DangerousAddRef(ref added);
            _ = Libc.EventFdWrite((int)h.DangerousGetHandle(), 1);
            Interlocked.Increment(ref _wakeups);
        }
        catch (ObjectDisposedException)
        {
            // The owner already shut down; there is nobody to wake.
        }
        finally
        {
            if (added)
            {
                h.DangerousRelease();
            }
        }
    }
}
