using System.Runtime.InteropServices;
using IoUring.Interop;

namespace IoUring;

// Single-shot socket requests: ordinary pooled IoOperations (no allocation per call). Multishot ones (accept, receive,
// zero-copy send) are MultishotOperations owned by UringSocket and UringConnection.
public sealed partial class IoUringEngine
{
    /// <summary><c>MSG_WAITALL</c>: on a stream socket the kernel retries a short send until everything is sent or it fails.</summary>
    internal const int MsgWaitAll = 0x100;

    /// <summary><c>MSG_NOSIGNAL</c>: a send to a closed peer fails with <c>EPIPE</c> instead of raising <c>SIGPIPE</c>.</summary>
    internal const int MsgNoSignal = 0x4000;

    internal const int SockCloexec = 0x80000;

    /// <summary>The engine's provided-buffer ring for socket receives, created on the loop thread on first use (loop).</summary>
    internal object? SocketReceiveBuffers;

    private System.IO.Pipelines.PipeScheduler? _completionScheduler;

    /// <summary>The pipe scheduler that runs continuations with the loop's next batch of completions (see <see cref="CompletionBatchScheduler"/>).</summary>
    internal System.IO.Pipelines.PipeScheduler CompletionScheduler => _completionScheduler ??= new CompletionBatchScheduler(this);

    /// <summary>
    /// <c>send(fd, buffer, MSG_WAITALL | MSG_NOSIGNAL)</c>; the result is the number of bytes sent. With
    /// <paramref name="completeOnLoop"/> the awaiter's continuation runs on the loop thread in either continuation mode
    /// (it must not block: see <see cref="IoOperation.CompleteOnLoop"/>).
    /// </summary>
    internal ValueTask<int> SendSocketAsync(SafeHandle handle, ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken, bool completeOnLoop = false)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<int>(cancellationToken);
        }

        IoOperation op = Rent(OpKind.Send);
        op.CompleteOnLoop = completeOnLoop;
        try
        {
            int fd = op.AddHandleRef(handle);
            nint address = op.Pin(buffer);
            op.Template.PrepSend(fd, address, (uint)buffer.Length, MsgWaitAll | MsgNoSignal);
        }
        catch
        {
            Abandon(op);
            throw;
        }

        return new ValueTask<int>(op, Start(op, owner: null, cancellationToken));
    }

    /// <summary>
    /// <c>writev</c> of several buffers to a socket (repeated after short writes, so it completes when all are sent);
    /// the result is the number of bytes written. <paramref name="buffers"/> is read before this returns.
    /// <paramref name="completeOnLoop"/>: as for the single-buffer send.
    /// </summary>
    internal ValueTask<long> SendSocketAsync(SafeHandle handle, IReadOnlyList<ReadOnlyMemory<byte>> buffers, CancellationToken cancellationToken, bool completeOnLoop = false)
    {
        int count = buffers.Count;
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<long>(cancellationToken);
        }

        IoOperation op = Rent(OpKind.WriteV);
        op.CompleteOnLoop = completeOnLoop;
        try
        {
            int fd = op.AddHandleRef(handle);
            IoVec[] iov = op.EnsureIoVecs(count);
            for (int i = 0; i < count; i++)
            {
                ReadOnlyMemory<byte> b = buffers[i];
                iov[i] = new IoVec(op.PinExtra(b), (nuint)b.Length);
            }

            nint iovAddress = op.PinIoVecs();
            op.IoVecAddress = iovAddress;
            op.Template.PrepWritev(fd, iovAddress, (uint)count, ulong.MaxValue);
        }
        catch
        {
            Abandon(op);
            throw;
        }

        return new ValueTask<long>(op, Start(op, owner: null, cancellationToken));
    }

    /// <summary><c>recv(fd, buffer, 0)</c>; the result is the number of bytes received, 0 at end of stream.</summary>
    internal ValueTask<int> ReceiveSocketAsync(SafeHandle handle, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<int>(cancellationToken);
        }

        IoOperation op = Rent(OpKind.Recv);
        try
        {
            int fd = op.AddHandleRef(handle);
            nint address = op.Pin(buffer);
            op.Template.PrepRecv(fd, address, (uint)buffer.Length);
        }
        catch
        {
            Abandon(op);
            throw;
        }

        return new ValueTask<int>(op, Start(op, owner: null, cancellationToken));
    }

    /// <summary><c>connect(fd, address)</c>; <paramref name="socketAddress"/> is a native sockaddr, pinned until the CQE.</summary>
    internal ValueTask ConnectSocketAsync(SafeHandle handle, byte[] socketAddress, int length, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        IoOperation op = Rent(OpKind.Connect);
        try
        {
            int fd = op.AddHandleRef(handle);
            nint address = op.Pin(socketAddress);
            op.Template.PrepConnect(fd, address, (uint)length);
        }
        catch
        {
            Abandon(op);
            throw;
        }

        return new ValueTask(op, Start(op, owner: null, cancellationToken));
    }

    /// <summary>Single-shot <c>accept4(fd, NULL, NULL, SOCK_CLOEXEC)</c>; the result is the new descriptor.</summary>
    internal ValueTask<int> AcceptSocketAsync(SafeHandle handle, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<int>(cancellationToken);
        }

        IoOperation op = Rent(OpKind.Accept);
        try
        {
            int fd = op.AddHandleRef(handle);
            op.Template.PrepAccept(fd, 0, 0, SockCloexec);
        }
        catch
        {
            Abandon(op);
            throw;
        }

        return new ValueTask<int>(op, Start(op, owner: null, cancellationToken));
    }

    /// <summary><c>shutdown(fd, how)</c> (<c>IORING_OP_SHUTDOWN</c>).</summary>
    internal ValueTask ShutdownSocketAsync(SafeHandle handle, int how)
    {
        IoOperation op = Rent(OpKind.Shutdown);
        try
        {
            int fd = op.AddHandleRef(handle);
            op.Template.PrepShutdown(fd, how);
        }
        catch
        {
            Abandon(op);
            throw;
        }

        return new ValueTask(op, Start(op, owner: null, CancellationToken.None));
    }
}
