using System.Net;
using System.Net.Sockets;

namespace IoUring.Tests;

/// <summary>TCP on 127.0.0.1 with .NET sockets, and <c>struct sockaddr_in</c> in pinned memory for SQEs.</summary>
internal static class Loopback
{
    /// <summary>A .NET TCP listener on 127.0.0.1 with an ephemeral port.</summary>
    public static Socket Listener(int backlog = 16)
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        s.Listen(backlog);
        return s;
    }

    /// <summary>
    /// A .NET UDP socket bound to 127.0.0.1 with an ephemeral port, with a receive timeout so a missing datagram fails
    /// instead of hanging.
    /// </summary>
    public static Socket Udp()
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = ReceiveTimeoutMs };
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return s;
    }

    /// <summary>
    /// A connected pair of .NET TCP sockets, with receive timeouts so a missing byte fails instead of hanging. A test
    /// that keeps both ends writes <c>using var tcp = Loopback.TcpPair();</c>; one that hands an end over (to
    /// <see cref="UringSocket.FromSocket"/>) deconstructs it and disposes the other end itself.
    /// </summary>
    public static TcpSockets TcpPair()
    {
        using Socket listener = Listener();
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.Connect(listener.EndPoint());
        Socket server = listener.Accept();
        server.NoDelay = true;
        client.ReceiveTimeout = server.ReceiveTimeout = ReceiveTimeoutMs;
        return new TcpSockets(client, server);
    }

    /// <summary><see cref="Wait.Patience"/> in milliseconds, for <see cref="Socket.ReceiveTimeout"/>.</summary>
    public static int ReceiveTimeoutMs => (int)Wait.Patience.TotalMilliseconds;

    /// <summary>A <c>struct sockaddr_in</c> for <paramref name="endPoint"/> in pinned memory.</summary>
    public static Pinned<byte> SockAddr(IPEndPoint endPoint)
    {
        var sa = new Pinned<byte>(16);
        sa[0] = Posix.AF_INET; // sa_family, little endian
        sa[2] = (byte)(endPoint.Port >> 8); // sin_port, network order
        sa[3] = (byte)endPoint.Port;
        Assert.True(endPoint.Address.TryWriteBytes(sa.Span.Slice(4, 4), out _));
        return sa;
    }

    /// <summary>The port of a <c>struct sockaddr_in</c>.</summary>
    public static int PortOf(ReadOnlySpan<byte> sockAddrIn) => (sockAddrIn[2] << 8) | sockAddrIn[3];

    public static IPEndPoint EndPoint(this Socket s) => (IPEndPoint)s.LocalEndPoint!;

    public static int Fd(this Socket s) => (int)s.Handle;

    /// <summary>Receives exactly <paramref name="count"/> bytes on a .NET socket.</summary>
    public static byte[] ReceiveExactly(this Socket s, int count)
    {
        byte[] data = new byte[count];
        int got = 0;
        while (got < count)
        {
            int n = s.Receive(data, got, count - got, SocketFlags.None);
            Assert.True(n > 0, $"The peer closed after {got} of {count} bytes.");
            got += n;
        }

        return data;
    }
}

/// <summary>
/// The two ends of a loopback TCP connection (<see cref="Loopback.TcpPair"/>); disposing closes both. A test that
/// deconstructs it, <c>(Socket client, Socket server) = Loopback.TcpPair();</c>, owns both ends itself.
/// </summary>
/// <param name="Client">The end that connected.</param>
/// <param name="Server">The end the listener accepted.</param>
internal sealed record TcpSockets(Socket Client, Socket Server) : IDisposable
{
    public void Dispose()
    {
        Client.Dispose();
        Server.Dispose();
    }
}
