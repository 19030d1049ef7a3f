namespace IoUring;

/// <summary>
/// Something a higher layer registers on a <see cref="Ring"/> whose memory the kernel may use until the ring is closed:
/// a provided-buffer ring, the registered-buffer table's pins, a wait region, a zero-copy receive queue. The ring
/// releases each one after closing its descriptor, so the ring core needs to know none of their types.
/// </summary>
internal interface IRingResource
{
    /// <summary>Releases the resource; called once, after the ring's descriptor is closed.</summary>
    /// <param name="drained">
    /// True when the kernel gave every request back before the close; false when requests were abandoned and the
    /// kernel may still write into the memory (then keep it pinned for the life of the process: <see cref="PinnedForever"/>).
    /// </param>
    void ReleaseAfterRingClosed(bool drained);
}
