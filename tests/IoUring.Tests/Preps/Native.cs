using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using IoUring.Interop;

namespace IoUring.Tests.Preps;

/// <summary>A pinned managed array (on the pinned object heap) whose address can go into an SQE.</summary>
internal sealed class Pinned<T>
    where T : unmanaged
{
    public Pinned(int length) => Array = GC.AllocateArray<T>(length, pinned: true);

    public Pinned(ReadOnlySpan<T> content)
        : this(content.Length) => content.CopyTo(Array);

    public T[] Array { get; }

    public int Length => Array.Length;

    public Span<T> Span => Array;

    public ref T Value => ref Array[0];

    public ref T this[int index] => ref Array[index];

    public nint Address => Marshal.UnsafeAddrOfPinnedArrayElement(Array, 0);

    public nint AddressOf(int index) => Marshal.UnsafeAddrOfPinnedArrayElement(Array, index);

    /// <summary>Size of the whole array in bytes.</summary>
    public uint ByteLength => (uint)(Array.Length * Marshal.SizeOf<T>());
}

/// <summary>Small helpers shared by the prep tests: completions with a generous bound, paths, pipes, sockets.</summary>
internal static class Native
{
    /// <summary>Generous bound for a CQE that is expected: a missing one fails the test instead of hanging it.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    public const int O_RDONLY = 0;
    public const int O_WRONLY = 1;
    public const int O_RDWR = 2;
    public const int O_CREAT = 0x40;
    public const int O_EXCL = 0x80;
    public const int O_TRUNC = 0x200;
    public const int O_NONBLOCK = 0x800;
    public const int O_DIRECTORY = 0x10000;
    public const int O_CLOEXEC = 0x80000;
    public const int AT_REMOVEDIR = 0x200;
    public const int AT_EMPTY_PATH = 0x1000;
    public const uint POLLIN = 0x1;
    public const uint POLLOUT = 0x4;
    public const int AF_INET = 2;
    public const int SOCK_STREAM = 1;
    public const int SOCK_DGRAM = 2;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int SHUT_WR = 1;

    public const int EAGAIN = 11;
    public const int EBADF = 9;
    public const int EBUSY = 16;
    public const int EEXIST = 17;
    public const int EINVAL = 22;
    public const int ENOENT = 2;
    public const int ENXIO = 6;
    public const int EXDEV = 18;
    public const int ETIME = 62;
    public const int ENOBUFS = 105;
    public const int ECANCELED = 125;

    /// <summary>
    /// Keeps pinned buffers reachable up to this call. A pinned array does not move, but the GC may still reclaim it once
    /// the code no longer refers to it, even while the kernel reads or writes it: call this after the last CQE that uses them.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void KeepAlive(params object[] pinned) => GC.KeepAlive(pinned);

    /// <summary>Waits (boundedly) for the next CQE, marks it seen and returns it.</summary>
    public static Cqe Next(Ring ring)
    {
        Assert.True(ring.TryWaitCqe(Patience, out Cqe cqe), $"No completion arrived within {Patience}.");
        ring.CqeSeen(cqe);
        return cqe;
    }

    /// <summary>Submits what is prepared and returns the next CQE.</summary>
    public static Cqe Run(Ring ring)
    {
        _ = ring.Submit();
        return Next(ring);
    }

    /// <summary>Submits and collects <paramref name="count"/> CQEs, in arrival order.</summary>
    public static Cqe[] RunMany(Ring ring, int count)
    {
        _ = ring.Submit();
        var cqes = new Cqe[count];
        for (int i = 0; i < count; i++)
        {
            cqes[i] = Next(ring);
        }

        return cqes;
    }

    /// <summary>Returns the CQE with user data <paramref name="userData"/> among <paramref name="cqes"/>.</summary>
    public static Cqe With(this Cqe[] cqes, ulong userData) => Assert.Single(cqes, c => c.UserData == userData);

    /// <summary>True when no CQE is ready (after a short grace period for one that should not come).</summary>
    public static bool Quiet(Ring ring) => !ring.TryWaitCqe(TimeSpan.FromMilliseconds(30), out _);

    /// <summary>A NUL-terminated UTF-8 copy of <paramref name="path"/> in pinned memory.</summary>
    public static Pinned<byte> Utf8Z(string path)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(path + "\0");
        return new Pinned<byte>(bytes);
    }

    public static string TempPath(string tag = "f") =>
        Path.Combine(Path.GetTempPath(), $"iouring-prep-{tag}-{Guid.NewGuid():N}");

    public static (int Read, int Write) Pipe(int flags = O_CLOEXEC)
    {
        Assert.Equal(0, Libc.Pipe2(out int r, out int w, flags));
        return (r, w);
    }

    public static void Close(params int[] fds)
    {
        foreach (int fd in fds)
        {
            if (fd >= 0)
            {
                _ = Libc.Close(fd);
            }
        }
    }

    public static void WriteAll(int fd, ReadOnlySpan<byte> data) => Assert.Equal(data.Length, Libc.Write(fd, data));

    /// <summary>A <c>struct sockaddr_in</c> for <paramref name="endPoint"/> in pinned memory.</summary>
    public static Pinned<byte> SockAddr(IPEndPoint endPoint)
    {
        var sa = new Pinned<byte>(16);
        sa[0] = AF_INET; // sa_family, little endian
        sa[2] = (byte)(endPoint.Port >> 8); // sin_port, network order
        sa[3] = (byte)endPoint.Port;
        Assert.True(endPoint.Address.TryWriteBytes(sa.Span.Slice(4, 4), out _));
        return sa;
    }

    public static int PortOf(ReadOnlySpan<byte> sockAddrIn) => (sockAddrIn[2] << 8) | sockAddrIn[3];

    /// <summary>A .NET TCP listener on 127.0.0.1 with an ephemeral port.</summary>
    public static Socket Listener(int backlog = 16)
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        s.Listen(backlog);
        return s;
    }

    public static IPEndPoint EndPoint(this Socket s) => (IPEndPoint)s.LocalEndPoint!;

    /// <summary>A connected pair of .NET TCP sockets on loopback, with receive timeouts so a missing byte fails instead of hanging.</summary>
    public static (Socket Client, Socket Server) TcpPair()
    {
        using Socket listener = Listener();
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.Connect(listener.EndPoint());
        Socket server = listener.Accept();
        server.NoDelay = true;
        client.ReceiveTimeout = server.ReceiveTimeout = (int)Patience.TotalMilliseconds;
        return (client, server);
    }

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

    public static byte[] Bytes(int length, int seed)
    {
        byte[] b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }
}
