namespace IoUring;

/// <summary>
/// Keeps memory the kernel may still write to reachable and pinned for the life of the process, when a ring was
/// disposed before its requests finished. A deliberate, bounded leak instead of a use-after-free.
/// </summary>
internal static class PinnedForever
{
    private static readonly List<object> s_kept = [];

    public static int Count
    {
        get
        {
            lock (s_kept)
            {
                return s_kept.Count;
            }
        }
    }

    public static void Keep(object owner)
    {
        lock (s_kept)
        {
            s_kept.Add(owner);
        }
    }
}
