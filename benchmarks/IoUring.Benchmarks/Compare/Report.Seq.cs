using System.Text;

namespace IoUring.Benchmarks.Compare;

// The seq scenario's table and targets (issue 14).
internal sealed partial class Report
{
    private static double MBps(Summary s) => s.OpsPerSec / 1e6;

    /// <summary>CPU milliseconds per GiB moved (ops are bytes in seq).</summary>
    private static double CpuMsPerGiB(Summary s) => s.CpuUsPerOp * (1 << 30) / 1000;

    private Summary? FindSeq(string @case, int buffer, string contender) =>
        _summaries.FirstOrDefault(s => s.Scenario == Scenarios.Seq && s.Row.Case == @case && s.Row.Buffer == buffer && s.Contender == contender);

    private void SeqTable(StringBuilder sb)
    {
        sb.AppendLine();
        sb.AppendLine("seq: one pass over the data file per run (writes: a new file of the same size; copy: the data file, cached, to a new file, no fsync).");
        sb.AppendLine();
        sb.AppendLine("| case | buffer | contender | MB/s | CPU ms/GiB | ctx sw/MiB | B alloc/MiB | threads | MB/s min–max |");
        sb.AppendLine("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (string c in SeqContenders.Cases)
        {
            foreach (int buffer in SeqContenders.Buffers)
            {
                foreach (Summary s in _summaries.Where(x => x.Scenario == Scenarios.Seq && x.Row.Case == c && x.Row.Buffer == buffer))
                {
                    sb.AppendLine(Inv,
                        $"| {c} | {buffer >> 10} KiB | {s.Contender} | {MBps(s):N0} | {CpuMsPerGiB(s):F0} | {s.CtxPerOp * (1 << 20):F2} | {Fmt(s.BytesPerOp * (1 << 20), "F0")} | {s.Threads} | {s.OpsMin / 1e6:N0}–{s.OpsMax / 1e6:N0} |");
                }
            }
        }

        sb.AppendLine();
        sb.AppendLine("seq columns: medians over the rounds. MB/s = 10^6 bytes per second of the pass (open to close, fsync included for write+fsync). CPU ms/GiB = user + system time of the whole process (getrusage) per GiB moved: the engines' threads and the thread pool included. Hot reads start with the file cached; cold reads start with it evicted (posix_fadvise DONTNEED) and keep the kernel's default read-ahead (each contender opens the file itself).");
    }

    /// <summary>
    /// Issue 14's targets, at each buffer size: the uring stream against an async FileStream (hot: at least its MB/s for
    /// at most its CPU per GiB; cold: 1.3 × its MB/s for at most its CPU), the file pipes 1.2 × their <c>PipeReader.Create</c>
    /// / <c>PipeWriter.Create</c> counterparts, the copy at least <c>CopyToAsync</c> between FileStreams.
    /// </summary>
    private IEnumerable<(string Target, string Measured, bool? Ok)> SeqTargets()
    {
        const string FS = SeqContenders.FileStreamAsync, FP = SeqContenders.FileStreamPipe, US = SeqContenders.UringStream, UP = SeqContenders.UringPipe;
        foreach (int b in SeqContenders.Buffers)
        {
            string k = $"{b >> 10} KiB";
            Summary? hot = FindSeq(SeqContenders.ReadHot, b, US), hotFs = FindSeq(SeqContenders.ReadHot, b, FS);
            yield return Ratio($"seq read hot {k}: uring-stream MB/s ≥ 1.0 × filestream-async", hot, hotFs, MBps, "MB/s", r => r >= 1.0);
            yield return Ratio($"seq read hot {k}: uring-stream CPU/GiB ≤ 1.0 × filestream-async", hot, hotFs, CpuMsPerGiB, "ms/GiB", r => r <= 1.0);
            Summary? cold = FindSeq(SeqContenders.ReadCold, b, US), coldFs = FindSeq(SeqContenders.ReadCold, b, FS);
            yield return Ratio($"seq read cold {k}: uring-stream MB/s ≥ 1.3 × filestream-async", cold, coldFs, MBps, "MB/s", r => r >= 1.3);
            yield return Ratio($"seq read cold {k}: uring-stream CPU/GiB ≤ 1.0 × filestream-async", cold, coldFs, CpuMsPerGiB, "ms/GiB", r => r <= 1.0);
            foreach (string c in new[] { SeqContenders.Write, SeqContenders.WriteFsync })
            {
                yield return Ratio($"seq {c} {k}: uring-stream MB/s ≥ 1.0 × filestream-async", FindSeq(c, b, US), FindSeq(c, b, FS), MBps, "MB/s", r => r >= 1.0);
            }

            foreach (string c in new[] { SeqContenders.ReadHot, SeqContenders.ReadCold, SeqContenders.Write, SeqContenders.WriteFsync })
            {
                yield return Ratio($"seq {c} {k}: uring-pipe MB/s ≥ 1.2 × pipe-filestream", FindSeq(c, b, UP), FindSeq(c, b, FP), MBps, "MB/s", r => r >= 1.2);
            }

            yield return Ratio($"seq copy {k}: uring-copy MB/s ≥ 1.0 × copyto-filestream", FindSeq(SeqContenders.Copy, b, SeqContenders.UringCopy), FindSeq(SeqContenders.Copy, b, SeqContenders.FileStreamCopy), MBps, "MB/s", r => r >= 1.0);
        }
    }
}
