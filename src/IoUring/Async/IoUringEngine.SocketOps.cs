using System.Runtime.InteropServices;
using IoUring.Interop;

namespace IoUring;

// Single-shot socket requests: ordinary pooled IoOperations (no allocation per call), one declaration per kind. Multishot
// ones (accept, receive, zero-copy send) are MultishotOperations owned by UringSocket and UringConnection.
public sealed partial class IoUringEngine
{
    /// <summary><c>MSG_WAITALL</c>: on a stream socket the kernel retries a short send until everything is sent or it fails.</summary>
    internal const int MsgWaitAll = 0x100;

    /// <summary><c>MSG_NOSIGNAL</c>: a send to a closed peer fails with <c>EPIPE</c> instead of raising <c>SIGPIPE</c>.</summary>
    internal const int MsgNoSignal = 0x4000;

    internal const int SockCloexec = 0x80000;

    /// <summary>The engine's provided-buffer ring for socket receives, created by the sockets layer on first use (owner).</summary>
    internal BufferRing? SocketReceiveRing;

    /// <summary>True once creating <see cref="SocketReceiveRing"/> failed (before 5.19, or no memory): receives use buffers of their own (owner).</summary>
    internal bool SocketReceiveRingUnavailable;

    private CompletionBatchScheduler? _completionScheduler;

    /// <summary>The pipe scheduler that runs continuations with the engine's completions (see <see cref="CompletionBatchScheduler"/>).</summary>
    internal System.IO.Pipelines.PipeScheduler CompletionScheduler => _completionScheduler ??= new CompletionBatchScheduler(this);

    private PhaseEndScheduler? _phaseEndScheduler;

    /// <summary>The pipe scheduler of a connection's send loop (see <see cref="PhaseEndScheduler"/>).</summary>
    internal System.IO.Pipelines.PipeScheduler PhaseEndScheduler => _phaseEndScheduler ??= new PhaseEndScheduler(this);

    /// <summary>A socket request: a handle, one buffer or several, flags, a socket address.</summary>
    private readonly record struct SocketRequest(SafeHandle Handle, ReadOnlyMemory<byte> Buffer, IReadOnlyList<ReadOnlyMemory<byte>>? Buffers, int Flags, bool CompleteOnLoop);

    /// <summary>
    /// <c>send(fd, buffer, MSG_WAITALL | MSG_NOSIGNAL)</c>; the result is the number of bytes sent. With
    /// <paramref name="completeOnLoop"/> the awaiter's continuation runs on the engine's thread in either continuation
    /// mode (it must not block: see <see cref="IoOperation.CompleteOnLoop"/>).
    /// </summary>
    internal ValueTask<int> SendSocketAsync(SafeHandle handle, ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken, bool completeOnLoop = false, RequestDeadline deadline = default) =>
        Issue(
            OpKind.Send,
            new SocketRequest(handle, buffer, null, MsgWaitAll | MsgNoSignal, completeOnLoop),
            static (IoUringEngine e, IoOperation op, in SocketRequest r) =>
            {
                op.CompleteOnLoop = r.CompleteOnLoop;
                op.Template.PrepSend(op.AddHandleRef(r.Handle), op.Pin(r.Buffer), (uint)r.Buffer.Length, r.Flags);
            },
            owner: null,
            cancellationToken,
            deadline).AsInt32();

    /// <summary>
    /// <c>writev</c> of several buffers to a socket (repeated after short writes, so it completes when all are sent);
    /// the result is the number of bytes written. <paramref name="buffers"/> is read before this returns.
    /// <paramref name="completeOnLoop"/>: as for the single-buffer send.
    /// </summary>
    internal ValueTask<long> SendSocketAsync(SafeHandle handle, IReadOnlyList<ReadOnlyMemory<byte>> buffers, CancellationToken cancellationToken, bool completeOnLoop = false) =>
        Issue(
            OpKind.SendV,
            new SocketRequest(handle, default, buffers, 0, completeOnLoop),
            static (IoUringEngine e, IoOperation op, in SocketRequest r) =>
            {
                op.CompleteOnLoop = r.CompleteOnLoop;
                op.PrepGatherWrite(op.AddHandleRef(r.Handle), r.Buffers!, ulong.MaxValue);
            },
            owner: null,
            cancellationToken).AsInt64();

    /// <summary><c>recv(fd, buffer, 0)</c>; the result is the number of bytes received, 0 at end of stream.</summary>
    internal ValueTask<int> ReceiveSocketAsync(SafeHandle handle, Memory<byte> buffer, CancellationToken cancellationToken, RequestDeadline deadline = default) =>
        IssueOnBuffer(OpKind.Recv, handle, buffer, cancellationToken, deadline).AsInt32();

    /// <summary><c>connect(fd, address)</c>; <paramref name="socketAddress"/> is a native sockaddr, pinned until the CQE.</summary>
    internal ValueTask ConnectSocketAsync(SafeHandle handle, ReadOnlyMemory<byte> socketAddress, CancellationToken cancellationToken, RequestDeadline deadline = default) =>
        IssueOnBuffer(OpKind.Connect, handle, socketAddress, cancellationToken, deadline).AsValueTask();

    /// <summary>
    /// The <see cref="OpKind.Recv"/> into <paramref name="buffer"/> or the <see cref="OpKind.Connect"/> to the sockaddr in
    /// it that the two methods above issue: one buffer, pinned until the CQE, with its address and length in the SQE.
    /// </summary>
    private Issued IssueOnBuffer(OpKind kind, SafeHandle handle, ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken, RequestDeadline deadline) =>
        Issue(
            kind,
            new SocketRequest(handle, buffer, null, 0, false),
            static (IoUringEngine e, IoOperation op, in SocketRequest r) =>
            {
                int fd = op.AddHandleRef(r.Handle);
                nint address = op.Pin(r.Buffer);
                if (op.Kind == OpKind.Recv)
                {
                    op.Template.PrepRecv(fd, address, (uint)r.Buffer.Length);
                }
                else
                {
                    op.Template.PrepConnect(fd, address, (uint)r.Buffer.Length);
                }
            },
            owner: null,
            cancellationToken,
            deadline);

    /// <summary>Single-shot <c>accept4(fd, NULL, NULL, SOCK_CLOEXEC)</c>; the result is the new descriptor.</summary>
    internal ValueTask<int> AcceptSocketAsync(SafeHandle handle, CancellationToken cancellationToken) =>
        Issue(
            OpKind.Accept,
            new SocketRequest(handle, default, null, SockCloexec, false),
            static (IoUringEngine e, IoOperation op, in SocketRequest r) => op.Template.PrepAccept(op.AddHandleRef(r.Handle), 0, 0, r.Flags),
            owner: null,
            cancellationToken).AsInt32();

    /// <summary><c>shutdown(fd, how)</c> (<c>IORING_OP_SHUTDOWN</c>).</summary>
    internal ValueTask ShutdownSocketAsync(SafeHandle handle, int how) =>
        Issue(
            OpKind.Shutdown,
            new SocketRequest(handle, default, null, how, false),
            static (IoUringEngine e, IoOperation op, in SocketRequest r) => op.Template.PrepShutdown(op.AddHandleRef(r.Handle), r.Flags),
            owner: null,
            CancellationToken.None).AsValueTask();
}
