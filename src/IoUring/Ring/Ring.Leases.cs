using System.Runtime.CompilerServices;
using IoUring.Interop;

namespace IoUring;

/// <summary>
/// References that requests hold on <see cref="NativeBuffer"/> memory: an SQE prepared with a <see cref="NativeBuffer"/>
/// overload takes one (kept per SQ slot until the SQE is submitted, then by user data until its final CQE is reaped),
/// so a buffer disposed while the kernel may still use it lives on until that CQE. Costs nothing to rings that never
/// see such an SQE: one compare of a counter where SQEs are published and where CQEs are released.
/// </summary>
public sealed partial class Ring
{
    /// <summary>Live rings, to find the one an SQE belongs to (copy-on-write; read without a lock).</summary>
    private static Ring[] s_live = [];

    /// <summary>Guards writers of <see cref="s_live"/>.</summary>
    private static readonly object s_liveGate = new();

    /// <summary>Per SQ slot: the memory the SQE prepared there uses, until the SQE is published.</summary>
    private NativeMemoryBlock?[]? _slotLeases;

    /// <summary>How many entries of <see cref="_slotLeases"/> are set.</summary>
    private int _slotLeaseCount;

    /// <summary>Memory used by submitted requests, by user data, until their final CQE.</summary>
    private Dictionary<ulong, NativeMemoryBlock>? _flightLeases;

    /// <summary>Further requests in flight with a user data already in <see cref="_flightLeases"/> (rare).</summary>
    private List<(ulong UserData, NativeMemoryBlock Block)>? _flightOverflow;

    /// <summary>Entries of <see cref="_flightLeases"/> plus <see cref="_flightOverflow"/>.</summary>
    private int _flightLeaseCount;

    /// <summary>
    /// Called by the <see cref="NativeBuffer"/> preps: if <paramref name="sqe"/> is a slot of a live ring's SQ, that
    /// ring keeps a reference on the buffer's memory until the request's final CQE. An SQE that is not in a ring (a
    /// template copied in later) takes no reference.
    /// </summary>
    internal static void LeaseFor(ref Sqe sqe, NativeBuffer buffer)
    {
        foreach (Ring ring in Volatile.Read(ref s_live))
        {
            if (ring.TryLease(ref sqe, buffer.Block))
            {
                return;
            }
        }
    }

    private static void Publish(Ring ring)
    {
        lock (s_liveGate)
        {
            s_live = [.. s_live, ring];
        }
    }

    private static void Unpublish(Ring ring)
    {
        lock (s_liveGate)
        {
            s_live = [.. s_live.Where(r => r != ring)];
        }
    }

    private bool TryLease(ref Sqe sqe, NativeMemoryBlock block)
    {
        if (_disposed)
        {
            return false;
        }

        int stride = (SetupFlags & SetupFlags.Sqe128) != 0 ? 2 * Sqe.Size : Sqe.Size;
        nint offset = Unsafe.ByteOffset(ref _sq.Entry(0), ref sqe);
        if (offset < 0 || offset >= (nint)_sqEntries * stride || offset % stride != 0)
        {
            return false;
        }

        block.AddRef();
        _slotLeases ??= new NativeMemoryBlock?[_sqEntries];
        ref NativeMemoryBlock? cell = ref _slotLeases[offset / stride];
        if (cell is null)
        {
            _slotLeaseCount++;
        }
        else
        {
            // The slot was prepared again before being submitted: the earlier buffer is no longer named by it.
            cell.Release();
        }

        cell = block;
        return true;
    }

    /// <summary>Moves the references of the SQEs at positions [<paramref name="from"/>, <paramref name="to"/>) to their user data.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void LeasesSubmitted(uint from, uint to)
    {
        for (uint i = from; i != to && _slotLeaseCount > 0; i++)
        {
            ref NativeMemoryBlock? cell = ref _slotLeases![i & (_sqEntries - 1)];
            if (cell is null)
            {
                continue;
            }

            ulong userData = _sq.Entry(i).UserData;
            _flightLeases ??= [];
            if (!_flightLeases.TryAdd(userData, cell))
            {
                (_flightOverflow ??= []).Add((userData, cell));
            }

            _flightLeaseCount++;
            _slotLeaseCount--;
            cell = null;
        }
    }

    /// <summary>Drops the reference of the request with <paramref name="userData"/>, whose final CQE was reaped.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void LeaseCompleted(ulong userData)
    {
        if (_flightLeases!.Remove(userData, out NativeMemoryBlock? block))
        {
            _flightLeaseCount--;
            block.Release();
            int more = _flightOverflow?.FindIndex(e => e.UserData == userData) ?? -1;
            if (more >= 0)
            {
                _flightLeases[userData] = _flightOverflow![more].Block;
                _flightOverflow.RemoveAt(more);
            }
        }
    }

    /// <summary>At dispose: drops every reference if the kernel is done, otherwise keeps the memory for the life of the process.</summary>
    private void ReleaseLeases(bool drained)
    {
        var blocks = new List<NativeMemoryBlock>();
        if (_slotLeases is not null)
        {
            foreach (NativeMemoryBlock? b in _slotLeases)
            {
                if (b is not null)
                {
                    blocks.Add(b);
                }
            }
        }

        blocks.AddRange(_flightLeases?.Values ?? Enumerable.Empty<NativeMemoryBlock>());
        blocks.AddRange(_flightOverflow?.Select(e => e.Block) ?? []);
        _slotLeases = null;
        _flightLeases = null;
        _flightOverflow = null;
        _slotLeaseCount = 0;
        _flightLeaseCount = 0;
        foreach (NativeMemoryBlock b in blocks)
        {
            if (drained)
            {
                b.Release();
            }
            else
            {
                PinnedForever.Keep(b);
            }
        }
    }
}
