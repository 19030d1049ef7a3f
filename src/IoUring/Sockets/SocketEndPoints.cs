using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using IoUring.Interop;

namespace IoUring;

/// <summary>Native socket addresses of the library's sockets: <c>getsockname</c>/<c>getpeername</c> as endpoints, and endpoints as <c>sockaddr</c>.</summary>
internal static class SocketEndPoints
{
    /// <summary>The local (or, with <paramref name="peer"/>, remote) endpoint of <paramref name="handle"/>, or null when it has none or is closed.</summary>
    public static EndPoint? Query(SafeHandle handle, bool peer)
    {
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            Span<byte> raw = stackalloc byte[128];
            int length = Libc.GetSocketAddress((int)handle.DangerousGetHandle(), peer, raw);
            if (length < 2 || length > raw.Length)
            {
                return null;
            }

            // The kernel's sa_family: AF_UNIX 1, AF_INET 2, AF_INET6 10.
            AddressFamily family = BitConverter.ToUInt16(raw) switch
            {
                2 => AddressFamily.InterNetwork,
                10 => AddressFamily.InterNetworkV6,
                1 => AddressFamily.Unix,
                _ => AddressFamily.Unknown,
            };
            if (family == AddressFamily.Unknown || (family == AddressFamily.Unix && length <= 2))
            {
                return null;
            }

            var address = new SocketAddress(family, length);
            raw[..length].CopyTo(address.Buffer.Span);
            return family switch
            {
                AddressFamily.InterNetwork => new IPEndPoint(IPAddress.Any, 0).Create(address),
                AddressFamily.InterNetworkV6 => new IPEndPoint(IPAddress.IPv6Any, 0).Create(address),
                _ => new UnixDomainSocketEndPoint("/").Create(address),
            };
        }
        catch (ObjectDisposedException)
        {
            return null;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>The <c>socket(2)</c> domain of <paramref name="family"/>, or an <see cref="ArgumentException"/> naming <paramref name="paramName"/>.</summary>
    public static int Domain(AddressFamily family, string paramName, bool allowUnix = true) => family switch
    {
        AddressFamily.InterNetwork => Libc.AF_INET,
        AddressFamily.InterNetworkV6 => Libc.AF_INET6,
        AddressFamily.Unix when allowUnix => Libc.AF_UNIX,
        _ => throw new ArgumentException(
            allowUnix
                ? $"Address family {family} is not supported: use an IPEndPoint or a UnixDomainSocketEndPoint."
                : $"Address family {family} is not supported: use an IPv4 or IPv6 IPEndPoint.",
            paramName),
    };
}
