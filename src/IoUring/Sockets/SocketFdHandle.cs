using System.Net.Sockets;
using System.Runtime.InteropServices;
using IoUring.Interop;

namespace IoUring;

/// <summary>
/// A socket descriptor that <c>close(2)</c>s normally when released. (A <see cref="SafeSocketHandle"/> that no
/// <see cref="System.Net.Sockets.Socket"/> closed first releases abortively: it sets <c>SO_LINGER</c> 0, so the peer
/// gets RST and loses data still in flight.)
/// </summary>
internal sealed class SocketFdHandle : SafeHandle
{
    public SocketFdHandle(int fd)
        : base(invalidHandleValue: -1, ownsHandle: true)
    {
        SetHandle(fd);
    }

    public override bool IsInvalid => handle == -1;

    protected override bool ReleaseHandle() => Libc.Close((int)handle) == 0;
}
