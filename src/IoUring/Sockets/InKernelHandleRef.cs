using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace IoUring;

/// <summary>
/// A reference on a socket's <see cref="SafeHandle"/> that a long-lived request holds only while it is in the kernel:
/// taken when the request is armed (an accept: when it is made), let go at its last CQE. A paused or ended request then holds none, so closing the
/// socket (an adopted <see cref="System.Net.Sockets.Socket"/>'s <c>Dispose</c> waits for every reference) never waits
/// for the request's owner to be disposed. The receive operations, zero-copy sends and accepts hold theirs this way.
/// Loop thread only (or before the request is first queued); a mutable struct kept in a field.
/// </summary>
/// <param name="handle">The socket's handle.</param>
internal struct InKernelHandleRef(SafeHandle handle)
{
    /// <summary>The socket's handle.</summary>
    private readonly SafeHandle _handle = handle;

    /// <summary>True while the reference is held.</summary>
    private bool _held;

    /// <summary>Takes the reference unless it is held already.</summary>
    /// <param name="closed">When the handle is closed: the exception to report.</param>
    /// <returns>False when the handle is closed (no reference taken).</returns>
    public bool TryAcquire([NotNullWhen(false)] out ObjectDisposedException? closed)
    {
        closed = null;
        if (_held)
        {
            return true;
        }

        bool added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
        }
        catch (ObjectDisposedException e)
        {
            closed = e;
            return false;
        }

        _held = added;
        return true;
    }

    /// <summary>Lets go of the reference, if held.</summary>
    public void Release()
    {
        if (_held)
        {
            _held = false;
            _handle.DangerousRelease();
        }
    }
}
