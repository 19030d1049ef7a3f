using IoUring.Interop;

namespace IoUring;

/// <summary>
/// A thread that runs an engine's loop. An engine starts on a worker of its own; when its continuations may block
/// (<see cref="ContinuationMode.Inline"/> with hand-off), the <see cref="EngineMonitor"/> moves the ring to another
/// worker when the owner is stuck in one continuation, and the old worker, once that continuation returns, goes idle
/// here to serve the next hand-off (as Go keeps idle threads for processors handed off during system calls).
/// </summary>
/// <remarks>Idle workers wait on a semaphore of their own and leave after <see cref="IdleLifetime"/> unused, but for the
/// last one, which stays for the next hand-off.</remarks>
internal sealed class EngineWorker
{
    /// <summary>Idle workers kept at most; a worker going idle beyond that ends.</summary>
    private const int MaxIdle = 16;

    /// <summary>Workers alive at most (running, blocked in a continuation, or idle); no hand-off beyond that.</summary>
    internal const int MaxLive = 1024;

    /// <summary>Idle workers that never expire: the next hand-off finds a thread waiting, and allocates nothing.</summary>
    private const int MinIdle = 1;

    /// <summary>How long an idle worker beyond <see cref="MinIdle"/> waits for work before it ends.</summary>
    private static readonly TimeSpan IdleLifetime = TimeSpan.FromSeconds(30);

    private static readonly object s_gate = new();

    /// <summary>The idle workers, a stack linked through <see cref="_nextIdle"/> (under <see cref="s_gate"/>).</summary>
    private static EngineWorker? s_idle;
    private static int s_idleCount;

    /// <summary>Workers alive.</summary>
    private static int s_live;

    private readonly Thread _thread;

    /// <summary>Released once per assignment.</summary>
    private readonly SemaphoreSlim _signal = new(0);

    /// <summary>
    /// True for a worker started with its engine (<see cref="StartFresh"/>), whose first assignment comes without a
    /// signal. A worker from <see cref="Acquire"/> always waits for its signal first, even when <see cref="TakeOver"/>
    /// has set <see cref="_engine"/> before the thread ran: skipping that wait would leave the release counted, the
    /// worker's next idle wait would return at once without work, and the thread would end while still on the idle
    /// stack, so a later hand-off would give a ring to a thread that no longer exists.
    /// </summary>
    private readonly bool _startsAssigned;

    /// <summary>The engine to run next and how (set before <see cref="_signal"/> is released).</summary>
    private IoUringEngine? _engine;
    private bool _takeOver;

    /// <summary>Link in the idle stack.</summary>
    private EngineWorker? _nextIdle;

    /// <summary>The thread's <c>/proc/self/task/TID/stat</c>, NUL-terminated (written when the thread starts).</summary>
    private byte[] _statPath = [];

    /// <summary>Where the monitor reads the stat file into (monitor only).</summary>
    private readonly byte[] _statBuffer = new byte[512];

    private EngineWorker(string name, bool startsAssigned)
    {
        _thread = new Thread(ThreadMain) { IsBackground = true, Name = name };
        _startsAssigned = startsAssigned;
    }

    /// <summary>Workers alive now (diagnostics and tests).</summary>
    internal static int Live => Volatile.Read(ref s_live);

    /// <summary>The worker's managed thread id.</summary>
    public int ManagedThreadId => _thread.ManagedThreadId;

    /// <summary>Starts <paramref name="engine"/>'s loop on a new worker thread named <paramref name="name"/>.</summary>
    /// <exception cref="OutOfMemoryException">No thread could be created.</exception>
    public static void StartFresh(IoUringEngine engine, string name)
    {
        var worker = new EngineWorker(name, startsAssigned: true) { _engine = engine, _takeOver = false };
        Interlocked.Increment(ref s_live);
        try
        {
            worker._thread.UnsafeStart();
        }
        catch
        {
            Interlocked.Decrement(ref s_live);
            throw;
        }
    }

    /// <summary>
    /// An idle worker, or a new one (started and waiting), ready for <see cref="TakeOver"/>; null when
    /// <see cref="MaxLive"/> workers exist or no thread can be created.
    /// </summary>
    public static EngineWorker? Acquire()
    {
        lock (s_gate)
        {
            if (s_idle is EngineWorker idle)
            {
                s_idle = idle._nextIdle;
                idle._nextIdle = null;
                s_idleCount--;
                return idle;
            }
        }

        if (Interlocked.Increment(ref s_live) > MaxLive)
        {
            Interlocked.Decrement(ref s_live);
            return null;
        }

        var worker = new EngineWorker("io_uring engine (hand-off)", startsAssigned: false);
        try
        {
            worker._thread.UnsafeStart();
        }
        catch (Exception e) when (e is OutOfMemoryException or ThreadStartException)
        {
            Interlocked.Decrement(ref s_live);
            return null;
        }

        return worker;
    }

    /// <summary>Starts a worker and puts it on the idle stack, unless one is idle already (no-op when no thread can be made).</summary>
    public static void PrestartIdle()
    {
        lock (s_gate)
        {
            if (s_idleCount > 0)
            {
                return;
            }
        }

        Acquire()?.Release();
    }

    /// <summary>Has the worker take over <paramref name="engine"/>, whose ring the caller has just taken from its owner.</summary>
    public void TakeOver(IoUringEngine engine)
    {
        _engine = engine;
        _takeOver = true;
        _signal.Release();
    }

    /// <summary>Gives back a worker from <see cref="Acquire"/> that was not needed after all.</summary>
    public void Release()
    {
        if (!GoIdle())
        {
            // Not kept: wake it without work so its thread ends.
            _engine = null;
            _signal.Release();
        }
    }

    /// <summary>
    /// True when the thread is running or waiting for a processor (state <c>R</c> in its <c>/proc</c> stat), false when it
    /// sleeps, waits or is in uninterruptible I/O, or when that cannot be read. The monitor asks only about an owner that
    /// has been inside one continuation for a while (a read of a few hundred bytes; nothing is allocated after the first).
    /// </summary>
    public bool IsRunnable()
    {
        long n = Libc.ReadSmallFile(Volatile.Read(ref _statPath), _statBuffer);
        if (n <= 0)
        {
            return false;
        }

        // "tid (comm) S ...": the name may hold spaces and parentheses, so the state follows the last ')'.
        ReadOnlySpan<byte> text = _statBuffer.AsSpan(0, (int)n);
        int close = text.LastIndexOf((byte)')');
        return close >= 0 && close + 2 < text.Length && text[close + 2] == (byte)'R';
    }

    /// <summary>
    /// Tests only: run first on every new worker thread (to delay it, so that the race between a hand-off and the start
    /// of the worker made for it goes the way the test needs). Null in production: one load per thread start.
    /// </summary>
    internal static Action? ThreadStartingForTests;

    private void ThreadMain()
    {
        Volatile.Read(ref ThreadStartingForTests)?.Invoke();
        Volatile.Write(ref _statPath, System.Text.Encoding.ASCII.GetBytes($"/proc/self/task/{Libc.GetTid()}/stat\0"));
        if (!_startsAssigned && !WaitForWork())
        {
            Interlocked.Decrement(ref s_live);
            return;
        }

        while (true)
        {
            IoUringEngine engine = _engine!;
            bool takeOver = _takeOver;
            _engine = null;
            engine.RunOnWorker(this, takeOver);

            // The engine stopped, or its ring was handed to another worker while this one ran a continuation that has now
            // returned: wait for the next hand-off.
            if (!GoIdle() || !WaitForWork())
            {
                Interlocked.Decrement(ref s_live);
                return;
            }
        }
    }

    /// <summary>Pushes this worker on the idle stack; false when enough workers are idle already.</summary>
    private bool GoIdle()
    {
        lock (s_gate)
        {
            if (s_idleCount >= MaxIdle)
            {
                return false;
            }

            _nextIdle = s_idle;
            s_idle = this;
            s_idleCount++;
            return true;
        }
    }

    /// <summary>Waits for an assignment; false when the idle lifetime ran out (the worker then ends) or it was released without work.</summary>
    private bool WaitForWork()
    {
        while (!_signal.Wait(IdleLifetime))
        {
            lock (s_gate)
            {
                // The last idle worker stays; beyond it, a worker unused for IdleLifetime ends.
                if (s_idleCount > MinIdle && RemoveFromIdle())
                {
                    return false;
                }
            }

            // Kept as the last idle worker, or taken off the stack by Acquire at the last moment (its signal is
            // coming): wait again.
        }

        if (_engine is null)
        {
            // Released without work (Release found enough workers idle): this thread ends, so it must not stay on the
            // idle stack, where a hand-off could pick it.
            lock (s_gate)
            {
                _ = RemoveFromIdle();
            }

            return false;
        }

        return true;
    }

    /// <summary>
    /// True when every idle worker's thread is alive (tests): a worker on the idle stack whose thread has ended would
    /// swallow the next hand-off, and its engine would never run again.
    /// </summary>
    internal static bool IdleWorkersAlive()
    {
        lock (s_gate)
        {
            for (EngineWorker? w = s_idle; w is not null; w = w._nextIdle)
            {
                if (!w._thread.IsAlive)
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <summary>Unlinks this worker from the idle stack (under <see cref="s_gate"/>); false when it is not on it.</summary>
    private bool RemoveFromIdle()
    {
        EngineWorker? previous = null;
        for (EngineWorker? w = s_idle; w is not null; previous = w, w = w._nextIdle)
        {
            if (ReferenceEquals(w, this))
            {
                if (previous is null)
                {
                    s_idle = w._nextIdle;
                }
                else
                {
                    previous._nextIdle = w._nextIdle;
                }

                _nextIdle = null;
                s_idleCount--;
                return true;
            }
        }

        return false;
    }
}
