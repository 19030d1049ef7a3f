using System.Collections.Concurrent;
using System.IO.Pipelines;

namespace HttpPlaintext;

/// <summary>
/// The server's connection limits: at most <see cref="MaxConnections"/> at once (one more is answered 503 and
/// closed), and deadlines enforced by a once-a-second heartbeat, as Kestrel does: a request head must arrive within
/// <see cref="HeadTimeout"/> of its first byte, an idle keep-alive connection closes after
/// <see cref="KeepAliveTimeout"/>. A connection past its deadline has its pending read cancelled
/// (<see cref="PipeReader.CancelPendingRead"/>); the handler then answers 408 (if a request was under way) and closes.
/// The hot path only stores a deadline per read; the heartbeat does the rest.
/// </summary>
internal sealed class ConnectionGovernor : IDisposable
{
    private readonly ConcurrentDictionary<Tracked, byte> _connections = new();
    private readonly Timer _heartbeat;
    private int _count;
    private long _rejected;

    public ConnectionGovernor(int maxConnections, TimeSpan headTimeout, TimeSpan keepAliveTimeout)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxConnections);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(headTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(keepAliveTimeout, TimeSpan.Zero);
        MaxConnections = maxConnections;
        HeadTimeout = headTimeout;
        KeepAliveTimeout = keepAliveTimeout;
        _heartbeat = new Timer(static s => ((ConnectionGovernor)s!).Beat(), this, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    /// <summary>The most connections served at once.</summary>
    public int MaxConnections { get; }

    /// <summary>How long a request head may take from its first byte to its empty line.</summary>
    public TimeSpan HeadTimeout { get; }

    /// <summary>How long a connection may sit idle between requests.</summary>
    public TimeSpan KeepAliveTimeout { get; }

    /// <summary>Connections being served now.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Connections refused because the cap was reached.</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    /// <summary>Admits a connection, or returns null when <see cref="MaxConnections"/> are already served.</summary>
    public Tracked? TryAdmit(PipeReader input)
    {
        if (Interlocked.Increment(ref _count) > MaxConnections)
        {
            Interlocked.Decrement(ref _count);
            Interlocked.Increment(ref _rejected);
            return null;
        }

        var t = new Tracked(this, input);
        _connections[t] = 0;
        return t;
    }

    public void Dispose() => _heartbeat.Dispose();

    private void Beat()
    {
        long now = Environment.TickCount64;
        foreach (KeyValuePair<Tracked, byte> entry in _connections)
        {
            entry.Key.CheckDeadline(now);
        }
    }

    /// <summary>One admitted connection: its current deadline, and whether the heartbeat ended its wait.</summary>
    internal sealed class Tracked : IDisposable
    {
        private readonly ConnectionGovernor _governor;
        private readonly PipeReader _input;
        private long _deadline = long.MaxValue;
        private int _timedOut;

        public Tracked(ConnectionGovernor governor, PipeReader input)
        {
            _governor = governor;
            _input = input;
        }

        /// <summary>Whether the heartbeat cancelled a read because the deadline passed.</summary>
        public bool TimedOut => Volatile.Read(ref _timedOut) != 0;

        /// <summary>The next read must complete within the head timeout from <paramref name="requestStart"/> (a tick count).</summary>
        public void ExpectHead(long requestStart) => Volatile.Write(ref _deadline, requestStart + (long)_governor.HeadTimeout.TotalMilliseconds);

        /// <summary>The connection is idle between requests.</summary>
        public void ExpectIdle() => Volatile.Write(ref _deadline, Environment.TickCount64 + (long)_governor.KeepAliveTimeout.TotalMilliseconds);

        public void CheckDeadline(long now)
        {
            if (now > Volatile.Read(ref _deadline) && Interlocked.Exchange(ref _timedOut, 1) == 0)
            {
                _input.CancelPendingRead();
            }
        }

        public void Dispose()
        {
            if (_governor._connections.TryRemove(this, out _))
            {
                Interlocked.Decrement(ref _governor._count);
            }
        }
    }
}
