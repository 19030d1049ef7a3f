using System.Diagnostics;
using System.Globalization;

namespace IoUring.Stress.Fuzz;

/// <summary>What a fuzz run did and found.</summary>
public sealed class FuzzResult
{
    public long Calls { get; set; }

    public long Iterations { get; set; }

    public int RingsCreated { get; set; }

    public int RingsRefused { get; set; }

    public int RescuesSent { get; set; }

    public int UndrainedDisposals { get; set; }

    public int FdsBefore { get; set; }

    /// <summary>What each descriptor pointed to at the start, to name the leaked ones in the report.</summary>
    private SortedDictionary<int, string> _fdTargetsBefore = [];

    /// <summary>Counts the open descriptors and remembers what they point to (call at the start of a run).</summary>
    public void RecordFdsBefore()
    {
        _fdTargetsBefore = ProcessStats.FdTargets();
        FdsBefore = ProcessStats.OpenFds();
    }


    public int FdsAfter { get; set; }

    public int PinnedForeverBefore { get; set; }

    public int PinnedForeverAfter { get; set; }

    public double Seconds { get; set; }

    /// <summary>Outcome counts by "entry point: ok | ExceptionType".</summary>
    public SortedDictionary<string, long> Outcomes { get; } = new(StringComparer.Ordinal);

    public List<string> Failures { get; } = [];

    /// <summary>What <see cref="RingsCreated"/> counts, for the report: rings, or the async fuzzer's engines.</summary>
    public string Created { get; set; } = "rings";

    /// <summary>No finding, and no descriptor opened during the run is still open (the runtime's own assembly files aside).</summary>
    public bool Passed => Failures.Count == 0 && Leaked.Count == 0;

    /// <summary>The descriptors opened during the run and still open at its end (<see cref="ProcessStats.NewFds"/>).</summary>
    public List<string> Leaked { get; private set; } = [];

    /// <summary>What the fuzzer's own descriptors pointed to when it opened them ("pipe:[123]" to "the pool's pipe, fds 35/36").</summary>
    private readonly Dictionary<string, string> _ownTargets = new(StringComparer.Ordinal);

    /// <summary>
    /// Remembers what <paramref name="fd"/>, a descriptor the fuzzer itself opened and closes at its end, points to, so
    /// a leak report tells it from the code under test's (a pipe pair left open at the end of ring seed 36 could have
    /// been the pool's pipe or a new one that reused its numbers).
    /// </summary>
    public void NameOwnFd(int fd, string name)
    {
        if (ProcessStats.FdTargets().TryGetValue(fd, out string? target))
        {
            _ownTargets[target] = _ownTargets.TryGetValue(target, out string? known) ? $"{known} and {fd}" : $"{name}, opened as fd {fd}";
        }
    }

    /// <summary>Counts the open descriptors at the end of a run and names the ones opened during it.</summary>
    public void RecordFdsAfter()
    {
        // New descriptors must outlast ProcessStats.LeakSettle to count (a thread starting now holds a pipe pair for
        // a moment); the count is taken after that wait.
        Leaked = ProcessStats.OpenFds() > FdsBefore ? ProcessStats.NewFds(_fdTargetsBefore) : [];
        FdsAfter = ProcessStats.OpenFds();
        for (int i = 0; i < Leaked.Count; i++)
        {
            string target = Leaked[i].Split(" -> ", 2)[^1].Split(' ')[0];
            if (_ownTargets.TryGetValue(target, out string? name))
            {
                Leaked[i] += $" (the fuzzer's own: {name})";
            }
        }
    }

    public string ToText()
    {
        var ci = CultureInfo.InvariantCulture;
        var sb = new System.Text.StringBuilder();
        sb.AppendLine(ci, $"fuzz: {(Passed ? "PASSED" : "FAILED")}  {Iterations:N0} iterations, {Calls:N0} calls in {Seconds:F1} s; {Created} created {RingsCreated}, refused {RingsRefused}; rescue CQEs {RescuesSent}");
        sb.AppendLine(ci, $"  fds before/after {FdsBefore}/{FdsAfter}; pinned-forever objects before/after {PinnedForeverBefore}/{PinnedForeverAfter} ({UndrainedDisposals} disposals could not drain within their DisposeDrainTimeout)");
        if (Leaked.Count > 0)
        {
            sb.AppendLine(ci, $"  LEAK: {Leaked.Count} descriptor(s) opened during the run are still open: {string.Join(", ", Leaked)}");
        }

        foreach ((string k, long v) in Outcomes)
        {
            sb.AppendLine(ci, $"    {k,-52} {v,10:N0}");
        }

        sb.AppendLine(ci, $"  failures: {Failures.Count}");
        foreach (string f in Failures.Take(30))
        {
            sb.AppendLine(ci, $"    {f}");
        }

        return sb.ToString();
    }
}

/// <summary>
/// Calls every public entry point of the Ring layer with random arguments: ring sizes and options, SQE preps with random
/// descriptors, lengths, offsets and flags, submits, waits with random timeouts, CQ advances, registrations, buffer
/// rings, disposal. Each call must succeed or throw a documented exception; CQEs must name requests that were
/// submitted, each request at most one final CQE; the queues' counters must stay sane; nothing may hang (a watchdog
/// kills the process and prints the seed). Seeded: the same seed makes the same calls.
/// </summary>
/// <remarks>
/// Safety of the fuzzer itself: requests only ever name descriptors and memory of <see cref="FuzzPool"/> (or ones
/// certainly invalid), raw random opcodes get only invalid descriptors and null addresses, and the pool's memory is
/// freed only if every ring drained. Opcodes that create descriptors or change the file system are not fuzzed.
/// </remarks>
public sealed class Fuzzer : FuzzHarness
{
    private static readonly Type[] Documented =
    [
        typeof(ArgumentException), // includes ArgumentOutOfRangeException and ArgumentNullException
        typeof(IoUringException), // includes IoUringSetupException
        typeof(SubmissionQueueFullException),
        typeof(WaitWouldBlockForeverException),
        typeof(ObjectDisposedException),
        typeof(TimeoutException),
        typeof(NotSupportedException),
    ];

    private readonly Random _rng;
    private readonly FuzzPool _pool;
    private readonly Rescue _rescue;
    private readonly HashSet<ulong> _prepared = [];
    private readonly Dictionary<ulong, int> _finals = [];

    /// <summary>The SQEs of the current ring still owed a final CQE as far as the fuzzer saw, by user data: named in an undrained-dispose report.</summary>
    private readonly Dictionary<ulong, string> _outstanding = [];
    private readonly List<BufferRing> _bufferRings = [];
    private Ring? _ring;
    private Ring? _previous;
    private TimeSpan _drainTimeout;
    private bool _skipSuccessUsed;
    private bool _inFlightUnreliable;
    private int _ringBudget;
    private ulong _nextUserData = 1;
    private string _ringDescription = "no ring";

    public Fuzzer(int seed)
        : base(seed, "", Documented)
    {
        _rng = new Random(seed);
        Result.RecordFdsBefore();
        Result.PinnedForeverBefore = ProcessStats.PinnedForeverObjects();
        _pool = new FuzzPool(seed);
        Result.NameOwnFd(_pool.PipeRead, "the pool's pipe");
        Result.NameOwnFd(_pool.PipeWrite, "the pool's pipe");
        _rescue = new Rescue();
    }

    public override string Describe() => $"seed {Seed}, iteration {Iteration}, in {Current} on {_ringDescription}; recent calls: {Recent}{FdInfo()}";

    /// <summary>The kernel's view of the current ring (/proc/self/fdinfo), for hang reports.</summary>
    private string FdInfo()
    {
        try
        {
            string tasks = string.Join("\n", Directory.GetDirectories("/proc/self/task").Select(t =>
            {
                string Read(string f)
                {
                    try
                    {
                        return File.ReadAllText(Path.Combine(t, f)).Trim();
                    }
                    catch (IOException)
                    {
                        return "?";
                    }
                }

                return $"task {Path.GetFileName(t)} {Read("comm")} wchan={Read("wchan")} syscall={Read("syscall").Split(' ')[0]}\n{Read("stack")}";
            }));
            return (_ring is null ? string.Empty : "\n" + File.ReadAllText($"/proc/self/fdinfo/{_ring.Fd}")) + "\n" + tasks;
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }

    /// <summary>A ring's fdinfo (SQ/CQ indexes, poll list) and the kernel stacks of the process's io_uring threads (io-wq workers, SQPOLL).</summary>
    private static string KernelView(int ringFd)
    {
        var sb = new System.Text.StringBuilder();
        try
        {
            _ = sb.Append(File.ReadAllText($"/proc/self/fdinfo/{ringFd}"));
            foreach (string t in Directory.GetDirectories("/proc/self/task"))
            {
                string comm = File.ReadAllText(Path.Combine(t, "comm")).Trim();
                if (comm.StartsWith("iou-", StringComparison.Ordinal))
                {
                    _ = sb.Append(CultureInfo.InvariantCulture, $"task {Path.GetFileName(t)} {comm}:\n{File.ReadAllText(Path.Combine(t, "stack"))}");
                }
            }
        }
        catch (IOException e)
        {
            _ = sb.Append(CultureInfo.InvariantCulture, $"({e.Message})");
        }

        return sb.ToString();
    }

    /// <inheritdoc/>
    protected override string WatchdogLabel => "fuzz";

    /// <inheritdoc/>
    protected override void TearDown()
    {
        DisposeRing("end of run");
        _previous = null;
        Result.RescuesSent = _rescue.Sent;
    }

    /// <inheritdoc/>
    protected override void Step()
    {
        if (_ring is null || _ring.IsDisposed || _ringBudget-- <= 0)
        {
            if (_ring is not null)
            {
                DisposeRing("budget");
            }

            NewRing();
            return;
        }

        int roll = _rng.Next(100);
        switch (roll)
        {
            case < 36: PrepSome(); break;
            case < 46:
                Call("Submit", () =>
                {
                    uint pending = _ring.SqPending;
                    int n = _ring.Submit();
                    if (Trace)
                    {
                        Console.Error.WriteLine($"    Submit: {pending} pending -> {n} submitted, SqReady {_ring.SqReady}, dropped {_ring.SqDropped}");
                    }
                });
                break;
            case < 50: SubmitAndWait(); break;
            case < 57: Waits(); break;
            case < 66: Reap(); break;
            case < 70: Buffers(); break;
            case < 74: Files(); break;
            case < 76: Misc(); break;
            case < 79: BufferRings(); break;
            case < 84: Properties(); break;
            case < 87: StaticApis(); break;
            case < 88: DisposeRing("random"); break;
            default: Call("GetSqe", () => _ = _ring.GetSqe()); break;
        }

        CheckInvariants();
    }

    // ---- the harness ----

    /// <inheritdoc/>
    protected override string TraceDetail =>
        $" on {_ringDescription}" + (_ring is { IsDisposed: false } r ? $" (in flight {r.InFlight}, SQ pending {r.SqPending}, CQ ready {r.CqReady})" : string.Empty);

    private void CheckInvariants()
    {
        if (_ring is null || _ring.IsDisposed)
        {
            return;
        }

        uint cqReady = _ring.CqReady;
        if (cqReady > _ring.CqEntries)
        {
            Fail($"CqReady {cqReady} exceeds CqEntries {_ring.CqEntries}: the CQ indexes are corrupt");
            DisposeRing("corrupt");
            return;
        }

        if (_ring.SqReady > _ring.SqEntries || _ring.SqPending > _ring.SqEntries)
        {
            Fail($"SqReady {_ring.SqReady} / SqPending {_ring.SqPending} exceed SqEntries {_ring.SqEntries}");
        }

        if (_ring.InFlight < 0)
        {
            Fail($"InFlight is negative: {_ring.InFlight}");
        }
    }

    private void Account(in Cqe cqe)
    {
        if (Trace)
        {
            Console.Error.WriteLine($"    reaped {cqe}");
        }

        if (cqe.UserData == Rescue.Tag || cqe.UserData == 0)
        {
            // The rescue's MSG_RING, or one of the bare zeroed SQEs (a NOP with user_data 0) the fuzzer gets with GetSqe alone.
            return;
        }

        if (!_prepared.Contains(cqe.UserData))
        {
            Fail($"CQE for user_data {cqe.UserData:x} that no SQE carried: {cqe}");
            return;
        }

        if (!cqe.HasMore)
        {
            _ = _outstanding.Remove(cqe.UserData);
            _finals.TryGetValue(cqe.UserData, out int n);
            _finals[cqe.UserData] = n + 1;
            if (n + 1 > 1 && cqe.IsNotification && n == 1)
            {
                // Kernel quirk (6.18): a zero-copy send that fails at prep posts its error CQE without
                // IORING_CQE_F_MORE and then a notification anyway. Ring.InFlight counts both as final, so it
                // is low by one from here on (documented in docs/reliability.md).
                Count("kernel", "zero-copy send: notification after a final CQE");
                _inFlightUnreliable = true;
            }
            else if (n + 1 > 1)
            {
                Fail($"user_data {cqe.UserData} got a second final CQE: {cqe}");
            }
        }
    }

    private T Pick<T>(params T[] choices) => choices[_rng.Next(choices.Length)];

    private TimeSpan RandomTimeSpan() => _rng.Next(12) switch
    {
        0 => TimeSpan.Zero,
        1 => TimeSpan.FromTicks(-_rng.Next(1, 1_000_000)),
        2 => Timeout.InfiniteTimeSpan,
        3 => TimeSpan.MaxValue,
        4 => TimeSpan.MinValue,
        5 => TimeSpan.FromDays(_rng.Next(1, 100_000)),
        6 => TimeSpan.FromTicks(_rng.Next(1, 100)),
        _ => TimeSpan.FromMilliseconds(_rng.Next(0, 30)),
    };

    // ---- rings ----

    private void NewRing()
    {
        uint entries = _rng.Next(10) switch
        {
            0 => 0,
            1 => Pick(32768u, 32769u, 65536u, uint.MaxValue),
            2 => (uint)_rng.Next(1, 4096),
            _ => (uint)_rng.Next(1, 64),
        };
        bool sqPoll = _rng.Next(25) == 0;
        SetupFlags extra = _rng.Next(15) == 0 ? (SetupFlags)(1u << _rng.Next(0, 24)) : SetupFlags.None;
        var options = new RingOptions
        {
            CqEntries = _rng.Next(4) == 0 ? Pick(0u, 1u, (uint)_rng.Next(1, 1024), 1u << 20, uint.MaxValue) : 0,
            Clamp = _rng.Next(5) == 0,
            SqPoll = sqPoll,
            SqPollIdle = sqPoll ? TimeSpan.FromMilliseconds(_rng.Next(0, 10)) : null,
            SqPollCpu = sqPoll && _rng.Next(3) == 0 ? _rng.Next(-1, 4) : null,
            SubmitAll = _rng.Next(5) == 0,
            CoopTaskRun = _rng.Next(6) == 0,
            TaskRunFlag = _rng.Next(6) == 0,
            SingleIssuer = _rng.Next(5) == 0,
            DeferTaskRun = _rng.Next(8) == 0,
            NoSqArray = _rng.Next(6) == 0,
            Sqe128 = _rng.Next(15) == 0,
            Cqe32 = _rng.Next(15) == 0,
            IoPoll = _rng.Next(30) == 0,
            AttachWorkQueueOf = _rng.Next(15) == 0 ? _previous : null,
            RegisterRingFd = _rng.Next(4) == 0,
            DisposeDrainTimeout = _rng.Next(6) switch
            {
                0 => TimeSpan.Zero,
                1 => TimeSpan.FromMilliseconds(_rng.Next(1, 50)),
                2 => Timeout.InfiniteTimeSpan,
                3 => TimeSpan.MaxValue,
                _ => TimeSpan.FromSeconds(30), // long enough that only a drain that cannot finish fails, even on a loaded disk
            },
            ExtraFlags = extra,
        };

        Ring? created = null;
        bool ok = Call("new Ring", () => created = new Ring(entries, options));
        if (!ok || created is null)
        {
            Result.RingsRefused++;
            return;
        }

        Result.RingsCreated++;
        _ring = created;
        _ringDescription = $"ring fd {created.Fd} ({entries} entries, flags {created.SetupFlags}, drain timeout {options.DisposeDrainTimeout})";
        _drainTimeout = options.DisposeDrainTimeout;
        _ringBudget = _rng.Next(20, 300);
        _prepared.Clear();
        _finals.Clear();
        _outstanding.Clear();
        _skipSuccessUsed = false;
        _inFlightUnreliable = false;
        if (_rng.Next(5) == 0)
        {
            _pool.TrimFiles();
            _pool.DrainPipe();
        }
    }

    private void DisposeRing(string why)
    {
        if (_ring is null)
        {
            return;
        }

        Ring ring = _ring;
        int pinned = ProcessStats.PinnedForeverObjects();
        foreach (BufferRing br in _bufferRings)
        {
            if (_rng.Next(2) == 0)
            {
                Call("BufferRing.Dispose", br.Dispose);
            }
        }

        _bufferRings.Clear();
        bool shortTimeout = _drainTimeout >= TimeSpan.Zero && _drainTimeout < TimeSpan.FromSeconds(1);

        // A drain that takes seconds is about to fail: what the kernel still holds (the ring's fdinfo, the io-wq
        // workers' kernel stacks) is captured while the ring is still open, for the report.
        string? stuck = null;
        int ringFd = ring.Fd;
        using (var snapshot = new Timer(_ => stuck = KernelView(ringFd), null, shortTimeout ? Timeout.Infinite : 3000, Timeout.Infinite))
        {
            Call($"Ring.Dispose ({why})", ring.Dispose);
        }

        if (ring.IsDisposed && ring.InFlight > 0)
        {
            Result.UndrainedDisposals++;
            if (!shortTimeout && !_skipSuccessUsed)
            {
                Fail($"Dispose with DisposeDrainTimeout {_drainTimeout} left {ring.InFlight} requests undrained (pinned-forever objects {pinned} -> {ProcessStats.PinnedForeverObjects()}); " +
                    $"owed a final CQE when Dispose began: {string.Join(", ", _outstanding.Values.Take(40))}; kernel view 3 s into the drain:\n{stuck}");
            }
        }

        // Everything on a disposed ring throws ObjectDisposedException (or is a harmless property read).
        Call("disposed.GetSqe", () => _ = ring.GetSqe());
        Call("disposed.Submit", () => ring.Submit());
        Call("disposed.WaitCqe", () => ring.WaitCqe());
        Call("disposed.RegisterFiles", () => ring.RegisterFiles([-1]));
        Call("disposed.Dispose", ring.Dispose);
        _previous = ring;
        _ring = null;
    }

    // ---- SQEs ----

    private ulong NextUserData()
    {
        ulong ud = _nextUserData++;
        _prepared.Add(ud);
        return ud;
    }

    private ulong TargetUserData() => _rng.Next(4) switch
    {
        0 => (ulong)_rng.NextInt64(),
        1 => 0,
        _ => _nextUserData > 1 ? (ulong)_rng.NextInt64(1, (long)_nextUserData) : 0,
    };

    private void PrepSome()
    {
        int n = _rng.Next(1, 5);
        for (int i = 0; i < n; i++)
        {
            int kind = _rng.Next(40);
            string name = $"prep {kind}";
            if (!Call(name, () => PrepOne(kind)))
            {
                return;
            }
        }
    }

    private SqeFlags RandomSqeFlags()
    {
        if (_rng.Next(3) != 0)
        {
            return SqeFlags.None;
        }

        // IO_DRAIN is left out on purpose: a drained request waits for every earlier one, so it turns one blocked pipe
        // read into a blocked ring; that is documented kernel behaviour, not a library fault, and it would only
        // exercise the rescue. CQE_SKIP_SUCCESS is used only on rings whose drain timeout is short: a request that
        // succeeds silently is never subtracted from InFlight (documented: the count errs high), so Dispose waits
        // out its whole DisposeDrainTimeout.
        var f = (SqeFlags)_rng.Next(0, 128) & ~SqeFlags.IoDrain;
        bool shortDrain = _drainTimeout >= TimeSpan.Zero && _drainTimeout < TimeSpan.FromMilliseconds(100);
        if (!shortDrain)
        {
            f &= ~SqeFlags.CqeSkipSuccess;
        }

        _skipSuccessUsed |= (f & SqeFlags.CqeSkipSuccess) != 0;
        return f;
    }

    private void PrepOne(int kind)
    {
        if (kind == 35)
        {
            // Ring-level openat2 with a null path: the kernel must fail it (EFAULT) before opening anything. (Here, not
            // in TakeSqe: the SQE it returns may not outlive the local it was given.)
            var how = new OpenHow { Flags = (ulong)_rng.Next(), Mode = (ulong)_rng.Next(0, 0x1000), Resolve = (ulong)_rng.Next(0, 64) };
            FuzzPool p = _pool;
            ref Sqe open = ref _ring!.PrepOpenAt2(p.InvalidFds[_rng.Next(p.InvalidFds.Length)], 0, how);
            Finish(ref open);
            return;
        }

        ref Sqe s = ref TakeSqe(kind);
        Finish(ref s);
    }

    /// <summary>
    /// The SQE of request kind <paramref name="kind"/> (any but openat2), prepped: by the ring for the timeouts, whose
    /// argument the ring keeps until submission, else by <see cref="PrepOn"/> on an SQE the ring hands out.
    /// </summary>
    private ref Sqe TakeSqe(int kind)
    {
        Ring ring = _ring!;
        switch (kind)
        {
            case 11:
            case 12:
                return ref ring.PrepTimeout(RandomTimeSpan(), (uint)_rng.Next(0, 4), (TimeoutFlags)_rng.Next(0, 128));

            case 14:
                return ref ring.PrepTimeoutUpdate(TargetUserData(), RandomTimeSpan(), (TimeoutFlags)_rng.Next(0, 128));

            case 15:
                return ref ring.PrepLinkTimeout(RandomTimeSpan(), (TimeoutFlags)_rng.Next(0, 128));

            default:
            {
                ref Sqe s = ref ring.GetSqe();
                PrepOn(ref s, kind);
                return ref s;
            }
        }
    }

    /// <summary>Preps request kind <paramref name="kind"/> (any but the ring-level ones of <see cref="TakeSqe"/>) on <paramref name="s"/>.</summary>
    private void PrepOn(ref Sqe s, int kind)
    {
        FuzzPool p = _pool;
        switch (kind)
        {
            case 0:
            case 1:
            case 2:
            {
                (nint a, uint l) = p.Range(_rng, 65536);
                s.PrepRead(p.Fd(_rng), a, l, RandomOffset());
                break;
            }

            case 3:
            case 4:
            {
                (nint a, uint l) = p.Range(_rng, 65536);
                s.PrepWrite(p.Fd(_rng), a, l, RandomOffset());
                break;
            }

            case 5:
            case 6:
            {
                int count = _rng.Next(0, FuzzPool.MaxIoVecs + 1);
                nint iov = p.FillIoVecs(_rng, count);
                uint nr = _rng.Next(10) == 0 ? Pick(1025u, uint.MaxValue) : (uint)count;
                if (kind == 5)
                {
                    s.PrepReadv(p.Fd(_rng), iov, nr, RandomOffset(), (ReadWriteFlags)RandomRwFlags());
                }
                else
                {
                    s.PrepWritev(p.Fd(_rng), iov, nr, RandomOffset(), (ReadWriteFlags)RandomRwFlags());
                }

                break;
            }

            case 7:
            case 8:
            {
                (nint a, uint l) = p.Range(_rng, 65536);
                ushort index = (ushort)_rng.Next(0, 10);
                if (kind == 7)
                {
                    s.PrepReadFixed(p.Fd(_rng), a, l, RandomOffset(), index);
                }
                else
                {
                    s.PrepWriteFixed(p.Fd(_rng), a, l, RandomOffset(), index);
                }

                break;
            }

            case 9:
                s.PrepFsync(p.Fd(_rng), (FsyncFlags)_rng.Next(0, 4));
                break;

            case 10:
            {
                s.PrepNop();
                if (_rng.Next(3) == 0)
                {
                    s.RwFlags = _rng.Next();
                    s.Len = (uint)_rng.Next();
                }

                break;
            }

            case 13:
                s.PrepTimeoutRemove(TargetUserData(), (TimeoutFlags)_rng.Next(0, 128));
                break;

            case 16:
            case 17:
            {
                if (_rng.Next(3) == 0)
                {
                    s.PrepCancelFd(p.Fd(_rng), (AsyncCancelFlags)_rng.Next(0, 64));
                }
                else
                {
                    s.PrepCancel(TargetUserData(), (AsyncCancelFlags)_rng.Next(0, 64));
                }

                break;
            }

            case 18:
                s.PrepCancelAny();
                break;

            case 19:
            case 20:
            {
                if (_rng.Next(2) == 0)
                {
                    s.PrepPollAdd(p.Fd(_rng), (uint)_rng.Next(0, 0x4000));
                }
                else
                {
                    s.PrepPollMultishot(p.Fd(_rng), (uint)_rng.Next(0, 0x4000));
                }

                break;
            }

            case 21:
                s.PrepPollRemove(TargetUserData());
                break;

            case 22:
            {
                ulong newUserData = NextUserData();
                s.PrepPollUpdate(TargetUserData(), newUserData, (uint)_rng.Next(0, 0x4000), (PollFlags)_rng.Next(0, 16));
                break;
            }

            case 23:
                s.PrepSyncFileRange(p.Fd(_rng), (uint)_rng.Next(0, 1 << 20), RandomOffset(), (uint)_rng.Next(0, 16));
                break;

            case 24:
                s.PrepFallocate(p.Fd(_rng), _rng.Next(0, 0x80), (ulong)_rng.Next(0, 16 << 20), (ulong)_rng.Next(0, 1 << 20));
                break;

            case 25:
                s.PrepFadvise(p.Fd(_rng), RandomOffset(), (uint)_rng.Next(), _rng.Next(-1, 8));
                break;

            case 26:
                s.PrepFtruncate(p.Fd(_rng), _rng.Next(2) == 0 ? (ulong)_rng.Next(0, 1 << 20) : (ulong)_rng.NextInt64());
                break;

            case 27:
                s.PrepSplice(p.Fd(_rng), _rng.Next(2) == 0 ? -1 : _rng.Next(0, 1 << 20), p.Fd(_rng), _rng.Next(2) == 0 ? -1 : _rng.Next(0, 1 << 20), (uint)_rng.Next(0, 1 << 16), (uint)_rng.Next(0, 16));
                break;

            case 28:
                s.PrepTee(p.Fd(_rng), p.Fd(_rng), (uint)_rng.Next(0, 1 << 16), (uint)_rng.Next(0, 16));
                break;

            case 29:
            {
                (nint a, uint l) = p.Range(_rng, 65536);
                if (_rng.Next(2) == 0)
                {
                    s.PrepRecv(p.Fd(_rng), a, l, _rng.Next(0, 0x100));
                }
                else
                {
                    s.PrepSend(p.Fd(_rng), a, l, _rng.Next(0, 0x100));
                }

                break;
            }

            case 30:
            {
                // statx with an empty path and AT_EMPTY_PATH on a pool fd, or a null path; the result lands in the arena.
                (nint buf, uint _) = p.Range(_rng, 0);
                nint statxBuffer = buf == 0 || buf + 256 > p.Arena.Address + FuzzPool.ArenaBytes ? p.Arena.Address : buf;
                s.PrepStatx(p.Fd(_rng), _rng.Next(4) == 0 ? 0 : p.EmptyPath.Address, 0x1000 /* AT_EMPTY_PATH */ | _rng.Next(0, 0x100), (uint)_rng.Next(), statxBuffer);
                break;
            }

            case 31:
            {
                // IORING_OP_PROVIDE_BUFFERS into the arena: count * length stays inside it.
                int length = _rng.Next(1, 4096);
                int count = _rng.Next(1, 16);
                int offset = _rng.Next(0, FuzzPool.ArenaBytes - (length * count));
                s.PrepProvideBuffers(p.Arena.Address + offset, length, _rng.Next(10) == 0 ? _rng.Next(-2, 70000) : count, (ushort)_rng.Next(0, 4), (ushort)_rng.Next(0, 100));
                break;
            }

            case 32:
                s.PrepRemoveBuffers(_rng.Next(-1, 20), (ushort)_rng.Next(0, 4));
                break;

            case 33:
            {
                // A read that picks a provided buffer (legacy or buffer ring) of group 0..3.
                s.PrepRead(p.Fd(_rng), 0, (uint)_rng.Next(0, 8192), RandomOffset());
                s.Flags |= SqeFlags.BufferSelect;
                s.BufGroup = (ushort)_rng.Next(0, 4);
                break;
            }

            case 34:
            {
                int count = _rng.Next(0, FuzzPool.MaxFdsArray + 1);
                nint fds = p.FillFds(_rng, count);
                s.PrepFilesUpdate(fds, _rng.Next(10) == 0 ? (uint)_rng.Next() : (uint)count, _rng.Next(8) == 0 ? -1 /* alloc */ : _rng.Next(-2, 20));
                break;
            }

            case 36:
            {
                // A raw random opcode with only invalid descriptors and null addresses: whatever it is, it can name nothing.
                s.Opcode = (Opcode)_rng.Next(0, 256);
                s.Fd = p.InvalidFds[_rng.Next(2)];
                s.Len = (uint)_rng.Next(0, 2);
                break;
            }

            default:
            {
                // Raw garbage in the flag words of a read from a pool fd into the arena.
                (nint a, uint l) = p.Range(_rng, 4096);
                s.PrepRead(p.Fd(_rng), a, l, RandomOffset());
                s.IoPrio = (ushort)_rng.Next(0, 65536);
                s.Personality = (ushort)(_rng.Next(4) == 0 ? _rng.Next(0, 65536) : 0);
                s.RwFlags = _rng.Next();
                break;
            }
        }
    }

    private void Finish(ref Sqe s)
    {
        s.Flags |= RandomSqeFlags() & ~SqeFlags.BufferSelect;
        s.UserData = NextUserData();
        TraceSqe(s);
    }

    private void TraceSqe(in Sqe s)
    {
        _outstanding[s.UserData] = $"{s.UserData}:{s.Opcode} fd {s.Fd} flags {s.Flags} len {s.Len} off {s.Off} rw 0x{s.RwFlags:x} iter {Iteration}";
        if (Trace)
        {
            Console.Error.WriteLine($"    sqe user_data {s.UserData}: {s.Opcode} fd {s.Fd} flags {s.Flags} len {s.Len} off {s.Off} rw_flags 0x{s.RwFlags:x}");
        }
    }

    private ulong RandomOffset() => _rng.Next(8) switch
    {
        0 => ulong.MaxValue,
        1 => (ulong)_rng.NextInt64(),
        2 => (ulong)_rng.NextInt64(0, 1L << 40),
        3 => long.MaxValue,
        _ => (ulong)_rng.Next(0, 128 * 1024),
    };

    private int RandomRwFlags() => _rng.Next(4) == 0 ? _rng.Next() : 0;

    // ---- waits and reaping ----

    /// <summary>Runs a call that may legitimately block for a request that never completes, with the rescue armed.</summary>
    private void Blocking(string name, Action call)
    {
        Ring ring = _ring!;
        _rescue.Arm(ring.Fd);
        try
        {
            Call(name, call);
        }
        finally
        {
            // A rescue CQE is a completion the ring did not submit: once one is reaped, Ring.InFlight (documented to
            // count only this ring's requests) is low by one, so idle checks no longer apply to this ring.
            _inFlightUnreliable |= _rescue.Disarm() > 0;
        }
    }

    private void SubmitAndWait()
    {
        uint n = _rng.Next(10) switch
        {
            0 => 0,
            1 => Pick(uint.MaxValue, _ring!.CqEntries + 1, 1u << 20),
            _ => (uint)_rng.Next(1, 4),
        };
        Blocking($"SubmitAndWait({(n > 4 ? "big" : n.ToString(CultureInfo.InvariantCulture))})", () =>
        {
            _ = _ring!.SubmitAndWait(n);

            // After a full submit (nothing left in the SQ) the wait must have been honoured; a partial submit (an
            // SQE failed) skips the kernel's wait by design.
            bool fullSubmit = _ring.SqReady == 0 && (_ring.SetupFlags & SetupFlags.SqPoll) == 0;
            if (fullSubmit && _ring.CqReady < Math.Min(n, _ring.CqEntries) && !_ring.IsCqOverflowPending)
            {
                Fail($"SubmitAndWait({n}) returned with only {_ring.CqReady} CQEs ready");
            }
        });
    }

    private void Waits()
    {
        Ring ring = _ring!;
        switch (_rng.Next(4))
        {
            case 0:
                Blocking("WaitCqe()", () =>
                {
                    bool idle = !_inFlightUnreliable && ring.InFlight == 0 && ring.CqReady == 0 && !ring.IsCqOverflowPending && !ring.ExpectExternalCompletions;
                    Cqe cqe = ring.WaitCqe();
                    if (idle)
                    {
                        Fail($"WaitCqe with nothing in flight returned {cqe} instead of throwing WaitWouldBlockForeverException");
                    }

                    MaybeSeen(cqe);
                });
                break;
            case 1:
            {
                TimeSpan t = RandomTimeSpan();
                Blocking("WaitCqe(timeout)", () => MaybeSeen(ring.WaitCqe(t)));
                break;
            }

            default:
            {
                TimeSpan t = RandomTimeSpan();
                Blocking("TryWaitCqe", () =>
                {
                    long start = Stopwatch.GetTimestamp();
                    if (ring.TryWaitCqe(t, out Cqe cqe))
                    {
                        MaybeSeen(cqe);
                        return;
                    }

                    TimeSpan elapsed = Stopwatch.GetElapsedTime(start);
                    if (t == Timeout.InfiniteTimeSpan || t > TimeSpan.FromHours(1))
                    {
                        Fail($"TryWaitCqe({t}) returned false after {elapsed.TotalMilliseconds:F1} ms");
                    }
                    else if (t > TimeSpan.Zero && elapsed < t - TimeSpan.FromMilliseconds(2))
                    {
                        Fail($"TryWaitCqe({t.TotalMilliseconds} ms) gave up after {elapsed.TotalMilliseconds:F2} ms");
                    }
                });
                break;
            }
        }
    }

    private void MaybeSeen(in Cqe cqe)
    {
        if (_rng.Next(5) != 0)
        {
            Cqe copy = cqe;
            Account(copy);
            _ring!.CqeSeen(copy);
        }
    }

    private void Reap()
    {
        Ring ring = _ring!;
        switch (_rng.Next(5))
        {
            case 0:
                Call("TryPeekCqe+CqeSeen", () =>
                {
                    while (ring.TryPeekCqe(out Cqe cqe))
                    {
                        Account(cqe);
                        ring.CqeSeen(cqe);
                    }
                });
                break;
            case 1:
            {
                int size = _rng.Next(0, 40);
                Call("PeekBatchCqe+CqAdvance", () =>
                {
                    Cqe[] batch = new Cqe[size];
                    int n = ring.PeekBatchCqe(batch);
                    int take = _rng.Next(0, n + 1);
                    for (int i = 0; i < take; i++)
                    {
                        Account(batch[i]);
                    }

                    ring.CqAdvance((uint)take);
                });
                break;
            }

            case 2:
                Call("ReadyCqes+CqAdvance", () =>
                {
                    CompletionBatch batch = ring.ReadyCqes;
                    if (_rng.Next(4) == 0)
                    {
                        // Out of range must throw before anything is consumed.
                        _ = batch[(uint)_rng.Next(0, (int)batch.Count + 3)];
                    }

                    foreach (ref readonly Cqe cqe in batch)
                    {
                        Account(cqe);
                    }

                    ring.CqAdvance(batch.Count);
                });
                break;
            case 3:
            {
                // A random CqAdvance: more than ready must be refused; otherwise account for what it consumes.
                uint count = _rng.Next(3) == 0 ? (uint)_rng.Next() : (uint)_rng.Next(0, 8);
                Call("CqAdvance(random)", () =>
                {
                    Cqe[] batch = new Cqe[Math.Min(count, 64)];
                    int n = ring.PeekBatchCqe(batch);
                    if (count <= n)
                    {
                        for (int i = 0; i < count; i++)
                        {
                            Account(batch[i]);
                        }
                    }

                    ring.CqAdvance(count);
                });
                break;
            }

            default:
                // CqeSeen must follow a CQE; calling it on an empty CQ is misuse and must be refused, not corrupt the ring.
                Call("CqeSeen(random)", () =>
                {
                    if (ring.TryPeekCqe(out Cqe real))
                    {
                        Account(real);
                        ring.CqeSeen(real);
                    }
                    else
                    {
                        ring.CqeSeen(new Cqe((ulong)_rng.NextInt64(), _rng.Next(), (CqeFlags)_rng.Next()));
                    }
                }, typeof(InvalidOperationException));
                break;
        }
    }

    // ---- registration ----

    private void Buffers()
    {
        Ring ring = _ring!;
        if (_rng.Next(3) == 0)
        {
            Call("UnregisterBuffers", ring.UnregisterBuffers);
            return;
        }

        int count = _rng.Next(12) == 0 ? 0 : _rng.Next(1, 8);
        var buffers = new Memory<byte>[count];
        for (int i = 0; i < count; i++)
        {
            buffers[i] = _rng.Next(15) switch
            {
                0 => Memory<byte>.Empty,
                < 8 => _pool.Arena.Memory.Slice(_rng.Next(0, FuzzPool.ArenaBytes / 2), _rng.Next(1, FuzzPool.ArenaBytes / 2)),
                _ => new byte[_rng.Next(1, 256 * 1024)],
            };
        }

        Call("RegisterBuffers", () => ring.RegisterBuffers(buffers));
    }

    private void Files()
    {
        Ring ring = _ring!;
        switch (_rng.Next(5))
        {
            case 0:
                Call("RegisterFiles", () => ring.RegisterFiles(_pool.FdTable(_rng, _rng.Next(0, 20))));
                break;
            case 1:
                Call("RegisterFilesSparse", () => ring.RegisterFilesSparse(_rng.Next(4) == 0 ? (uint)_rng.Next() : (uint)_rng.Next(0, 64)));
                break;
            case 2:
            case 3:
                Call("UpdateRegisteredFiles", () => ring.UpdateRegisteredFiles((uint)_rng.Next(0, 70), _pool.FdTable(_rng, _rng.Next(0, 10))));
                break;
            default:
                Call("UnregisterFiles", ring.UnregisterFiles);
                break;
        }
    }

    private void Misc()
    {
        Ring ring = _ring!;
        switch (_rng.Next(6))
        {
            case 0:
                Call("RegisterEventFd", () => ring.RegisterEventFd(_rng.Next(3) == 0 ? _pool.Fd(_rng) : _pool.EventFd, _rng.Next(2) == 0));
                break;
            case 1:
                Call("UnregisterEventFd", ring.UnregisterEventFd);
                break;
            case 2:
                Call("GetProbe", () => _ = ring.GetProbe().IsSupported((Opcode)_rng.Next(0, 256)));
                break;
            case 3:
                Call("SetIoWqMaxWorkers", () =>
                {
                    (uint b, uint u) = ring.SetIoWqMaxWorkers((uint)_rng.Next(0, 64), (uint)_rng.Next(0, 64));
                    _ = ring.SetIoWqMaxWorkers(b, u); // restore: the limit belongs to this thread's io-wq
                });
                break;
            case 4:
                Call("EventFdEnabled", () => ring.EventFdEnabled = _rng.Next(2) == 0);
                break;
            default:
                Call("ExpectExternalCompletions", () => ring.ExpectExternalCompletions = _rng.Next(4) == 0);
                break;
        }
    }

    private void BufferRings()
    {
        Ring ring = _ring!;
        if (_bufferRings.Count > 0 && _rng.Next(2) == 0)
        {
            BufferRing br = _bufferRings[_rng.Next(_bufferRings.Count)];
            switch (_rng.Next(5))
            {
                case 0:
                    Call("BufferRing.GetBuffer", () => _ = br.GetBuffer((ushort)_rng.Next(0, 70000)).Length);
                    break;
                case 1:
                    Call("BufferRing.GetData", () => _ = br.GetData(new Cqe(1, _rng.Next(-5, 70000), (CqeFlags)_rng.Next())).Length);
                    break;
                case 2:
                    // Recycling an id the kernel already holds is refused (InvalidOperationException), never queued twice.
                    Call("BufferRing.Recycle", () => br.Recycle((ushort)_rng.Next(0, 300)), typeof(InvalidOperationException));
                    break;
                default:
                    Call("BufferRing.Dispose", br.Dispose);
                    _bufferRings.Remove(br);
                    break;
            }

            return;
        }

        ushort entries = _rng.Next(8) switch
        {
            0 => (ushort)_rng.Next(0, 65536),
            1 => 32768,
            _ => (ushort)(1 << _rng.Next(0, 9)),
        };
        int size = _rng.Next(10) switch
        {
            0 => _rng.Next(int.MinValue, 1),
            1 => int.MaxValue,
            2 => 1 << 20,
            _ => _rng.Next(1, 4096),
        };
        if ((long)entries * size is > 64L << 20 and <= int.MaxValue)
        {
            size = 1; // keep memory bounded; the overflow case (> int.MaxValue) still goes through
        }

        ushort group = (ushort)_rng.Next(0, 6);
        Call("SetupBufferRing", () => _bufferRings.Add(ring.SetupBufferRing(group, entries, size)));
    }

    // ---- properties and static APIs ----

    private void Properties()
    {
        Ring ring = _ring!;
        Call("properties", () =>
        {
            _ = ring.SqReady + ring.SqSpaceLeft + ring.SqPending + ring.SqDropped + ring.CqReady + ring.CqOverflow;
            _ = ring.IsCqOverflowPending || ring.IsRingFdRegistered || ring.IsDisposed;
            _ = ring.InFlight + ring.RegisteredBufferCount + ring.Fd + ring.SqEntries + ring.CqEntries;
            _ = ring.Features | RingFeatures.None;
            _ = ring.SetupFlags;
            _ = ring.EventFdEnabled;
            _ = ring.BigCqe((uint)_rng.Next()).Length;
        });
    }

    private void StaticApis()
    {
        switch (_rng.Next(6))
        {
            case 0:
                Call("NativeBuffer", () =>
                {
                    using var b = new NativeBuffer(
                        _rng.Next(4) == 0 ? _rng.Next(int.MinValue, 1) : _rng.Next(1, 1 << 20),
                        _rng.Next(3) == 0 ? _rng.Next(-10, 1 << 16) : 1 << _rng.Next(0, 20));
                    b.Span[0] = 1;
                });
                break;
            case 1:
                Call("KernelTimespec.FromTimeSpan", () => _ = KernelTimespec.FromTimeSpan(RandomTimeSpan()));
                break;
            case 2:
            {
                string text = _rng.Next(3) switch
                {
                    0 => _rng.Next(-3, 5).ToString(CultureInfo.InvariantCulture),
                    1 => new string((char)_rng.Next(0, 128), _rng.Next(0, 4)),
                    _ => $" {_rng.Next(0, 3)}\n",
                };
                Call("ParseDisabledSysctl", () => _ = IoUringSupport.ParseDisabledSysctl(text), typeof(FormatException));
                Call("ParseSeccompMode", () => _ = IoUringSupport.ParseSeccompMode($"Name:\tx\nSeccomp:\t{text}\n"));
                break;
            }

            case 3:
                Call("Classify", () => _ = IoUringSupport.Classify(_rng.Next(-5, 200), _rng.Next(-1, 4), _rng.Next(-1, 4)));
                break;
            case 4:
                Call("Cqe.ThrowIfError", () => _ = new Cqe(1, _rng.Next(-200, 10), CqeFlags.None).ThrowIfError("fuzz"));
                break;
            default:
                Call("Probe.Current", () => _ = Probe.Current.IsSupported((Opcode)_rng.Next(0, 256)));
                break;
        }
    }

    /// <inheritdoc/>
    public override void Dispose()
    {
        DisposeRing("fuzzer disposed");
        _rescue.Dispose();
        Result.PinnedForeverAfter = ProcessStats.PinnedForeverObjects();
        _pool.Dispose(memoryIsIdle: Result.PinnedForeverAfter == Result.PinnedForeverBefore);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Result.RecordFdsAfter();
    }

    /// <summary>The result (complete after <see cref="Dispose"/>).</summary>
}
