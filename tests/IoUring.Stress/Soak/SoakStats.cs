using System.Globalization;
using System.Text;
using System.Text.Json;

namespace IoUring.Stress.Soak;

/// <summary>Counters of a soak run and its failures; renders the text and JSON reports.</summary>
public sealed class SoakStats
{
    private const int MaxFailureMessages = 50;

    public SortedDictionary<string, long> OpsByKind { get; } = new(StringComparer.Ordinal);

    /// <summary>Negative results by "kind errno", expected (ETIME of a timer, ECANCELED of a cancelled request) or not.</summary>
    public SortedDictionary<string, long> ResultsByErrno { get; } = new(StringComparer.Ordinal);

    public SortedDictionary<string, long> Events { get; } = new(StringComparer.Ordinal);

    public List<string> Failures { get; } = [];

    public long FailureCount { get; private set; }

    public long BytesRead { get; set; }

    public long BytesWritten { get; set; }

    public long BytesVerified { get; set; }

    public void Op(string kind) => Bump(OpsByKind, kind);

    public void Result(string kind, int res)
    {
        if (res < 0)
        {
            Bump(ResultsByErrno, $"{kind} {IoUringException.ErrnoName(-res)}");
        }
    }

    public void Event(string name, long by = 1) => Bump(Events, name, by);

    public void Fail(string message)
    {
        FailureCount++;
        if (Failures.Count < MaxFailureMessages)
        {
            Failures.Add(message);
        }
    }

    private static void Bump(SortedDictionary<string, long> map, string key, long by = 1)
    {
        map.TryGetValue(key, out long v);
        map[key] = v + by;
    }

    public long TotalOps => OpsByKind.Values.Sum();
}

/// <summary>Everything a soak run reports.</summary>
public sealed class SoakReport
{
    public required string Driver { get; init; }

    public required int Seed { get; init; }

    public required double SecondsRequested { get; init; }

    public required double SecondsElapsed { get; init; }

    public required int Files { get; init; }

    public required int FileBytes { get; init; }

    public required string Kernel { get; init; }

    public required SoakStats Stats { get; init; }

    public required int FdsBefore { get; init; }

    public required int FdsAfter { get; init; }

    public required int PinnedForeverBefore { get; init; }

    public required int PinnedForeverAfter { get; init; }

    /// <summary>Pinned-forever objects the driver accounted for (see <see cref="SoakDriverResult.ExpectedPinnedForever"/>).</summary>
    public int ExpectedPinnedForever { get; init; }

    public required long RegisteredBytesDuringRun { get; init; }

    public required long RingInFlightAtEnd { get; init; }

    public required uint CqOverflowDropped { get; init; }

    public required long GcHeapBytesAtEnd { get; init; }

    public required long GcAllocatedBytes { get; init; }

    public required int Gen0Collections { get; init; }

    public required int Gen2Collections { get; init; }

    public required long PeakRssBytes { get; init; }

    public required string[] FileSha256 { get; init; }

    public required List<string> LeakedFds { get; init; }

    public bool Passed => Stats.FailureCount == 0 && (FdsAfter <= FdsBefore || LeakedFds.Count == 0) && PinnedForeverAfter <= PinnedForeverBefore + ExpectedPinnedForever && RingInFlightAtEnd == 0 && CqOverflowDropped == 0;

    public string ToText()
    {
        var sb = new StringBuilder();
        var ci = CultureInfo.InvariantCulture;
        sb.AppendLine(ci, $"soak ({Driver}): {(Passed ? "PASSED" : "FAILED")}  seed {Seed}, {SecondsElapsed:F1} s of {SecondsRequested:F0} s, {Files} files x {FileBytes / 1024} KiB, kernel {Kernel}");
        sb.AppendLine(ci, $"  operations: {Stats.TotalOps:N0} ({Stats.TotalOps / Math.Max(0.001, SecondsElapsed):N0}/s); read {Stats.BytesRead / (1 << 20):N0} MiB, written {Stats.BytesWritten / (1 << 20):N0} MiB, verified {Stats.BytesVerified / (1 << 20):N0} MiB byte for byte");
        foreach ((string kind, long n) in Stats.OpsByKind)
        {
            sb.AppendLine(ci, $"    {kind,-16} {n,12:N0}");
        }

        sb.AppendLine("  negative results by kind and errno (expected ones included):");
        foreach ((string key, long n) in Stats.ResultsByErrno)
        {
            sb.AppendLine(ci, $"    {key,-28} {n,12:N0}");
        }

        sb.AppendLine("  events:");
        foreach ((string key, long n) in Stats.Events)
        {
            sb.AppendLine(ci, $"    {key,-28} {n,12:N0}");
        }

        sb.AppendLine(ci, $"  failures: {Stats.FailureCount}");
        foreach (string f in Stats.Failures)
        {
            sb.AppendLine(ci, $"    {f}");
        }

        sb.AppendLine(ci, $"  fds before/after: {FdsBefore}/{FdsAfter}{(LeakedFds.Count > 0 ? "  leaked: " + string.Join(", ", LeakedFds) : string.Empty)}");
        sb.AppendLine(ci, $"  pinned-forever objects before/after: {PinnedForeverBefore}/{PinnedForeverAfter}; registered buffer bytes during the run: {RegisteredBytesDuringRun:N0}, after: 0");
        sb.AppendLine(ci, $"  ring in flight at end: {RingInFlightAtEnd}; CQEs dropped (cq.overflow): {CqOverflowDropped}");
        sb.AppendLine(ci, $"  GC heap at end {GcHeapBytesAtEnd / 1024:N0} KiB, allocated {GcAllocatedBytes / (1 << 20):N0} MiB, gen0 {Gen0Collections}, gen2 {Gen2Collections}; peak RSS (VmHWM) {PeakRssBytes / (1 << 20):N0} MiB");
        for (int i = 0; i < FileSha256.Length; i++)
        {
            sb.AppendLine(ci, $"  file{i} sha256 {FileSha256[i]}");
        }

        return sb.ToString();
    }

    public void WriteJson(Stream stream)
    {
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteString("driver", Driver);
        w.WriteBoolean("passed", Passed);
        w.WriteNumber("seed", Seed);
        w.WriteNumber("secondsRequested", SecondsRequested);
        w.WriteNumber("secondsElapsed", Math.Round(SecondsElapsed, 3));
        w.WriteNumber("files", Files);
        w.WriteNumber("fileBytes", FileBytes);
        w.WriteString("kernel", Kernel);
        w.WriteNumber("operations", Stats.TotalOps);
        w.WriteNumber("operationsPerSecond", Math.Round(Stats.TotalOps / Math.Max(0.001, SecondsElapsed)));
        WriteMap(w, "operationsByKind", Stats.OpsByKind);
        WriteMap(w, "negativeResultsByKindAndErrno", Stats.ResultsByErrno);
        WriteMap(w, "events", Stats.Events);
        w.WriteNumber("bytesRead", Stats.BytesRead);
        w.WriteNumber("bytesWritten", Stats.BytesWritten);
        w.WriteNumber("bytesVerified", Stats.BytesVerified);
        w.WriteNumber("failures", Stats.FailureCount);
        WriteStrings(w, "failureMessages", Stats.Failures);
        w.WriteNumber("fdsBefore", FdsBefore);
        w.WriteNumber("fdsAfter", FdsAfter);
        WriteStrings(w, "leakedFds", LeakedFds);
        w.WriteNumber("pinnedForeverBefore", PinnedForeverBefore);
        w.WriteNumber("pinnedForeverAfter", PinnedForeverAfter);
        w.WriteNumber("registeredBytesDuringRun", RegisteredBytesDuringRun);
        w.WriteNumber("registeredBytesAfter", 0);
        w.WriteNumber("ringInFlightAtEnd", RingInFlightAtEnd);
        w.WriteNumber("cqOverflowDropped", CqOverflowDropped);
        w.WriteNumber("gcHeapBytesAtEnd", GcHeapBytesAtEnd);
        w.WriteNumber("gcAllocatedBytes", GcAllocatedBytes);
        w.WriteNumber("gen0Collections", Gen0Collections);
        w.WriteNumber("gen2Collections", Gen2Collections);
        w.WriteNumber("peakRssBytes", PeakRssBytes);
        WriteStrings(w, "fileSha256", FileSha256);
        w.WriteEndObject();
    }

    private static void WriteStrings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (string value in values)
        {
            w.WriteStringValue(value);
        }

        w.WriteEndArray();
    }

    private static void WriteMap(Utf8JsonWriter w, string name, SortedDictionary<string, long> map)
    {
        w.WriteStartObject(name);
        foreach ((string k, long v) in map)
        {
            w.WriteNumber(k, v);
        }

        w.WriteEndObject();
    }
}
