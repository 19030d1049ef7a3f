using System.Diagnostics;

namespace IoUring.Stress.Fuzz;

/// <summary>
/// Unblocks a fuzzed wait that is legitimately waiting for a request that will never complete (a read on an empty
/// pipe, a timeout of hours): while armed, after a grace period, a second ring on its own thread posts CQEs into the
/// target ring with IORING_OP_MSG_RING, so the wait has something to return. A wait that stays blocked even then is a
/// hang. Disarm() returns only when no MSG_RING can be sent any more, so the target may then be disposed.
/// </summary>
internal sealed class Rescue : IDisposable
{
    public const ulong Tag = 0xFEED_0000_0000_0000;
    private static readonly long Grace = Stopwatch.Frequency / 5;
    private static readonly long Interval = Stopwatch.Frequency / 20;

    private readonly object _gate = new();
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _stop = new();
    private int _targetFd = -1;
    private long _armedAt;
    private long _lastSent;
    private int _sent;

    public Rescue()
    {
        _thread = new Thread(Loop) { IsBackground = true, Name = "fuzz rescue" };
        _thread.Start();
    }

    /// <summary>Total CQEs posted by rescues.</summary>
    public int Sent { get; private set; }

    public bool Available { get; private set; } = true;

    public void Arm(int targetFd)
    {
        lock (_gate)
        {
            _targetFd = targetFd;
            _armedAt = Stopwatch.GetTimestamp();
            _sent = 0;
        }
    }

    /// <summary>Stops posting; returns how many CQEs this arming posted.</summary>
    public int Disarm()
    {
        lock (_gate)
        {
            _targetFd = -1;
            return _sent;
        }
    }

    private void Loop()
    {
        Ring ring;
        try
        {
            ring = new Ring(8);
        }
        catch (IoUringException)
        {
            Available = false;
            return;
        }

        using (ring)
        {
            while (!_stop.Wait(5))
            {
                lock (_gate)
                {
                    long now = Stopwatch.GetTimestamp();
                    if (_targetFd >= 0 && now - _armedAt > Grace && now - _lastSent > Interval)
                    {
                        ref Sqe sqe = ref ring.GetSqe();
                        sqe.PrepMsgRing(_targetFd, 0, Tag);
                        sqe.UserData = 1;
                        ring.Submit();
                        Cqe done = ring.WaitCqe();
                        ring.CqeSeen(done);
                        if (done.Res >= 0)
                        {
                            _sent++;
                            Sent++;
                        }

                        _lastSent = now;
                    }
                }
            }
        }
    }

    public void Dispose()
    {
        _stop.Set();
        _thread.Join();
        _stop.Dispose();
    }
}
