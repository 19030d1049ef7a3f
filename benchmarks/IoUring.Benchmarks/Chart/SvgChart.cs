using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace IoUring.Benchmarks.Chart;

/// <summary>
/// Draws docs/benchmarks.svg from a comparison's JSON (no plotting library needed): one row per scenario, ops/s on
/// the left and CPU µs per operation on the right, for the QD 32 rows and the single-thread pread baseline.
/// Usage: <c>chart --json docs/benchmarks.json --svg docs/benchmarks.svg</c>.
/// </summary>
internal static class SvgChart
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private static readonly string[] Order =
    [
        "ring", "ring-registered", "liburing-c", "liburing-c-registered", "fio-io_uring",
        "randomaccess-async", "pread-pool", "fio-psync", "pread",
    ];

    private sealed record Point(string Scenario, string Contender, int Qd, int Threads, double Ops, double Cpu);

    public static int Run(string[] args)
    {
        string? json = null, svg = null;
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--json":
                    json = args[i + 1];
                    break;
                case "--svg":
                    svg = args[i + 1];
                    break;
                default:
                    Console.Error.WriteLine($"unknown option {args[i]}");
                    return 2;
            }
        }

        if (json is null || svg is null)
        {
            Console.Error.WriteLine("usage: chart --json PATH --svg PATH");
            return 2;
        }

        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json));
        var points = doc.RootElement.EnumerateArray().Select(e => new Point(
            e.GetProperty("scenario").GetString()!,
            e.GetProperty("contender").GetString()!,
            e.GetProperty("qd").GetInt32(),
            e.GetProperty("threads").GetInt32(),
            e.GetProperty("ops_per_sec").GetDouble(),
            e.GetProperty("cpu_us_per_op").GetDouble())).ToList();
        File.WriteAllText(svg, Render(points));
        Console.Error.WriteLine($"wrote {svg}");
        return 0;
    }

    private static string Render(List<Point> all)
    {
        const int width = 980, labelW = 230, panelW = 340, gap = 40, barH = 16, rowH = 21, titleH = 34, top = 50;
        string[] scenarios = ["nop", "hot", "cold"];
        var panels = scenarios
            .Select(s => (Scenario: s, Points: all
                .Where(p => p.Scenario == s && (p.Qd == 32 || p.Contender == "pread"))
                .OrderBy(p => Array.IndexOf(Order, p.Contender)).ThenBy(p => p.Qd).ToList()))
            .Where(p => p.Points.Count > 0)
            .ToList();
        int height = top + panels.Sum(p => titleH + (p.Points.Count * rowH) + 24) + 30 + 12;
        var sb = new StringBuilder();
        sb.AppendLine(Inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"12\">");
        sb.AppendLine(Inv, $"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>");
        sb.AppendLine("<text x=\"10\" y=\"24\" font-size=\"17\" font-weight=\"bold\">IoUring compare: 4 KiB random reads and NOPs, QD 32 (pread: 1 thread)</text>");
        sb.AppendLine("<text x=\"10\" y=\"42\" fill=\"#555\">left: operations per second (higher is better) — right: CPU µs per operation, user + system (lower is better)</text>");
        int y = top;
        foreach ((string scenario, List<Point> points) in panels)
        {
            string title = scenario switch
            {
                "nop" => "nop — ring overhead (IORING_OP_NOP)",
                "hot" => "hot — file in the page cache",
                _ => "cold — pages evicted, reads reach the device",
            };
            sb.AppendLine(Inv, $"<text x=\"10\" y=\"{y + 20}\" font-size=\"14\" font-weight=\"bold\">{WebUtility.HtmlEncode(title)}</text>");
            y += titleH;
            // fio's cold rows are not comparable (they run warm): keep them from setting the scale, clip their bars.
            bool Warm(Point p) => scenario == "cold" && p.Contender.StartsWith("fio", StringComparison.Ordinal);
            double maxOps = points.Where(p => !Warm(p)).Select(p => p.Ops).DefaultIfEmpty(points.Max(p => p.Ops)).Max();
            double maxCpu = points.Max(p => p.Cpu);
            int x1 = labelW, x2 = labelW + panelW + gap + 60;
            for (int i = 0; i < points.Count; i++)
            {
                Point p = points[i];
                int by = y + (i * rowH);
                string label = p.Contender is "pread-pool" or "fio-psync" ? $"{p.Contender} ({p.Threads} threads)"
                    : p.Contender == "pread" ? "pread (1 thread)"
                    : p.Contender == "randomaccess-async" ? $"{p.Contender} (QD {p.Qd}, {p.Threads} thr)"
                    : $"{p.Contender} (QD {p.Qd})";
                string color = Color(p.Contender);
                sb.AppendLine(Inv, $"<text x=\"{x1 - 6}\" y=\"{by + 12}\" text-anchor=\"end\">{WebUtility.HtmlEncode(label)}</text>");
                double w1 = Math.Clamp(p.Ops / maxOps * panelW, 1, panelW + 20);
                sb.AppendLine(Inv, $"<rect x=\"{x1}\" y=\"{by}\" width=\"{w1:F1}\" height=\"{barH}\" fill=\"{color}\"/>");
                string warm = Warm(p) ? " *" : string.Empty;
                sb.AppendLine(Inv, $"<text x=\"{x1 + w1 + 4:F1}\" y=\"{by + 12}\">{FormatOps(p.Ops)}{warm}</text>");
                double w2 = maxCpu > 0 ? Math.Max(1, p.Cpu / maxCpu * (width - x2 - 70)) : 1;
                sb.AppendLine(Inv, $"<rect x=\"{x2}\" y=\"{by}\" width=\"{w2:F1}\" height=\"{barH}\" fill=\"{color}\" opacity=\"0.75\"/>");
                sb.AppendLine(Inv, $"<text x=\"{x2 + w2 + 4:F1}\" y=\"{by + 12}\">{p.Cpu.ToString(p.Cpu >= 10 ? "F1" : "F3", Inv)} µs</text>");
            }

            sb.AppendLine(Inv, $"<line x1=\"{x1}\" y1=\"{y - 2}\" x2=\"{x1}\" y2=\"{y + (points.Count * rowH)}\" stroke=\"#999\"/>");
            sb.AppendLine(Inv, $"<line x1=\"{x2}\" y1=\"{y - 2}\" x2=\"{x2}\" y2=\"{y + (points.Count * rowH)}\" stroke=\"#999\"/>");
            y += (points.Count * rowH) + 24;
            if (scenario == "cold" && points.Any(p => p.Contender.StartsWith("fio", StringComparison.Ordinal)))
            {
                sb.AppendLine(Inv, $"<text x=\"{x1}\" y=\"{y - 6}\" fill=\"#555\" font-size=\"11\">* fio cannot re-evict during a run: its cold runs warm up and hit the page cache far more often (see the table's cache hits); bars clipped</text>");
                y += 12;
            }
        }

        sb.AppendLine(Inv, $"<text x=\"10\" y=\"{height - 10}\" fill=\"#777\" font-size=\"11\">Generated by benchmarks/run-full.sh from docs/benchmarks.json (medians over rounds); full table in docs/benchmarks.md.</text>");
        sb.AppendLine("</svg>");
        return sb.ToString();
    }

    private static string Color(string contender) => contender switch
    {
        "ring" => "#1f6fd1",
        "ring-registered" => "#5b9bef",
        "liburing-c" => "#2a9d3a",
        "liburing-c-registered" => "#7cc987",
        "fio-io_uring" => "#e08a1e",
        "fio-psync" => "#f2bd72",
        "randomaccess-async" => "#8e5cc4",
        "pread-pool" => "#7a7a7a",
        _ => "#b0b0b0",
    };

    private static string FormatOps(double ops) =>
        ops >= 1e6 ? (ops / 1e6).ToString("F2", Inv) + " M/s" : ops >= 1e3 ? (ops / 1e3).ToString("F1", Inv) + " k/s" : ops.ToString("F0", Inv) + "/s";
}
