using IoUring.Interop;

namespace IoUring;

/// <summary>NAPI busy-poll settings of a ring (<c>struct io_uring_napi</c>).</summary>
/// <param name="BusyPollTimeout">How long a wait busy-polls the network device before sleeping (microsecond resolution); zero when off.</param>
/// <param name="PreferBusyPoll">Whether the device prefers busy polling to interrupts while polled.</param>
public readonly record struct NapiSettings(TimeSpan BusyPollTimeout, bool PreferBusyPoll);

// NAPI busy polling (IORING_REGISTER_NAPI, 6.9): waits on this ring spin on the NIC's receive queues of the sockets
// it serves, trading CPU for receive latency.
public sealed partial class Ring
{
    /// <summary>
    /// Turns on NAPI busy polling for this ring's waits (<c>IORING_REGISTER_NAPI</c>, 6.9; liburing
    /// <c>io_uring_register_napi</c>): while waiting for completions the kernel polls the network queues of the sockets
    /// this ring receives on for up to <paramref name="busyPollTimeout"/>, instead of sleeping until an interrupt.
    /// </summary>
    /// <param name="busyPollTimeout">The busy-poll time per wait (microsecond resolution).</param>
    /// <param name="preferBusyPoll">Ask the device to defer interrupts while it is busy-polled.</param>
    /// <returns>The settings before this call.</returns>
    /// <exception cref="IoUringException">The kernel refused (before 6.9: <c>EINVAL</c>).</exception>
    public NapiSettings RegisterNapi(TimeSpan busyPollTimeout, bool preferBusyPoll = false)
    {
        ThrowIfDisposed();
        var napi = new NapiReg { BusyPollTo = ToMicroseconds(busyPollTimeout), PreferBusyPoll = preferBusyPoll ? (byte)1 : (byte)0 };
        int r = RegisterCalls.Napi(Handle, ref napi, unregister: false);
        return r >= 0 ? ToSettings(napi) : throw IoUringException.FromErrno(-r, "io_uring_register(IORING_REGISTER_NAPI)", r == -Errno.EINVAL ? "Needs Linux 6.9+." : null);
    }

    /// <summary>Turns NAPI busy polling off (<c>IORING_UNREGISTER_NAPI</c>, 6.9; liburing <c>io_uring_unregister_napi</c>).</summary>
    /// <returns>The settings that were in force.</returns>
    /// <exception cref="IoUringException">The kernel refused.</exception>
    public NapiSettings UnregisterNapi()
    {
        ThrowIfDisposed();
        NapiReg napi = default;
        int r = RegisterCalls.Napi(Handle, ref napi, unregister: true);
        return r >= 0 ? ToSettings(napi) : throw IoUringException.FromErrno(-r, "io_uring_register(IORING_UNREGISTER_NAPI)");
    }

    private static NapiSettings ToSettings(in NapiReg napi) => new(TimeSpan.FromTicks(napi.BusyPollTo * 10L), napi.PreferBusyPoll != 0);
}
