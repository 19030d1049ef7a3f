using System.Runtime.InteropServices;

namespace IoUring;

/// <summary>
/// A completion queue entry: <c>struct io_uring_cqe</c>, 16 bytes. The library hands CQEs out by value,
/// so a copy stays valid after <see cref="Ring.CqeSeen(in Cqe)"/> returns the slot to the kernel.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = Size)]
public readonly struct Cqe : IEquatable<Cqe>
{
    /// <summary>Size of a CQE in bytes (a CQE32 ring has twice this per entry).</summary>
    public const int Size = 16;

    /// <summary><c>user_data</c>: the value of <see cref="Sqe.UserData"/> of the request.</summary>
    public readonly ulong UserData;
    /// <summary><c>res</c>: the result; a negative value is <c>-errno</c>.</summary>
    public readonly int Res;
    /// <summary><c>flags</c>: <c>IORING_CQE_F_*</c> and a buffer id.</summary>
    public readonly CqeFlags Flags;

    /// <summary>Creates a CQE value (for tests and for code that synthesises completions).</summary>
    /// <param name="userData">The user data.</param>
    /// <param name="res">The result.</param>
    /// <param name="flags">The flags.</param>
    public Cqe(ulong userData, int res, CqeFlags flags)
    {
        UserData = userData;
        Res = res;
        Flags = flags;
    }

    /// <summary>True when <see cref="Res"/> is an error (<c>-errno</c>).</summary>
    public bool IsError => Res < 0;

    /// <summary>The errno of a failed request, or 0.</summary>
    public int Errno => Res < 0 ? -Res : 0;

    /// <summary>True when more CQEs will follow for the same request (<see cref="CqeFlags.More"/>).</summary>
    public bool HasMore => (Flags & CqeFlags.More) != 0;

    /// <summary>True when <see cref="BufferId"/> is valid (<see cref="CqeFlags.Buffer"/>).</summary>
    public bool HasBuffer => (Flags & CqeFlags.Buffer) != 0;

    /// <summary>The provided-buffer id in the upper 16 bits of <see cref="Flags"/>.</summary>
    public ushort BufferId => (ushort)((uint)Flags >> SqeConstants.CqeBufferShift);

    /// <summary>True for a zero-copy send's notification CQE (<see cref="CqeFlags.Notif"/>).</summary>
    public bool IsNotification => (Flags & CqeFlags.Notif) != 0;

    /// <inheritdoc/>
    public bool Equals(Cqe other) => UserData == other.UserData && Res == other.Res && Flags == other.Flags;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Cqe other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(UserData, Res, Flags);

    /// <inheritdoc/>
    public override string ToString() => $"Cqe(user_data={UserData}, res={Res}, flags={Flags})";

    /// <summary>Compares two CQEs field by field.</summary>
    /// <param name="left">The first.</param>
    /// <param name="right">The second.</param>
    /// <returns>True when equal.</returns>
    public static bool operator ==(Cqe left, Cqe right) => left.Equals(right);

    /// <summary>Compares two CQEs field by field.</summary>
    /// <param name="left">The first.</param>
    /// <param name="right">The second.</param>
    /// <returns>True when different.</returns>
    public static bool operator !=(Cqe left, Cqe right) => !left.Equals(right);
}
