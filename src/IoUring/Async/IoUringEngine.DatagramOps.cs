using System.Runtime.InteropServices;

namespace IoUring;

// Datagram requests (UDP): one sendmsg or recvmsg per datagram, with the peer's address in the msghdr. Ordinary pooled
// IoOperations whose msghdr and iovec are the op's own, so a datagram allocates nothing.
public sealed partial class IoUringEngine
{
    /// <summary>A datagram request: the socket, the datagram's buffer, the peer's native sockaddr (or empty).</summary>
    private readonly record struct DatagramRequest(SafeHandle Handle, ReadOnlyMemory<byte> Buffer, ReadOnlyMemory<byte> Address);

    /// <summary>
    /// <c>sendmsg(fd, {msg_name = address, iov = buffer}, MSG_NOSIGNAL)</c> (<c>IORING_OP_SENDMSG</c>, 5.3): one datagram
    /// to <paramref name="address"/> (a native sockaddr, pinned until the CQE), or to the connected peer when it is empty.
    /// The result is the number of bytes sent.
    /// </summary>
    internal ValueTask<int> SendDatagramAsync(SafeHandle handle, ReadOnlyMemory<byte> buffer, ReadOnlyMemory<byte> address, CancellationToken cancellationToken, RequestDeadline deadline) =>
        Issue(
            OpKind.SendMsg,
            new DatagramRequest(handle, buffer, address),
            static (IoUringEngine e, IoOperation op, in DatagramRequest r) =>
                op.Template.PrepSendMsg(op.AddHandleRef(r.Handle), op.PinMessage(r.Buffer, r.Address), MsgNoSignal),
            owner: null,
            cancellationToken,
            deadline).AsInt32();

    /// <summary>
    /// <c>recvmsg(fd, {msg_name = address, iov = buffer}, 0)</c> (<c>IORING_OP_RECVMSG</c>, 5.3): one datagram into
    /// <paramref name="buffer"/> and its sender's address into <paramref name="address"/> (empty: not wanted). The result
    /// is the byte count in the low 32 bits and the address length the kernel wrote in bits 32-47.
    /// </summary>
    internal ValueTask<long> ReceiveDatagramAsync(SafeHandle handle, Memory<byte> buffer, Memory<byte> address, CancellationToken cancellationToken, RequestDeadline deadline) =>
        Issue(
            OpKind.RecvMsg,
            new DatagramRequest(handle, buffer, address),
            static (IoUringEngine e, IoOperation op, in DatagramRequest r) =>
                op.Template.PrepRecvMsg(op.AddHandleRef(r.Handle), op.PinMessage(r.Buffer, r.Address)),
            owner: null,
            cancellationToken,
            deadline).AsInt64();
}
