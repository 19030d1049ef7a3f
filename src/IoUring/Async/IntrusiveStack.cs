using System.Runtime.CompilerServices;

namespace IoUring;

/// <summary>
/// The lock-free push of an intrusive stack (a Treiber stack): the item's own link field points at the old head, and
/// one compare-exchange makes the item the head. Shared by the engine's free list of completion batches and a batch's
/// list of unpublished requests.
/// </summary>
internal static class IntrusiveStack
{
    /// <summary>Pushes <paramref name="item"/> onto the stack at <paramref name="head"/>. Full fence (the CAS).</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="head">The stack's head field.</param>
    /// <param name="item">The item to push.</param>
    /// <param name="itemNext">The item's link field, set to the head it is pushed onto.</param>
    /// <returns>The head the item was pushed onto: null when the stack was empty.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static T? Push<T>(ref T? head, T item, ref T? itemNext)
        where T : class
    {
        T? seen = Volatile.Read(ref head);
        while (true)
        {
            itemNext = seen;
            T? was = Interlocked.CompareExchange(ref head, item, seen);
            if (ReferenceEquals(was, seen))
            {
                return seen;
            }

            // Another thread changed the head meanwhile (pushed, or took the whole list): try again on top of it.
            seen = was;
        }
    }
}
