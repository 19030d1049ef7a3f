using IoUring.Interop;

namespace IoUring;

/// <summary>
/// What a restricted ring may do (<c>IORING_REGISTER_RESTRICTIONS</c>, 5.10; liburing <c>io_uring_register_restrictions</c>):
/// the allowed SQE opcodes, SQE flags and register operations. Everything not allowed is refused once the ring is enabled:
/// a denied SQE completes with <c>-EACCES</c>, a denied registration throws <see cref="IoUringException"/> (<c>EACCES</c>).
/// Hand such a ring to code you do not trust with the whole io_uring surface.
/// </summary>
public sealed class RingRestrictions
{
    private readonly List<RestrictionEntry> _entries = [];

    /// <summary>Allows SQEs with opcode <paramref name="op"/> (<c>IORING_RESTRICTION_SQE_OP</c>).</summary>
    /// <param name="op">The opcode.</param>
    /// <returns>This, for chaining.</returns>
    public RingRestrictions AllowOperation(Opcode op) => Add(RestrictionEntry.SqeOp, (byte)op);

    /// <summary>Allows the register operation <paramref name="op"/> (<c>IORING_RESTRICTION_REGISTER_OP</c>).</summary>
    /// <param name="op">The register opcode (without <see cref="RegisterOpcode.UseRegisteredRing"/>).</param>
    /// <returns>This, for chaining.</returns>
    public RingRestrictions AllowRegister(RegisterOpcode op)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)op, 255u, nameof(op));
        return Add(RestrictionEntry.RegisterOp, (byte)op);
    }

    /// <summary>Allows SQEs to carry <paramref name="flags"/> (<c>IORING_RESTRICTION_SQE_FLAGS_ALLOWED</c>); without it, any flag is refused.</summary>
    /// <param name="flags">The flags.</param>
    /// <returns>This, for chaining.</returns>
    public RingRestrictions AllowSqeFlags(SqeFlags flags) => Add(RestrictionEntry.SqeFlagsAllowed, (byte)flags);

    /// <summary>Requires every SQE to carry <paramref name="flags"/> (<c>IORING_RESTRICTION_SQE_FLAGS_REQUIRED</c>), for example <see cref="SqeFlags.FixedFile"/>.</summary>
    /// <param name="flags">The flags.</param>
    /// <returns>This, for chaining.</returns>
    public RingRestrictions RequireSqeFlags(SqeFlags flags) => Add(RestrictionEntry.SqeFlagsRequired, (byte)flags);

    /// <summary>The entries as the kernel reads them.</summary>
    internal ReadOnlySpan<RestrictionEntry> Entries => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_entries);

    private RingRestrictions Add(ushort opcode, byte value)
    {
        _entries.Add(new RestrictionEntry { Opcode = opcode, Value = value });
        return this;
    }
}
