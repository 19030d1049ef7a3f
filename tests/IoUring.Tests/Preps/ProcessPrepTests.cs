using IoUring.Interop;

namespace IoUring.Tests.Preps;

/// <summary>waitid and vectored futex wait (6.7).</summary>
public sealed class ProcessPrepTests
{
    private const Futex2Flags U32Private = Futex2Flags.SizeU32 | Futex2Flags.Private;

    [UringFact(Opcode.WaitId)]
    public void Waitid_reaps_a_child_and_reports_its_pid_and_exit_status()
    {
        int pid = Libc.Spawn("/bin/sh", ["sh", "-c", "exit 7"]);
        Assert.True(pid > 0, $"posix_spawn failed: {pid}");
        var info = new Pinned<WaitIdInfo>(1);
        using var ring = new Ring(4);

        ring.GetSqe().PrepWaitId(WaitIdType.Pid, pid, info.Address, WaitIdOptions.Exited);
        Assert.Equal(0, RingKit.Run(ring).Res);
        Assert.Equal(pid, info.Value.ProcessId);
        Assert.Equal(WaitIdCode.Exited, info.Value.Code);
        Assert.Equal(7, info.Value.Status);
        Assert.Equal(17, info.Value.Signal); // SIGCHLD

        // Reaped: a second wait finds no such child.
        ring.GetSqe().PrepWaitId(WaitIdType.Pid, pid, info.Address, WaitIdOptions.Exited | WaitIdOptions.NoHang);
        Assert.Equal(-E.ECHILD, RingKit.Run(ring).Res);
        Pinned.KeepAlive(info);
    }

    [UringFact([Opcode.FutexWaitV, Opcode.FutexWake])]
    public void Futex_waitv_completes_with_the_index_of_the_woken_futex()
    {
        var words = new Pinned<int>([0, 0, 0]);
        var waits = new Pinned<FutexWaitV>(3);
        for (int i = 0; i < 3; i++)
        {
            waits[i] = new FutexWaitV(words.AddressOf(i), 0, U32Private);
        }

        using var ring = new Ring(4);
        ref Sqe wait = ref ring.GetSqe();
        wait.PrepFutexWaitV(waits.Address, 3);
        wait.UserData = 1;
        Assert.Equal(1, ring.Submit());
        Assert.True(RingKit.Quiet(ring), "futex_waitv completed without a wake.");

        ring.NextSqe(2).PrepFutexWake(words.AddressOf(2), 1, SqeConstants.FutexBitsetMatchAny, U32Private);
        Cqe[] cqes = RingKit.RunMany(ring, 2);
        Assert.Equal(1, cqes.With(2).Res);
        Assert.Equal(2, cqes.With(1).Res);

        words[1] = 5; // no longer the expected value: the wait fails at once
        ring.GetSqe().PrepFutexWaitV(waits.Address, 3);
        Assert.Equal(-E.EAGAIN, RingKit.Run(ring).Res);
        Pinned.KeepAlive(words, waits);
    }
}
