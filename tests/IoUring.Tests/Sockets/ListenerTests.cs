using System.Net;
using System.Net.Sockets;

namespace IoUring.Tests.Sockets;

public sealed class ListenerTests
{
    [UringFact]
    public async Task A_listener_with_nothing_accepted_disposes_promptly()
    {
        await using var engine = new IoUringEngine();
        UringSocket listener = UringSocket.Listen(engine, SocketKit.AnyLoopback);
        Task<UringSocket> accept = listener.AcceptAsync(TestContext.Current.CancellationToken).AsTask();
        await listener.DisposeAsync().AsTask().Within();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => accept.Within());
    }

    [UringFact]
    public async Task Endpoints_come_from_the_kernel()
    {
        await using var engine = new IoUringEngine();
        await using UringSocket listener = UringSocket.Listen(engine, SocketKit.AnyLoopback);
        var local = (IPEndPoint)listener.LocalEndPoint!;
        Assert.Equal(IPAddress.Loopback, local.Address);
        Assert.NotEqual(0, local.Port);
        Assert.Null(listener.RemoteEndPoint);
    }
}
