using IoUring.Interop;

namespace IoUring;

// Disabled rings (IORING_SETUP_R_DISABLED), their restrictions and enabling them.
public sealed partial class Ring
{
    /// <summary>
    /// Restricts what the ring may do once enabled (<c>IORING_REGISTER_RESTRICTIONS</c>, 5.10; liburing
    /// <c>io_uring_register_restrictions</c>). Only on a disabled ring, and only once.
    /// </summary>
    /// <param name="restrictions">What to allow.</param>
    /// <exception cref="InvalidOperationException">The ring is enabled (create it with <see cref="RingOptions.StartDisabled"/>).</exception>
    /// <exception cref="IoUringException">The kernel refused (<c>EBUSY</c>: restrictions are already registered).</exception>
    public void RegisterRestrictions(RingRestrictions restrictions)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(restrictions);
        if (IsEnabled)
        {
            throw new InvalidOperationException("Restrictions can only be registered on a ring created with RingOptions.StartDisabled, before EnableRings().");
        }

        int r = RegisterCalls.Restrictions(Handle, restrictions.Entries);
        if (r < 0)
        {
            throw IoUringException.FromErrno(-r, "io_uring_register(IORING_REGISTER_RESTRICTIONS)", r == -Errno.EBUSY ? "Restrictions are already registered on this ring" : null);
        }
    }

    /// <summary>
    /// Enables a ring created with <see cref="RingOptions.StartDisabled"/> (<c>IORING_REGISTER_ENABLE_RINGS</c>, 5.10;
    /// liburing <c>io_uring_enable_rings</c>); its restrictions, if any, apply from now on. Does nothing on an enabled ring.
    /// </summary>
    /// <exception cref="IoUringException">The kernel refused.</exception>
    public void EnableRings()
    {
        ThrowIfDisposed();
        if (IsEnabled)
        {
            return;
        }

        int r = RegisterCalls.Simple(Handle, RegisterOpcode.RegisterEnableRings);
        if (r < 0)
        {
            throw IoUringException.FromErrno(-r, "io_uring_register(IORING_REGISTER_ENABLE_RINGS)");
        }

        IsEnabled = true;
    }
}
