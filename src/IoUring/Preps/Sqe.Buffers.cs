namespace IoUring;

// Preps for legacy provided buffers and cross-ring messages.
public partial struct Sqe
{
    /// <summary>Provides <paramref name="count"/> buffers of <paramref name="length"/> bytes, contiguous from <paramref name="address"/>, to group <paramref name="group"/> with ids from <paramref name="firstId"/>. (liburing <c>io_uring_prep_provide_buffers</c>; Linux 5.7.)</summary>
    /// <param name="address">Start of the buffers; valid until they are consumed or removed.</param>
    /// <param name="length">Size of each buffer.</param>
    /// <param name="count">Number of buffers.</param>
    /// <param name="group">Group id.</param>
    /// <param name="firstId">Id of the first buffer.</param>
    public void PrepProvideBuffers(nint address, int length, int count, ushort group, ushort firstId)
    {
        PrepRw(Opcode.ProvideBuffers, count, (ulong)address, (uint)length, firstId);
        BufGroup = group;
    }

    /// <summary>Removes up to <paramref name="count"/> buffers from group <paramref name="group"/>. (liburing <c>io_uring_prep_remove_buffers</c>; Linux 5.7.)</summary>
    /// <param name="count">Number of buffers.</param>
    /// <param name="group">Group id.</param>
    public void PrepRemoveBuffers(int count, ushort group)
    {
        PrepRw(Opcode.RemoveBuffers, count, 0, 0, 0);
        BufGroup = group;
    }

    /// <summary>Posts a CQE with result <paramref name="result"/> and user data <paramref name="targetUserData"/> on the ring <paramref name="targetRingFd"/> (5.18). (liburing <c>io_uring_prep_msg_ring</c>.)</summary>
    /// <param name="targetRingFd">The other ring's fd.</param>
    /// <param name="result">The <c>res</c> of the posted CQE.</param>
    /// <param name="targetUserData">The <c>user_data</c> of the posted CQE.</param>
    /// <param name="flags">Flags.</param>
    public void PrepMsgRing(int targetRingFd, uint result, ulong targetUserData, MsgRingFlags flags = MsgRingFlags.None)
    {
        PrepRw(Opcode.MsgRing, targetRingFd, (ulong)MsgRingCommand.Data, result, targetUserData);
        MsgRingFlags = flags;
    }

    /// <summary>
    /// Like <see cref="PrepMsgRing"/>, and the posted CQE carries <paramref name="cqeFlags"/> as its flags
    /// (<see cref="MsgRingFlags.FlagsPass"/>, 6.2).
    /// (liburing <c>io_uring_prep_msg_ring_cqe_flags</c>; Linux 6.3.)
    /// </summary>
    /// <param name="targetRingFd">The other ring's fd.</param>
    /// <param name="result">The <c>res</c> of the posted CQE.</param>
    /// <param name="targetUserData">The <c>user_data</c> of the posted CQE.</param>
    /// <param name="cqeFlags">The <c>flags</c> of the posted CQE.</param>
    /// <param name="flags">Flags; <see cref="MsgRingFlags.FlagsPass"/> is added.</param>
    public void PrepMsgRingCqeFlags(int targetRingFd, uint result, ulong targetUserData, CqeFlags cqeFlags, MsgRingFlags flags = MsgRingFlags.None)
    {
        PrepMsgRing(targetRingFd, result, targetUserData, flags | MsgRingFlags.FlagsPass);
        FileIndex = (uint)cqeFlags;
    }

    /// <summary>
    /// Passes direct descriptor <paramref name="sourceFileIndex"/> of this ring to slot <paramref name="targetFileIndex"/>
    /// (or <see cref="SqeConstants.FileIndexAlloc"/>) of the registered file table of ring <paramref name="targetRingFd"/>
    /// (<see cref="MsgRingCommand.SendFd"/>, 6.0). The target gets a CQE with user data <paramref name="targetUserData"/> and
    /// result 0, or the slot picked with <see cref="SqeConstants.FileIndexAlloc"/>, unless <see cref="MsgRingFlags.CqeSkip"/> is set;
    /// the sender's own CQE carries the same result. This ring's slot keeps its descriptor.
    /// (liburing <c>io_uring_prep_msg_ring_fd</c>; Linux 6.0.)
    /// </summary>
    /// <param name="targetRingFd">The other ring's fd (it must not be this ring).</param>
    /// <param name="sourceFileIndex">The slot in this ring's registered file table.</param>
    /// <param name="targetFileIndex">The slot in the target ring's table, or <see cref="SqeConstants.FileIndexAlloc"/>.</param>
    /// <param name="targetUserData">The <c>user_data</c> of the CQE posted on the target.</param>
    /// <param name="flags">Flags.</param>
    public void PrepMsgRingFd(int targetRingFd, uint sourceFileIndex, uint targetFileIndex, ulong targetUserData, MsgRingFlags flags = MsgRingFlags.None)
    {
        PrepRw(Opcode.MsgRing, targetRingFd, (ulong)MsgRingCommand.SendFd, 0, targetUserData);
        Addr3 = sourceFileIndex;
        FileIndex = targetFileIndex == SqeConstants.FileIndexAlloc ? targetFileIndex : targetFileIndex + 1;
        MsgRingFlags = flags;
    }

    /// <summary>
    /// Passes direct descriptor <paramref name="sourceFileIndex"/> to a free slot of ring <paramref name="targetRingFd"/>'s
    /// registered file table (6.0; liburing <c>io_uring_prep_msg_ring_fd_alloc</c>). The slot the kernel picked is the
    /// result of both the sender's CQE and the target's (unless <see cref="MsgRingFlags.CqeSkip"/>); <c>-ENFILE</c> when
    /// the target's table (or its allocation range) is full.
    /// </summary>
    /// <param name="targetRingFd">The other ring's fd.</param>
    /// <param name="sourceFileIndex">The slot in this ring's table.</param>
    /// <param name="targetUserData">The <c>user_data</c> of the CQE posted on the target.</param>
    /// <param name="flags">Flags.</param>
    public void PrepMsgRingFdAlloc(int targetRingFd, uint sourceFileIndex, ulong targetUserData, MsgRingFlags flags = MsgRingFlags.None) =>
        PrepMsgRingFd(targetRingFd, sourceFileIndex, SqeConstants.FileIndexAlloc, targetUserData, flags);
}
