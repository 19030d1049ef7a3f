namespace IoUring;

// Preps for legacy provided buffers and cross-ring messages.
public partial struct Sqe
{
    /// <summary>Provides <paramref name="count"/> buffers of <paramref name="length"/> bytes, contiguous from <paramref name="address"/>, to group <paramref name="group"/> with ids from <paramref name="firstId"/>.</summary>
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

    /// <summary>Removes up to <paramref name="count"/> buffers from group <paramref name="group"/>.</summary>
    /// <param name="count">Number of buffers.</param>
    /// <param name="group">Group id.</param>
    public void PrepRemoveBuffers(int count, ushort group)
    {
        PrepRw(Opcode.RemoveBuffers, count, 0, 0, 0);
        BufGroup = group;
    }

    /// <summary>Posts a CQE with result <paramref name="result"/> and user data <paramref name="targetUserData"/> on the ring <paramref name="targetRingFd"/> (5.18).</summary>
    /// <param name="targetRingFd">The other ring's fd.</param>
    /// <param name="result">The <c>res</c> of the posted CQE.</param>
    /// <param name="targetUserData">The <c>user_data</c> of the posted CQE.</param>
    /// <param name="flags">Flags.</param>
    public void PrepMsgRing(int targetRingFd, uint result, ulong targetUserData, MsgRingFlags flags = MsgRingFlags.None)
    {
        PrepRw(Opcode.MsgRing, targetRingFd, (ulong)MsgRingCommand.Data, result, targetUserData);
        MsgRingFlags = flags;
    }
}
