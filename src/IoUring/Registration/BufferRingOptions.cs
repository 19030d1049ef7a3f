namespace IoUring;

/// <summary>How <see cref="Ring.SetupBufferRing(ushort, ushort, int, BufferRingOptions?)"/> sets up a provided-buffer ring.</summary>
public sealed class BufferRingOptions
{
    /// <summary>
    /// Incremental consumption (<c>IOU_PBUF_RING_INC</c>, 6.12; liburing <c>io_uring_setup_buf_ring</c> with that flag): a
    /// request uses only as many bytes of a buffer as it needs, and the next request continues in the same buffer. A CQE
    /// with <see cref="CqeFlags.BufMore"/> means the kernel keeps the buffer for more data; <see cref="BufferRing.GetData"/>
    /// tracks where each completion's bytes start. Suits large buffers and streams of small reads.
    /// </summary>
    public bool IncrementalConsumption { get; init; }

    /// <summary>
    /// Start with every buffer with the application instead of the kernel: for a group whose buffers carry data to send
    /// (<see cref="Sqe.PrepSendBundle"/>), filled and handed over with <see cref="BufferRing.Provide"/>.
    /// </summary>
    public bool StartEmpty { get; init; }
}
