using IoUring.Interop;
using static IoUring.Tests.RingKit;

namespace IoUring.Tests.RingTests;

/// <summary>Every setup option gives a ring that really reads a file: the bytes are checked, not just the result.</summary>
public sealed class OptionsTests
{
    public static TheoryData<string> Variants() =>
    [
        "Default",
        "SqPoll",
        "CoopTaskRun+TaskRunFlag",
        "SingleIssuer+DeferTaskRun",
        "SubmitAll",
        "NoSqArray",
        "Sqe128",
        "Cqe32",
        "CqEntries",
        "Clamp",
        "RegisterRingFd=false",
    ];

    private static (uint Entries, RingOptions Options) Make(string variant) => variant switch
    {
        "Default" => (8, new RingOptions()),
        "SqPoll" => (8, new RingOptions { SqPoll = true, SqPollIdle = TimeSpan.FromMilliseconds(10) }),
        "CoopTaskRun+TaskRunFlag" => (8, new RingOptions { CoopTaskRun = true, TaskRunFlag = true }),
        "SingleIssuer+DeferTaskRun" => (8, new RingOptions { SingleIssuer = true, DeferTaskRun = true }),
        "SubmitAll" => (8, new RingOptions { SubmitAll = true }),
        "NoSqArray" => (8, new RingOptions { NoSqArray = true }),
        "Sqe128" => (8, new RingOptions { Sqe128 = true }),
        "Cqe32" => (8, new RingOptions { Cqe32 = true }),
        "CqEntries" => (4, new RingOptions { CqEntries = 64 }),
        "Clamp" => (100_000, new RingOptions { Clamp = true, CqEntries = 1_000_000 }),
        "RegisterRingFd=false" => (8, new RingOptions { RegisterRingFd = false }),
        _ => throw new ArgumentOutOfRangeException(nameof(variant)),
    };

    /// <summary>Creates the ring, skipping (with the reason) only when this kernel rejects the flag itself.</summary>
    private static Ring Create(string variant)
    {
        Kernel.RequireIoUring();
        (uint entries, RingOptions options) = Make(variant);
        try
        {
            return new Ring(entries, options);
        }
        catch (IoUringSetupException e) when (e.Errno == E.EINVAL)
        {
            Assert.Skip($"Kernel {IoUringSupport.KernelRelease()} rejects {variant}: {e.Message}");
            throw;
        }
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Each_option_reads_a_file_correctly(string variant)
    {
        using Ring ring = Create(variant);
        using var file = new TempFile(3 * 4096, seed: variant.Length);
        using var handle = file.Open();
        int fd = (int)handle.DangerousGetHandle();
        using var buffer = new NativeBuffer(4096);

        for (int round = 0; round < 3; round++)
        {
            buffer.Span.Clear();
            ring.NextSqe(0x5000 + (ulong)round).PrepRead(fd, buffer, (ulong)round * 4096);
            int submitted = ring.Submit();
            if (!ring.SetupFlags.HasFlag(SetupFlags.SqPoll))
            {
                Assert.Equal(1, submitted);
            }

            Cqe cqe = ring.WaitCqe();
            Assert.Equal(0x5000 + (ulong)round, cqe.UserData);
            Assert.Equal(4096, cqe.Res);
            if (ring.SetupFlags.HasFlag(SetupFlags.Cqe32))
            {
                ReadOnlySpan<byte> big = ring.BigCqe();
                Assert.Equal(16, big.Length);
                Assert.All(big.ToArray(), b => Assert.Equal(0, b));
            }
            else
            {
                Assert.True(ring.BigCqe().IsEmpty);
            }

            ring.CqeSeen(cqe);
            Assert.Equal(file.Content.AsSpan(round * 4096, 4096).ToArray(), buffer.Span.ToArray());
        }

        Assert.Equal(0, ring.InFlight);
        Assert.Equal(0u, ring.CqReady);
    }

    [UringFact]
    public void The_kernel_reports_back_the_flags_and_sizes_that_were_asked_for()
    {
        using (Ring ring = Create("CqEntries"))
        {
            Assert.Equal(4u, ring.SqEntries);
            Assert.Equal(64u, ring.CqEntries);
            Assert.True(ring.SetupFlags.HasFlag(SetupFlags.CqSize));
        }

        using (Ring ring = Create("Clamp"))
        {
            Assert.Equal(Ring.MaxEntries, ring.SqEntries);
            Assert.Equal(2 * Ring.MaxEntries, ring.CqEntries); // clamped to IORING_MAX_CQ_ENTRIES = 2 * IORING_MAX_ENTRIES
        }

        using (Ring ring = Create("Default"))
        {
            Assert.Equal(8u, ring.SqEntries);
            Assert.Equal(16u, ring.CqEntries);
            Assert.False(ring.IsRingFdRegistered); // opt-in: the registration is per thread
        }

        using (var ring = new Ring(8, new RingOptions { RegisterRingFd = true }))
        {
            Assert.True(ring.IsRingFdRegistered);
        }

        using (Ring ring = Create("SingleIssuer+DeferTaskRun"))
        {
            // DeferTaskRun brings TaskRunFlag with it, so peeking notices deferred completions.
            Assert.True(ring.SetupFlags.HasFlag(SetupFlags.DeferTaskRun));
            Assert.True(ring.SetupFlags.HasFlag(SetupFlags.TaskRunFlag));
        }
    }

    [UringFact]
    public void Without_Clamp_too_many_entries_is_an_argument_error()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Ring(100_000));
        Assert.Contains("1 to 32768 entries", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Ring(0));
    }

    /// <summary>
    /// Peeks (<see cref="Ring.TryPeekCqe"/>, or <see cref="Ring.PeekBatchCqe"/> into <paramref name="batch"/>, which must
    /// then copy exactly one CQE) for the completion of a pipe read whose data was just written. From 6.2 (pipes handle
    /// <c>IOCB_NOWAIT</c>) the read waits on the pipe's poll queue and the write itself queues its completion, so one
    /// peek must find it. Before 6.2 an empty pipe's read blocks in an io-wq worker, which finishes it only when the
    /// scheduler runs it after the write: peeks are repeated until then (each must enter the kernel, or none finds it).
    /// </summary>
    private static bool PeekAfterWrite(Ring ring, out Cqe cqe, Cqe[]? batch = null)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            bool found = batch is null ? ring.TryPeekCqe(out cqe) : Copied(ring.PeekBatchCqe(batch), batch, out cqe);
            if (found || Kernel.AtLeast(6, 2) || clock.Elapsed > Wait.Patience)
            {
                return found;
            }

            Thread.Sleep(1);
        }

        static bool Copied(int n, Cqe[] batch, out Cqe first)
        {
            Assert.InRange(n, 0, 1);
            first = batch[0];
            return n == 1;
        }
    }

    [Fact]
    public void With_DeferTaskRun_a_peek_alone_delivers_a_completion_that_arrived_later()
    {
        using Ring ring = Create("SingleIssuer+DeferTaskRun");
        using var pipe = new TestPipe();
        using var buffer = new NativeBuffer(16);
        ring.GetSqe().PrepPipeRead(pipe.ReadFd, buffer, 1);
        Assert.Equal(1, ring.Submit());
        Assert.False(ring.TryPeekCqe(out _));

        // The write wakes the read, but with DEFER_TASKRUN its completion waits as task work until the ring enters
        // the kernel: the CQ stays empty and only IORING_SQ_TASKRUN tells. TryPeekCqe must notice and flush it.
        pipe.Put("def"u8);
        Assert.Equal(0u, ring.CqReady);
        Assert.True(PeekAfterWrite(ring, out Cqe cqe));
        Assert.Equal(1UL, cqe.UserData);
        Assert.Equal(3, cqe.Res);
        ring.CqeSeen(cqe);
        Assert.Equal("def"u8.ToArray(), buffer.Span[..3].ToArray());

        // The same through the batch APIs and a blocking wait.
        ring.GetSqe().PrepPipeRead(pipe.ReadFd, buffer, 2);
        ring.GetSqe().PrepPipeRead(pipe.ReadFd, buffer, 3);
        Assert.Equal(2, ring.Submit());
        pipe.Put("g"u8);
        Cqe[] batch = new Cqe[4];
        Assert.True(PeekAfterWrite(ring, out _, batch));
        Assert.Equal(1, batch[0].Res);
        ring.CqAdvance(1);
        Background late = Background.After(TimeSpan.FromMilliseconds(30), () => pipe.Put("h"u8));
        Cqe waited = ring.WaitCqe();
        ring.CqeSeen(waited);
        Assert.Equal(1, waited.Res);
        late.Join();
        Assert.Equal(0, ring.InFlight);
    }

    [Fact]
    public void With_SubmitAll_an_invalid_SQE_does_not_stop_the_batch()
    {
        using Ring ring = CreateWithBatchWithInvalidSecond("SubmitAll");
        Assert.Equal(4, ring.Submit());
        Dictionary<ulong, Cqe> done = ReapByUserData(ring, 4);
        Assert.Equal(0, done[1].Res);
        Assert.Equal(-E.EINVAL, done[2].Res);
        Assert.Equal(0, done[3].Res);
        Assert.Equal(0, done[4].Res);
        Assert.Equal(0, ring.InFlight);
    }

    [Fact]
    public void Without_SubmitAll_an_invalid_SQE_ends_the_submit_and_the_rest_stay_queued()
    {
        using Ring ring = CreateWithBatchWithInvalidSecond("Default");

        // The kernel stops at the SQE that fails to initialise; it counts as submitted (it gets a CQE).
        Assert.Equal(2, ring.Submit());
        Assert.Equal(2, ring.InFlight);
        Assert.Equal(2u, ring.SqReady);
        Assert.Equal(0u, ring.SqPending);
        Dictionary<ulong, Cqe> first = ReapByUserData(ring, 2);
        Assert.Equal(0, first[1].Res);
        Assert.Equal(-E.EINVAL, first[2].Res);

        // Nothing lost: the next Submit sends the two left behind.
        Assert.Equal(2, ring.Submit());
        Dictionary<ulong, Cqe> rest = ReapByUserData(ring, 2);
        Assert.Equal(0, rest[3].Res);
        Assert.Equal(0, rest[4].Res);
        Assert.Equal(0u, ring.SqReady);
        Assert.Equal(0, ring.InFlight);
    }

    /// <summary>A ring of <paramref name="variant"/> with four NOPs queued (user data 1 to 4), the second with an invalid opcode.</summary>
    private static Ring CreateWithBatchWithInvalidSecond(string variant)
    {
        Ring ring = Create(variant);
        for (ulong ud = 1; ud <= 4; ud++)
        {
            ref Sqe sqe = ref ring.GetSqe();
            sqe.PrepNop();
            if (ud == 2)
            {
                sqe.Opcode = (Opcode)250;
            }

            sqe.UserData = ud;
        }

        return ring;
    }
}
