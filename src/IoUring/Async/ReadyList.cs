using System.Runtime.CompilerServices;

namespace IoUring;

/// <summary>
/// The completions one pass of an engine's loop reaped (and the callbacks scheduled with them), run on the ring's
/// owner right after the pass: the continuation phase of <see cref="ContinuationMode.Inline"/>. Filled by the owner
/// while it does ring work; run by it (or, after a hand-off, partly by the thread that took the ring over).
/// </summary>
/// <remarks>
/// <para><b>Claims.</b> Each item is claimed with one atomic increment before it runs, so that a monitor that takes
/// the ring from a blocked owner can claim every item not yet started (<see cref="StealRest"/>) for the new owner,
/// while the blocked one, once it returns, finds nothing left: every item runs exactly once.</para>
/// <para>Grows by doubling to the largest pass it has seen, then allocates nothing; a list left behind by a hand-off
/// is recycled for the next one, so hand-offs allocate nothing either once the engine has done a few.</para>
/// </remarks>
internal sealed class ReadyList
{
    /// <summary>The list being run on this thread, or null: tells the engine it is in a continuation phase.</summary>
    [ThreadStatic]
    private static ReadyList? t_running;

    /// <summary>Completed requests (null where the item is a callback).</summary>
    private IoOperation?[] _ops;

    /// <summary>Each request's result.</summary>
    private long[] _results;

    /// <summary>Callbacks scheduled with the completions (pipe continuations), where <see cref="_ops"/> is null.</summary>
    private Action<object?>?[] _callbacks;

    /// <summary>Each callback's argument.</summary>
    private object?[] _states;

    /// <summary>Items added (owner, ring phase).</summary>
    private int _count;

    /// <summary>Items claimed so far; claims are atomic increments, a steal an exchange.</summary>
    private int _claimed;

    /// <summary>Items finished, ever; the monitor sees the owner blocked when it stops moving.</summary>
    private int _progress;

    /// <summary>1 once a hand-off has moved the unstarted items out (<see cref="StealRest"/>).</summary>
    private int _stolen;

    public ReadyList(int capacity)
    {
        _ops = new IoOperation?[capacity];
        _results = new long[capacity];
        _callbacks = new Action<object?>?[capacity];
        _states = new object?[capacity];
    }

    /// <summary>True when the calling thread is running a list's items (an engine's continuation phase).</summary>
    public static bool RunningOnThisThread => t_running is not null;

    /// <summary>Items added since the last <see cref="Reset"/>.</summary>
    public int Count => _count;

    /// <summary>Items the list holds before it has to grow.</summary>
    public int Capacity => _ops.Length;

    /// <summary>Items finished so far (read racily by the monitor).</summary>
    public int Progress => Volatile.Read(ref _progress);

    /// <summary>Adds a completed request (owner, ring phase).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(IoOperation op, long result)
    {
        int i = _count;
        if (i == _ops.Length)
        {
            Grow();
        }

        _ops[i] = op;
        _results[i] = result;
        _count = i + 1;
    }

    /// <summary>Adds a callback to run in order with the completions (owner, ring phase).</summary>
    public void Add(Action<object?> callback, object? state)
    {
        int i = _count;
        if (i == _ops.Length)
        {
            Grow();
        }

        _callbacks[i] = callback;
        _states[i] = state;
        _count = i + 1;
    }

    /// <summary>Runs items on the calling thread until none is left unclaimed.</summary>
    public void Run()
    {
        ReadyList? outer = t_running;
        t_running = this;
        try
        {
            while (true)
            {
                int i = Interlocked.Increment(ref _claimed) - 1;
                if (i >= _count)
                {
                    break;
                }

                RunAt(i);
                Volatile.Write(ref _progress, _progress + 1);
            }
        }
        finally
        {
            t_running = outer;
        }
    }

    /// <summary>Empties the list after <see cref="Run"/> for the owner's next pass.</summary>
    public void Reset()
    {
        _count = 0;
        Volatile.Write(ref _claimed, 0);
    }

    /// <summary>
    /// Claims every item not yet started and moves it into <paramref name="into"/>, an empty list (the monitor, having
    /// taken the ring from an owner blocked in one of this list's items). The old owner's later claims find nothing;
    /// once its item returns it waits for this to finish (<see cref="RecycleAfterSteal"/>) and never touches the list
    /// again but to recycle it.
    /// </summary>
    public void StealRest(ReadyList into)
    {
        int from = Interlocked.Exchange(ref _claimed, int.MaxValue / 2);
        int count = _count;
        for (int i = from; i < count; i++)
        {
            if (_ops[i] is IoOperation op)
            {
                into.Add(op, _results[i]);
                _ops[i] = null;
            }
            else
            {
                into.Add(_callbacks[i]!, _states[i]);
                _callbacks[i] = null;
                _states[i] = null;
            }
        }

        Volatile.Write(ref _stolen, 1);
    }

    /// <summary>
    /// Called by the old owner after it found its ring handed off: waits (microseconds) until the monitor has moved the
    /// rest out, then empties the list for reuse by a later hand-off.
    /// </summary>
    public void RecycleAfterSteal()
    {
        var spinner = default(SpinWait);
        while (Volatile.Read(ref _stolen) == 0)
        {
            spinner.SpinOnce();
        }

        _count = 0;
        _stolen = 0;
        Volatile.Write(ref _claimed, 0);
    }

    private void RunAt(int i) => CompletionItems.Run(_ops, _results, _callbacks, _states, i);

    private void Grow()
    {
        int size = _ops.Length * 2;
        Array.Resize(ref _ops, size);
        Array.Resize(ref _results, size);
        Array.Resize(ref _callbacks, size);
        Array.Resize(ref _states, size);
    }
}
