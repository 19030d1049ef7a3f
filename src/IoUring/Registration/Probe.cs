using IoUring.Interop;

namespace IoUring;

/// <summary>Which opcodes the running kernel supports (<c>IORING_REGISTER_PROBE</c>, 5.6).</summary>
public sealed class Probe
{
    private readonly ushort[] _flags;
    private static readonly Lazy<Probe> s_current = new(() =>
    {
        using var ring = new Ring(2, new RingOptions { RegisterRingFd = false });
        return ring.GetProbe();
    });

    internal Probe(byte lastOp, ushort[] flags)
    {
        LastOp = lastOp;
        _flags = flags;
    }

    /// <summary>The probe of this kernel, taken once with a temporary ring.</summary>
    /// <exception cref="IoUringSetupException">io_uring is unavailable.</exception>
    /// <exception cref="IoUringException">The kernel has no <c>IORING_REGISTER_PROBE</c> (before 5.6): <c>EINVAL</c>.</exception>
    public static Probe Current => s_current.Value;

    /// <summary>The highest opcode the kernel knows.</summary>
    public byte LastOp { get; }

    /// <summary>True when the kernel supports <paramref name="op"/>.</summary>
    /// <param name="op">The opcode.</param>
    /// <returns>Whether it is supported.</returns>
    public bool IsSupported(Opcode op) => (_flags[(byte)op] & ProbeOp.Supported) != 0;

    /// <summary>Every supported opcode known to this library.</summary>
    /// <returns>The opcodes.</returns>
    public IReadOnlyList<Opcode> SupportedOpcodes() =>
        Enum.GetValues<Opcode>().Where(IsSupported).ToArray();

    /// <summary>Every opcode known to this library that the kernel lacks.</summary>
    /// <returns>The opcodes.</returns>
    public IReadOnlyList<Opcode> MissingOpcodes() =>
        Enum.GetValues<Opcode>().Where(o => !IsSupported(o)).ToArray();

    internal static Probe Read(RingHandle ringFd)
    {
        ushort[] flags = new ushort[256];
        int r = RegisterCalls.Probe(ringFd, flags);
        if (r < 0)
        {
            throw IoUringException.FromErrno(-r, "io_uring_register(IORING_REGISTER_PROBE)",
                r == -Errno.EINVAL ? "The kernel has no probe support (needs 5.6+)." : null);
        }

        return new Probe((byte)r, flags);
    }
}
