namespace IoUring.Stress.Fuzz;

/// <summary>
/// The harness the API fuzzers share (<see cref="Fuzzer"/> for the Ring, <see cref="AsyncFuzzer"/> for the engine and
/// files, <see cref="SocketFuzzer"/> for sockets): each call is counted by outcome, an exception the API does not
/// document is a failure, an async call that does not finish within <see cref="CallBound"/> is a hang, and every
/// failure names the seed, the iteration and the last calls, so a run can be replayed.
/// </summary>
public abstract class FuzzHarness : IDisposable
{
    /// <summary>How long an awaited call may take before it counts as a hang.</summary>
    protected static readonly TimeSpan CallBound = TimeSpan.FromSeconds(30);

    /// <summary><c>IOURING_FUZZ_TRACE=1</c> prints every call to stderr (to find the call a crash or hang follows).</summary>
    protected static readonly bool Trace = Environment.GetEnvironmentVariable("IOURING_FUZZ_TRACE") == "1";

    /// <summary>The exception types the fuzzed API documents: any other is a failure.</summary>
    private readonly Type[] _documented;

    /// <summary>The fuzzer's name in failure messages ("async ", "sockets ", or empty for the Ring fuzzer).</summary>
    private readonly string _label;

    /// <summary>The last calls, newest last, for failure reports.</summary>
    private readonly Queue<string> _recent = new();

    /// <summary>Outcomes, failures and counters of the run.</summary>
    private readonly FuzzResult _result = new();

    /// <summary>Bumped by every call and iteration: the watchdog's sign of life.</summary>
    private long _progress;

    /// <summary>Creates the harness.</summary>
    /// <param name="seed">The run's seed (named in failures).</param>
    /// <param name="label">The fuzzer's name in failure messages, with a trailing space, or empty.</param>
    /// <param name="documented">The exception types the fuzzed API documents.</param>
    protected FuzzHarness(int seed, string label, Type[] documented)
    {
        Seed = seed;
        _label = label;
        _documented = documented;
    }

    /// <summary>The watchdog's sign of life.</summary>
    public long Progress => Interlocked.Read(ref _progress);

    /// <summary>What the run did and found.</summary>
    public FuzzResult Result => _result;

    /// <summary>The run's seed.</summary>
    protected int Seed { get; }

    /// <summary>The iteration being run.</summary>
    protected long Iteration { get; set; }

    /// <summary>The call being made, or empty between calls.</summary>
    protected string Current { get; private set; } = string.Empty;

    /// <summary>The last calls, for reports.</summary>
    protected string Recent => string.Join(" | ", _recent);

    /// <summary>The latest call, or "?" before the first.</summary>
    protected string LastCall => _recent.Count == 0 ? "?" : _recent.Last();

    /// <summary>The fuzzer's name in the watchdog's report ("fuzz", "async fuzz", "socket fuzz").</summary>
    protected abstract string WatchdogLabel { get; }

    /// <summary>Extra state printed with a traced call (the Ring fuzzer names its ring).</summary>
    protected virtual string TraceDetail => string.Empty;

    /// <summary>
    /// A token for a fuzzed call, one of <paramref name="choices"/> equally likely outcomes: cancelled before the call,
    /// cancelled by a timer of 0 to <paramref name="maxTimerMs"/> ms, or (the other choices) none. Two choices give a
    /// token that always ends the call (for calls that could otherwise wait forever).
    /// </summary>
    /// <param name="rng">The fuzzer's random source.</param>
    /// <param name="owned">Where the token's source goes, to be disposed at the end of the run.</param>
    /// <param name="choices">How many outcomes to draw from (at least 2).</param>
    /// <param name="maxTimerMs">The longest timer, exclusive.</param>
    /// <returns>The token.</returns>
    protected static CancellationToken RandomToken(Random rng, List<IDisposable> owned, int choices, int maxTimerMs)
    {
        int r = rng.Next(choices);
        if (r > 1)
        {
            return default;
        }

        var c = r == 0 ? new CancellationTokenSource() : new CancellationTokenSource(TimeSpan.FromMilliseconds(rng.Next(0, maxTimerMs)));
        if (r == 0)
        {
            c.Cancel();
        }

        owned.Add(c);
        return c.Token;
    }

    /// <summary>
    /// Runs up to <paramref name="iterations"/> random steps (or until <paramref name="maxSeconds"/> pass) under a
    /// watchdog that reports a step making no progress for 90 s, then tears down what the steps made.
    /// </summary>
    /// <returns><see cref="Result"/>.</returns>
    public FuzzResult Run(long iterations, double maxSeconds)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using (var watchdog = new Watchdog(() => Progress, TimeSpan.FromSeconds(90), () => $"{WatchdogLabel}: {Describe()}"))
        {
            for (Iteration = 0; Iteration < iterations && clock.Elapsed.TotalSeconds < maxSeconds; Iteration++)
            {
                Tick();
                Step();
            }

            TearDown();
        }

        Result.Iterations = Iteration;
        Result.Seconds = clock.Elapsed.TotalSeconds;
        return Result;
    }

    /// <summary>Releases the fuzzer's files, pipes and memory, and records what leaked.</summary>
    public abstract void Dispose();

    /// <summary>Describes where the run is, for the watchdog's hang report.</summary>
    public virtual string Describe() => $"seed {Seed}, iteration {Iteration}, in {Current}; recent calls: {Recent}";

    /// <summary>One random action.</summary>
    protected abstract void Step();

    /// <summary>Disposes what the steps made (at the end of a run; <see cref="Dispose"/> releases the rest).</summary>
    protected abstract void TearDown();

    /// <summary>Marks progress without a call (the start of an iteration).</summary>
    protected void Tick() => Interlocked.Increment(ref _progress);

    /// <summary>
    /// Makes call <paramref name="name"/>: counts "ok", or the documented exception it threw, or fails the run for an
    /// undocumented one (<paramref name="alsoDocumented"/> adds a type this call documents).
    /// </summary>
    /// <returns>True when the call returned normally.</returns>
    protected bool Call(string name, Action action, Type? alsoDocumented = null)
    {
        Begin(name);
        try
        {
            action();
            Count(name, "ok");
            return true;
        }
        catch (AggregateException a) when (a.InnerExceptions.Count == 1)
        {
            Classify(name, a.InnerException!, alsoDocumented);
            return false;
        }
        catch (Exception e)
        {
            Classify(name, e, alsoDocumented);
            return false;
        }
        finally
        {
            Current = string.Empty;
        }
    }

    /// <summary>Calls an async entry point and waits for it, at most <see cref="CallBound"/>.</summary>
    protected void Await(string name, Func<ValueTask> call) => Call(name, () => Wait(name, call().AsTask()));

    /// <summary>Calls an async entry point and waits for its value, at most <see cref="CallBound"/>; default when it failed.</summary>
    protected T? Await<T>(string name, Func<ValueTask<T>> call)
    {
        T? value = default;
        Call(name, () =>
        {
            Task<T> t = call().AsTask();
            Wait(name, t);
            value = t.Result;
        });
        return value;
    }

    /// <summary>Waits for <paramref name="t"/> at most <see cref="CallBound"/>; a longer wait is reported as a hang.</summary>
    protected void Wait(string name, Task t)
    {
        if (!t.Wait(CallBound))
        {
            Fail($"{name}: HANG: not complete after {CallBound.TotalSeconds} s");
            throw new HangException();
        }
    }

    /// <summary>
    /// Counts a fuzzer-specific outcome of a thrown exception before the documented-type check; true when it did.
    /// </summary>
    protected virtual bool ClassifySpecial(string name, Exception e) => false;

    /// <summary>Adds one to outcome <paramref name="outcome"/> of call <paramref name="name"/>.</summary>
    protected void Count(string name, string outcome)
    {
        string key = $"{name}: {outcome}";
        _result.Outcomes.TryGetValue(key, out long n);
        _result.Outcomes[key] = n + 1;
    }

    /// <summary>Records a failure with the seed, the iteration and the last calls (at most 200 per run).</summary>
    protected void Fail(string message)
    {
        if (_result.Failures.Count < 200)
        {
            _result.Failures.Add($"[{_label}seed {Seed} iteration {Iteration}] {message}; recent: {Recent}");
        }
    }

    private void Begin(string name)
    {
        Current = name;
        _result.Calls++;
        Interlocked.Increment(ref _progress);
        if (_recent.Count == 12)
        {
            _recent.Dequeue();
        }

        _recent.Enqueue(name);
        if (Trace)
        {
            Console.Error.WriteLine($"[{Iteration}] {name}{TraceDetail}");
        }
    }

    private void Classify(string name, Exception e, Type? alsoDocumented)
    {
        if (e is HangException)
        {
            Count(name, "HANG");
            return;
        }

        if (ClassifySpecial(name, e))
        {
            return;
        }

        if (_documented.Any(t => t.IsInstanceOfType(e)) || (alsoDocumented?.IsInstanceOfType(e) ?? false))
        {
            Count(name, e.GetType().Name);
            if (e is IoUringException io && string.IsNullOrWhiteSpace(io.Message))
            {
                Fail($"{name}: IoUringException without a message");
            }

            return;
        }

        Count(name, "UNDOCUMENTED " + e.GetType().Name);
        Fail($"{name}: undocumented {e.GetType().FullName}: {e.Message}\n{e.StackTrace}");
    }

    /// <summary>Thrown by <see cref="Wait"/> for a call that did not finish: counted as a hang, never as the API's own exception.</summary>
    private sealed class HangException : Exception
    {
        public HangException()
            : base("The call did not finish within the fuzzer's bound.")
        {
        }
    }
}
