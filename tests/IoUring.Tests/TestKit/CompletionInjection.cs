using IoUring.Interop;

namespace IoUring.Tests;

/// <summary>One CQE an engine reaped, as a <see cref="CompletionInjection"/> rule sees it (loop thread).</summary>
internal sealed class ReapedCqe
{
    /// <summary>What the CQE belongs to: an <c>IoOperation</c>, a <c>MultishotOperation</c>, or null (an internal tag).</summary>
    public required object? Request { get; init; }

    /// <summary>The CQE's user data.</summary>
    public required ulong UserData { get; init; }

    /// <summary>The result; a rule may rewrite it.</summary>
    public int Res { get; set; }

    /// <summary>The flags; a rule may rewrite them.</summary>
    public CqeFlags Flags { get; set; }

    /// <summary>The kernel posted it with <see cref="CqeFlags.More"/>: its request stays armed.</summary>
    public bool KernelHasMore { get; init; }

    /// <summary>Set by <see cref="EndHere"/> (<see cref="int.MinValue"/>: swallow the kernel's last CQE) or <see cref="EndRequest"/> (the negative errno it becomes).</summary>
    internal int? EndWith { get; private set; }

    /// <summary>The request's op kind when it is an ordinary request, else null (taken when reaped: ops are pooled).</summary>
    public required OpKind? Kind { get; init; }

    /// <summary>
    /// Makes this CQE the request's last one (clears <see cref="CqeFlags.More"/>), as the kernel does when it ends a
    /// multishot request early, and makes the kernel agree: the request is cancelled in the kernel at once
    /// (synchronously), and its real last CQE (<c>-ECANCELED</c>, no data) is swallowed.
    /// </summary>
    public void EndHere()
    {
        Flags &= ~CqeFlags.More;
        EndWith = int.MinValue;
    }

    /// <summary>
    /// Hands this CQE on unchanged, cancels the request in the kernel at once (synchronously), and hands its real last
    /// CQE (<c>-ECANCELED</c>, no buffer, no data) on as <paramref name="errno"/>: the request ends with that error
    /// right after this completion, exactly as the kernel ends a multishot receive that finds no buffer.
    /// </summary>
    public void EndRequest(int errno) => EndWith = -errno;
}

/// <summary>
/// Rewrites the CQEs one engine reaps (the library's <see cref="CompletionFaults"/> hook), by a rule the test gives:
/// short counts, errors, multishot requests ended early. Only that engine is affected, so tests running alongside
/// are not; only one injection may be installed at a time (the tests using it share a non-parallel collection).
/// Every CQE the engine reaped is logged.
/// </summary>
internal sealed class CompletionInjection : IDisposable
{
    /// <summary>The only engine whose CQEs are touched.</summary>
    private readonly IoUringEngine _engine;

    /// <summary>The test's rule: true when it rewrote the CQE.</summary>
    private readonly Func<ReapedCqe, bool> _rule;

    /// <summary>Guards the state below (the loop writes it, the test reads it).</summary>
    private readonly Lock _gate = new();

    /// <summary>Requests ended by injection whose kernel-side last CQE is still to come, with what it becomes.</summary>
    private readonly Dictionary<ulong, int> _ending = [];

    /// <summary>Every CQE handed on to the engine, as handed on, in order.</summary>
    private readonly List<ReapedCqe> _seen = [];

    /// <summary>The kernel's CQEs kept from the engine (of requests it was told had ended).</summary>
    private readonly List<(ulong UserData, int Res, CqeFlags Flags)> _swallowed = [];

    /// <summary>CQEs handed on different from what the kernel posted.</summary>
    private int _injected;

    private CompletionInjection(IoUringEngine engine, Func<ReapedCqe, bool> rule)
    {
        _engine = engine;
        _rule = rule;
        CompletionFaults.Injector = Inject;
    }

    /// <summary>
    /// Installs <paramref name="rule"/> for the CQEs <paramref name="engine"/> reaps: it returns true when it
    /// rewrote the CQE (counted in <see cref="Injected"/>).
    /// </summary>
    public static CompletionInjection On(IoUringEngine engine, Func<ReapedCqe, bool> rule) => new(engine, rule);

    /// <summary>CQEs the rule rewrote.</summary>
    public int Injected
    {
        get
        {
            lock (_gate)
            {
                return _injected;
            }
        }
    }

    /// <summary>The real last CQEs of requests ended by injection, swallowed (each must carry no data).</summary>
    public IReadOnlyList<(ulong UserData, int Res, CqeFlags Flags)> Swallowed
    {
        get
        {
            lock (_gate)
            {
                return [.. _swallowed];
            }
        }
    }

    /// <summary>How many CQEs matching <paramref name="match"/> were handed on (as rewritten).</summary>
    public int Seen(Func<ReapedCqe, bool> match)
    {
        lock (_gate)
        {
            return _seen.Count(match);
        }
    }

    /// <summary>How many distinct requests (user data) the CQEs matching <paramref name="match"/> that were handed on belong to.</summary>
    public int Requests(Func<ReapedCqe, bool> match)
    {
        lock (_gate)
        {
            return _seen.Where(match).Select(s => s.UserData).Distinct().Count();
        }
    }

    /// <summary>
    /// Checks that the requests matching <paramref name="match"/> were armed one at a time: no CQE of one arrives
    /// between the first and the last CQE of another (two armed at once would receive into each other's stream).
    /// </summary>
    public void AssertOneAtATime(Func<ReapedCqe, bool> match)
    {
        lock (_gate)
        {
            ulong? live = null;
            foreach (ReapedCqe c in _seen.Where(match))
            {
                if (live is not null && live != c.UserData)
                {
                    Assert.Fail($"two requests armed at once ({live:x} and {c.UserData:x}):\n{Describe()}");
                }

                live = (c.Flags & CqeFlags.More) != 0 ? c.UserData : null;
            }
        }
    }

    /// <summary>Every CQE handed on, one per line (for failure messages).</summary>
    public string Describe()
    {
        lock (_gate)
        {
            // (Re-entered from AssertOneAtATime: a Lock may be.)
            return string.Join('\n', _seen.Select(static s => $"{s.Request?.GetType().Name} {s.Kind} {s.UserData:x} res={s.Res} flags={s.Flags}"));
        }
    }

    /// <summary>Waits until every request ended by injection has posted its real last CQE.</summary>
    public Task KernelCaughtUpAsync() => Wait.UntilAsync(
        () =>
        {
            lock (_gate)
            {
                return _ending.Count == 0;
            }
        },
        "the requests ended by injection posted their last CQE");

    public void Dispose() => CompletionFaults.Injector = null;

    private bool Inject(IoUringEngine engine, object? request, ulong userData, ref int res, ref CqeFlags flags)
    {
        if (!ReferenceEquals(engine, _engine))
        {
            return true;
        }

        lock (_gate)
        {
            if (_ending.TryGetValue(userData, out int endWith))
            {
                // The kernel's own CQEs of a request ended by injection.
                bool last = (flags & CqeFlags.More) == 0;
                if (last)
                {
                    _ending.Remove(userData);
                }

                if (endWith == int.MinValue)
                {
                    // EndHere: the library was told the request had ended, so it must not see these (the test checks
                    // that they carried nothing).
                    _swallowed.Add((userData, res, flags));
                    return false;
                }

                // EndRequest: what the kernel posted before the cancel took effect goes on as it is; the cancelled
                // last CQE (nothing in it) becomes the error.
                if (last && res == -Errno.ECANCELED)
                {
                    res = endWith;
                    _injected++;
                }

                _seen.Add(new ReapedCqe { Request = request, Kind = null, UserData = userData, Res = res, Flags = flags });
                return true;
            }

            var cqe = new ReapedCqe
            {
                Request = request,
                Kind = request is IoOperation op ? op.Kind : null,
                UserData = userData,
                Res = res,
                Flags = flags,
                KernelHasMore = (flags & CqeFlags.More) != 0,
            };
            if (_rule(cqe))
            {
                _injected++;
                res = cqe.Res;
                flags = cqe.Flags;
            }

            if (cqe.EndWith is int end && cqe.KernelHasMore)
            {
                // The library is (or is about to be) told the request ended: end it in the kernel too.
                _ending[userData] = end;
                _ = engine.LoopRing.CancelSync(userData);
            }

            _seen.Add(cqe);
            return true;
        }
    }
}
