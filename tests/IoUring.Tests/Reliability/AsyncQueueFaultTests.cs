// The operations under test take their own tokens (or none, on purpose); the test's token would change what is tested.
#pragma warning disable xUnit1051

using IoUring.Interop;
using IoUring.Tests.Async;

namespace IoUring.Tests.Reliability;

/// <summary>
/// The engine under queue pressure and cancellation races: thousands of operations on a tiny queue whose only
/// kernel places are held by blocked reads, and timed-out reads racing data in a loop. Each operation completes
/// exactly once with the right result; no data is lost or duplicated; a cancelled read's buffer never changes
/// after its await returned. (Plain file reads beyond the queue size are covered by
/// <c>Async/EngineReadWriteTests.More_operations_than_the_queue_holds_are_all_completed</c>.)
/// </summary>
public sealed class AsyncQueueFaultTests
{
    /// <summary>Slower than most waits (see <see cref="Wait.Patience"/>): a bound of 3 times the patience.</summary>
    private static readonly TimeSpan Generous = Wait.Patience * 3;

    [UringTheory]
    [MemberData(nameof(EngineModes.Both), MemberType = typeof(EngineModes))]
    public async Task Thousands_of_operations_queued_behind_blocked_reads_on_a_tiny_queue_each_complete_exactly_once(ContinuationMode mode)
    {
        using var file = new TempFile(256 * 1024, seed: 21);
        using var handle = file.Open();
        using var pipe = new TestPipe();

        // Two entries: a CQ of 8, so at most two operations in the kernel at a time. Two pipe reads take both places
        // and keep them until data arrives: everything else waits in the engine's pending list.
        using var engine = new IoUringEngine(new IoUringEngineOptions { QueueEntries = 2, Continuations = mode });
        byte[][] pipeBuffers = [new byte[1], new byte[1]];
        Task<int>[] blockers = pipeBuffers.Select(b => engine.ReadAsync(pipe.Read, b, -1).AsTask()).ToArray();
        await Wait.UntilAsync(() => engine.OperationsInFlight == 2, "both pipe reads hold the kernel places");

        const int Count = 4000;
        int[] completions = new int[Count];
        byte[][] buffers = Enumerable.Range(0, Count).Select(_ => new byte[64]).ToArray();
        Task[] ops = new Task[Count];
        for (int i = 0; i < Count; i++)
        {
            int k = i;
            ops[i] = i % 4 == 0
                ? Nop(engine, completions, k)
                : Read(engine, handle, buffers[k], (k * 64L) % file.Content.Length, completions, k);
        }

        await Task.Delay(50);
        Assert.All(ops, t => Assert.False(t.IsCompleted));
        Assert.Equal(2, engine.OperationsInFlight);

        // Free the places: everything queued must now run, once each.
        pipe.Put([7, 9]);
        int[] got = await Task.WhenAll(blockers).WaitAsync(Generous);
        Assert.Equal(2, got.Sum());
        await Task.WhenAll(ops).WaitAsync(Generous);
        Assert.All(completions, c => Assert.Equal(1, c));
        for (int i = 0; i < Count; i++)
        {
            if (i % 4 != 0)
            {
                long offset = (i * 64L) % file.Content.Length;
                Assert.True(buffers[i].AsSpan().SequenceEqual(file.Content.AsSpan((int)offset, 64)), $"read {i}");
            }
        }

        await Wait.UntilAsync(() => engine.OperationsInFlight == 0, "nothing left in flight");

        static async Task Nop(IoUringEngine e, int[] completions, int k)
        {
            await e.NopAsync();
            Interlocked.Increment(ref completions[k]);
        }

        static async Task Read(IoUringEngine e, Microsoft.Win32.SafeHandles.SafeFileHandle h, byte[] b, long offset, int[] completions, int k)
        {
            int n = await e.ReadAsync(h, b, offset);
            Assert.Equal(64, n);
            Interlocked.Increment(ref completions[k]);
        }
    }

    [Theory]
    [MemberData(nameof(EngineModes.Both), MemberType = typeof(EngineModes))]
    public async Task Timed_out_pipe_reads_racing_a_writer_lose_and_duplicate_nothing_and_never_write_their_buffers_later(ContinuationMode mode)
    {
        using var pipe = new TestPipe();
        using var engine = EngineModes.NewEngine(mode);
        const byte Canary = 0xDB;
        var received = new List<byte>();
        var cancelled = new List<byte[]>();
        int sent = 0;
        var rnd = new Random(77);

        // A writer puts single bytes 0, 1, 2, ... at random moments while reads time out at random moments.
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            var wr = new Random(78);
            while (!stop.IsCancellationRequested && Volatile.Read(ref sent) < 255)
            {
                pipe.Put([(byte)Volatile.Read(ref sent)]);
                Interlocked.Increment(ref sent);
                await Task.Delay(wr.Next(0, 3));
            }
        });

        for (int i = 0; i < 600 && Volatile.Read(ref sent) < 255; i++)
        {
            byte[] buffer = Enumerable.Repeat(Canary, 8).ToArray();
            using var cts = new CancellationTokenSource(TimeSpan.FromMicroseconds(rnd.Next(0, 3000)));
            try
            {
                int n = await engine.ReadAsync(pipe.Read, buffer, -1, cts.Token);
                Assert.InRange(n, 1, 8);
                received.AddRange(buffer.AsSpan(0, n).ToArray());
                Assert.All(buffer.AsSpan(n).ToArray(), b => Assert.Equal(Canary, b));
            }
            catch (OperationCanceledException)
            {
                Assert.All(buffer, b => Assert.Equal(Canary, b));
                cancelled.Add(buffer);
            }
        }

        stop.Cancel();
        await writer;

        // What is still in the pipe completes the stream: every byte sent arrives once, in order.
        int total = Volatile.Read(ref sent);
        while (received.Count < total)
        {
            byte[] rest = new byte[256];
            long n = Libc.Read((int)pipe.Read.DangerousGetHandle(), rest);
            Assert.True(n > 0);
            received.AddRange(rest.AsSpan(0, (int)n).ToArray());
        }

        Assert.Equal(Enumerable.Range(0, total).Select(x => (byte)x), received);
        Assert.NotEmpty(cancelled);

        // Later, with more data arriving: no cancelled read's buffer ever changes.
        pipe.Put(new byte[64]);
        await Task.Delay(50);
        Assert.All(cancelled, b => Assert.All(b, x => Assert.Equal(Canary, x)));
        Assert.Equal(0, engine.OperationsInFlight);
    }
}
