namespace IoUring;

/// <summary>
/// Decides what an engine does with one CQE it reaped (loop thread): rewrite <paramref name="res"/> and
/// <paramref name="flags"/> in place and return true to hand the CQE on as rewritten, or return false to swallow it
/// (as if the kernel had never posted it).
/// </summary>
/// <param name="engine">The engine that reaped the CQE (its <see cref="IoUringEngine.LoopRing"/> may be used: the call runs on its loop).</param>
/// <param name="request">What the CQE belongs to: the <see cref="IoOperation"/> or <see cref="MultishotOperation"/>, or null for the engine's internal tags and unknown user data.</param>
/// <param name="userData">The CQE's user data.</param>
/// <param name="res">The result, as the kernel posted it; may be rewritten.</param>
/// <param name="flags">The flags, as the kernel posted them; may be rewritten.</param>
/// <returns>True to hand the CQE on; false to swallow it.</returns>
internal delegate bool CompletionFaultInjector(IoUringEngine engine, object? request, ulong userData, ref int res, ref CqeFlags flags);

/// <summary>
/// The completion counterpart of <c>Interop.SyscallFaults</c>, for the tests (internal; nothing public reaches it):
/// while <see cref="Injector"/> is set, every CQE an engine reaps (in its loop and in its shutdown drain) is shown to
/// it before the engine acts on it, so a test can make the kernel's answer short, an error (<c>ENOBUFS</c>,
/// <c>ECONNRESET</c>) or a multishot request's last one, at a chosen point, against a real kernel. Scope it with the
/// <c>engine</c> argument so the tests running alongside are untouched. Unset (always, outside tests) it costs one
/// static read per batch of CQEs.
/// </summary>
internal static class CompletionFaults
{
    /// <summary>The injector, or null (always, outside tests).</summary>
    private static CompletionFaultInjector? s_injector;

    /// <summary>The installed injector, or null.</summary>
    public static CompletionFaultInjector? Injector
    {
        get => Volatile.Read(ref s_injector);
        set => Volatile.Write(ref s_injector, value);
    }
}
