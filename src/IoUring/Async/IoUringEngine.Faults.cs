using System.Runtime.CompilerServices;

namespace IoUring;

// The test hook on the reaping path (CompletionFaults): only reached while a test has installed an injector.
public sealed partial class IoUringEngine
{
    /// <summary>Hands a reaped CQE on: to <see cref="OnCqe"/>, or through <paramref name="faults"/> while a test has installed one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Deliver(CompletionFaultInjector? faults, in Cqe cqe)
    {
        if (faults is null)
        {
            OnCqe(cqe.UserData, cqe.Res, cqe.Flags);
        }
        else
        {
            OnCqeInjected(faults, cqe);
        }
    }

    /// <summary>Shows <paramref name="cqe"/> to <paramref name="faults"/>, then hands it on as rewritten, or swallows it.</summary>
    private void OnCqeInjected(CompletionFaultInjector faults, in Cqe cqe)
    {
        int res = cqe.Res;
        CqeFlags flags = cqe.Flags;
        if (faults(this, RequestOf(cqe.UserData), cqe.UserData, ref res, ref flags))
        {
            OnCqe(cqe.UserData, res, flags);
        }
    }

    /// <summary>The ordinary or multishot request a CQE's user data names, or null (an internal tag, or unknown).</summary>
    private object? RequestOf(ulong userData)
    {
        int slot = (int)(uint)userData;
        if (userData < MultishotBit)
        {
            IoOperation? op = (uint)slot < (uint)_operations.Capacity ? _operations.At(slot) : null;
            return op is not null && op.UserData == userData ? op : null;
        }

        if (userData >= FirstInternalTag)
        {
            return null;
        }

        MultishotOperation? multishot = (uint)slot < (uint)_multishotSlots.Length ? _multishotSlots[slot] : null;
        return multishot is not null && multishot.UserData == userData ? multishot : null;
    }
}
