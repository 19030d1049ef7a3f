namespace IoUring.Interop;

/// <summary>
/// How <c>io_uring_register(2)</c> names a ring: its file descriptor, or (for a <see cref="SetupFlags.RegisteredFdOnly"/>
/// ring, which has none) its index in the calling thread's registered-ring table, passed with
/// <c>IORING_REGISTER_USE_REGISTERED_RING</c>.
/// </summary>
internal readonly struct RingHandle
{
    public RingHandle(int value, bool registeredIndex)
    {
        Value = value;
        IsRegisteredIndex = registeredIndex;
    }

    /// <summary>The fd, or the registered index.</summary>
    public int Value { get; }

    /// <summary>True when <see cref="Value"/> is a registered-ring index.</summary>
    public bool IsRegisteredIndex { get; }

    /// <summary>The register opcode with <c>IORING_REGISTER_USE_REGISTERED_RING</c> added when needed.</summary>
    public RegisterOpcode Op(RegisterOpcode op) => IsRegisteredIndex ? op | RegisterOpcode.UseRegisteredRing : op;

    public static implicit operator RingHandle(int fd) => new(fd, registeredIndex: false);
}
