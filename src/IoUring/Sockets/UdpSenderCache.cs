using System.Buffers.Binary;
using System.Net;
using System.Runtime.InteropServices;

namespace IoUring;

/// <summary>
/// The senders a <see cref="UringUdpReceiver"/> saw last, by their native <c>sockaddr</c> bytes: a datagram from one of
/// them reuses its <see cref="IPEndPoint"/> instead of allocating one (a server talks to the same peers again and again).
/// Used by the receiver's single consumer only.
/// </summary>
internal sealed class UdpSenderCache
{
    /// <summary>How many senders are kept (replaced round-robin).</summary>
    private const int Capacity = 16;

    /// <summary>Room per key: a <c>sockaddr_in6</c>.</summary>
    private const int KeySize = 28;

    /// <summary>The keys' bytes, <see cref="KeySize"/> per entry.</summary>
    private readonly byte[] _keys = new byte[Capacity * KeySize];

    /// <summary>Per entry: its key's length (0: empty).</summary>
    private readonly int[] _lengths = new int[Capacity];

    /// <summary>Per entry: the endpoint.</summary>
    private readonly IPEndPoint?[] _endPoints = new IPEndPoint?[Capacity];

    /// <summary>The entry replaced next.</summary>
    private int _next;

    /// <summary>The endpoint of <paramref name="name"/> (a <c>sockaddr_in</c> or <c>sockaddr_in6</c> as the kernel wrote it).</summary>
    /// <param name="name">The address bytes.</param>
    /// <returns>A cached endpoint, or a new one (then cached).</returns>
    public IPEndPoint Get(ReadOnlySpan<byte> name)
    {
        for (int i = 0; i < Capacity; i++)
        {
            if (_lengths[i] == name.Length && name.SequenceEqual(_keys.AsSpan(i * KeySize, name.Length)))
            {
                return _endPoints[i]!;
            }
        }

        IPEndPoint endPoint = Parse(name);
        if (name.Length <= KeySize)
        {
            int slot = _next;
            _next = (_next + 1) % Capacity;
            name.CopyTo(_keys.AsSpan(slot * KeySize));
            _lengths[slot] = name.Length;
            _endPoints[slot] = endPoint;
        }

        return endPoint;
    }

    /// <summary>Reads a <c>sockaddr_in</c> (family 2) or <c>sockaddr_in6</c> (family 10); anything else is the unspecified address.</summary>
    internal static IPEndPoint Parse(ReadOnlySpan<byte> name)
    {
        if (name.Length < 2)
        {
            return new IPEndPoint(IPAddress.Any, 0);
        }

        // sa_family is in host order, the port in network order.
        ushort family = MemoryMarshal.Read<ushort>(name);
        if (family == 2 && name.Length >= 8)
        {
            return new IPEndPoint(new IPAddress(name.Slice(4, 4)), BinaryPrimitives.ReadUInt16BigEndian(name[2..]));
        }

        if (family == 10 && name.Length >= 24)
        {
            long scope = name.Length >= 28 ? MemoryMarshal.Read<uint>(name[24..]) : 0;
            return new IPEndPoint(new IPAddress(name.Slice(8, 16), scope), BinaryPrimitives.ReadUInt16BigEndian(name[2..]));
        }

        return new IPEndPoint(family == 10 ? IPAddress.IPv6Any : IPAddress.Any, 0);
    }
}
