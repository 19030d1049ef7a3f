namespace IoUring.Tests.Preps;

/// <summary>futex wait and wake through the ring.</summary>
public sealed class FutexPrepTests
{
    private const Futex2Flags U32Private = Futex2Flags.SizeU32 | Futex2Flags.Private;

    [UringFact([Opcode.FutexWait, Opcode.FutexWake])]
    public void Futex_wake_wakes_a_pending_futex_wait()
    {
        var word = new Pinned<int>([0]);
        using var ring = new Ring(4);

        ref Sqe wait = ref ring.GetSqe();
        wait.PrepFutexWait(word.Address, 0, SqeConstants.FutexBitsetMatchAny, U32Private);
        wait.UserData = 1;
        Assert.Equal(1, ring.Submit());
        Assert.True(RingKit.Quiet(ring), "The futex wait completed without a wake.");

        ring.NextSqe(2).PrepFutexWake(word.Address, 1, SqeConstants.FutexBitsetMatchAny, U32Private);
        Cqe[] cqes = RingKit.RunMany(ring, 2);
        Assert.Equal(1, cqes.With(2).Res);
        Assert.Equal(0, cqes.With(1).Res);
        Pinned.KeepAlive(word);
    }

    [UringFact([Opcode.FutexWait, Opcode.FutexWake])]
    public void Futex_wait_on_a_changed_value_returns_EAGAIN_and_a_wake_with_no_waiters_returns_0()
    {
        var word = new Pinned<int>([5]);
        using var ring = new Ring(4);

        ring.NextSqe(1).PrepFutexWait(word.Address, 4, SqeConstants.FutexBitsetMatchAny, U32Private);
        ring.NextSqe(2).PrepFutexWake(word.Address, 10, SqeConstants.FutexBitsetMatchAny, U32Private);
        Cqe[] cqes = RingKit.RunMany(ring, 2);
        Assert.Equal(-E.EAGAIN, cqes.With(1).Res);
        Assert.Equal(0, cqes.With(2).Res);
        Pinned.KeepAlive(word);
    }
}
