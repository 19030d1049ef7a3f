using BenchmarkDotNet.Running;
using IoUring.Benchmarks.Chart;
using IoUring.Benchmarks.Compare;

namespace IoUring.Benchmarks;

/// <summary>
/// <c>compare [options]</c> runs the comparison runner (io_uring vs pread vs RandomAccess vs C liburing vs fio);
/// <c>chart --json PATH --svg PATH</c> draws the chart from a comparison's JSON; anything else goes to
/// BenchmarkDotNet's switcher (the micro benchmarks of the Ring's hot paths).
/// </summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "compare")
        {
            return CompareRunner.Run(args[1..]);
        }

        if (args.Length > 0 && args[0] == "chart")
        {
            return SvgChart.Run(args[1..]);
        }

        _ = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
