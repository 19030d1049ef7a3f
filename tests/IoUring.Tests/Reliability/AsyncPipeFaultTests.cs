// The operations under test take their own tokens (or none, on purpose); the test's token would change what is tested.
#pragma warning disable xUnit1051

using System.Buffers;
using System.IO.Pipelines;

namespace IoUring.Tests.Reliability;

/// <summary>Faults of the Pipelines adapters over a file, found by the async fuzzer.</summary>
public sealed class AsyncPipeFaultTests
{
    /// <summary>Slower than most waits (see <see cref="Wait.Patience"/>): a bound of 2 times the patience.</summary>
    private static readonly TimeSpan Generous = Wait.Patience * 2;

    [Theory]
    [MemberData(nameof(EngineModes.Both), MemberType = typeof(EngineModes))]
    public async Task A_consumer_that_needs_more_than_MaxSegments_before_consuming_gets_it_instead_of_waiting_forever(ContinuationMode mode)
    {
        using var temp = new TempFile(256 * 1024, seed: 11);
        using var engine = EngineModes.NewEngine(mode);
        using UringFile file = UringFile.Open(engine, temp.Path, FileMode.Open);

        // 4 KiB segments, at most 4 held: 16 KiB. The consumer wants a 100 KiB "message" before it consumes anything.
        PipeReader reader = UringFilePipe.CreateReader(file, new UringPipeReaderOptions { SegmentSize = 4096, ReadsInFlight = 2, MaxSegments = 4 });
        const int Message = 100 * 1024;
        ReadResult result;
        while (true)
        {
            result = await reader.ReadAsync().AsTask().WaitAsync(Generous);
            if (result.Buffer.Length >= Message || result.IsCompleted)
            {
                break;
            }

            // Examined everything, consumed nothing: the usual "need more data" answer of a parser.
            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }

        Assert.True(result.Buffer.Length >= Message, $"got {result.Buffer.Length} bytes, completed {result.IsCompleted}");
        Assert.True(result.Buffer.Slice(0, Message).ToArray().AsSpan().SequenceEqual(temp.Content.AsSpan(0, Message)));
        reader.AdvanceTo(result.Buffer.GetPosition(Message));

        // The rest streams normally.
        long total = Message;
        while (true)
        {
            result = await reader.ReadAsync().AsTask().WaitAsync(Generous);
            foreach (ReadOnlyMemory<byte> m in result.Buffer)
            {
                Assert.True(m.Span.SequenceEqual(temp.Content.AsSpan((int)total, m.Length)));
                total += m.Length;
            }

            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }

        Assert.Equal(temp.Content.Length, total);
        await reader.CompleteAsync();
    }

    [UringFact]
    public async Task CopyToAsync_after_a_read_that_examined_everything_copies_the_whole_rest()
    {
        using var temp = new TempFile(64 * 1024, seed: 12);
        using var engine = new IoUringEngine();
        using UringFile file = UringFile.Open(engine, temp.Path, FileMode.Open);
        PipeReader reader = UringFilePipe.CreateReader(file, new UringPipeReaderOptions { SegmentSize = 1024, ReadsInFlight = 1, MaxSegments = 1 });
        ReadResult first = await reader.ReadAsync().AsTask().WaitAsync(Generous);
        reader.AdvanceTo(first.Buffer.Start, first.Buffer.End);

        using var sink = new MemoryStream();
        await reader.CopyToAsync(sink).WaitAsync(Generous);
        Assert.Equal(temp.Content, sink.ToArray());
        await reader.CompleteAsync();
    }
}
