using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace IoUring;

/// <summary>
/// The requests an engine has in the kernel, by slot. A request's user data is its slot (low 32 bits) and a sequence
/// number (bits 32-62), so a CQE finds its request in O(1) and a late <c>ASYNC_CANCEL</c> aimed at an earlier use of a
/// slot never hits the request that reuses it. Bit 63 is never set: it marks multishot requests and internal tags.
/// Touched only by the thread that owns the ring, except <see cref="Published"/>.
/// </summary>
internal sealed class OperationTable
{
    /// <summary>The request in each slot, or null.</summary>
    private IoOperation?[] _slots = new IoOperation?[64];

    /// <summary>Free slots, a stack: the most recently freed slot is reused first (its line is warm).</summary>
    private int[] _free = new int[64];
    private int _freeCount;

    /// <summary>The sequence number of the last request added (31 bits).</summary>
    private uint _sequence;

    /// <summary>Requests in the table.</summary>
    private int _count;

    /// <summary><see cref="_count"/> as published for other threads (<see cref="IoUringEngine.OperationsInFlight"/>).</summary>
    private int _published;

    public OperationTable()
    {
        for (int i = _slots.Length - 1; i >= 0; i--)
        {
            _free[_freeCount++] = i;
        }
    }

    /// <summary>Requests in the kernel (owner).</summary>
    public int Count => _count;

    /// <summary>Requests in the kernel, a snapshot readable from any thread.</summary>
    public int Published => Volatile.Read(ref _published);

    /// <summary>Slots (in use or not), for a scan at shutdown.</summary>
    public int Capacity => _slots.Length;

    /// <summary>The request in <paramref name="slot"/>, or null (a scan at shutdown).</summary>
    public IoOperation? At(int slot) => _slots[slot];

    /// <summary>Puts <paramref name="op"/> in a free slot and gives it a fresh user data (also stored in the op).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Add(IoOperation op)
    {
        if (_freeCount == 0)
        {
            Grow();
        }

        int slot = _free[--_freeCount];
        _slots[slot] = op;
        _sequence = (_sequence + 1) & 0x7FFF_FFFF;
        ulong userData = ((ulong)_sequence << 32) | (uint)slot;
        op.Slot = slot;
        op.UserData = userData;
        _count++;
        Volatile.Write(ref _published, _count);
        return userData;
    }

    /// <summary>Takes the request whose CQE carries <paramref name="userData"/> out of the table; null for an unknown one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public IoOperation? Remove(ulong userData)
    {
        int slot = (int)(uint)userData;
        IoOperation? op = (uint)slot < (uint)_slots.Length ? _slots[slot] : null;
        if (op is null || op.UserData != userData)
        {
            Debug.Fail($"A CQE for unknown user data {userData:x}.");
            return null;
        }

        _slots[slot] = null;
        _free[_freeCount++] = slot;
        op.Slot = -1;
        _count--;
        Volatile.Write(ref _published, _count);
        return op;
    }

    /// <summary>Empties <paramref name="slot"/> without freeing it: the request is abandoned to the kernel (shutdown).</summary>
    public void Forget(int slot)
    {
        IoOperation? op = _slots[slot];
        if (op is not null)
        {
            _slots[slot] = null;
            op.Slot = -1;
            _count--;
            Volatile.Write(ref _published, _count);
        }
    }

    private void Grow()
    {
        int old = _slots.Length;
        Array.Resize(ref _slots, old * 2);
        Array.Resize(ref _free, old * 2);
        for (int i = (old * 2) - 1; i >= old; i--)
        {
            _free[_freeCount++] = i;
        }
    }
}
