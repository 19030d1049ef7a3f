using System.Globalization;

namespace IoUring.Tests.Reliability;

/// <summary>
/// Short, seeded runs of the sockets-layer fuzzer and the sockets soak driver (tests/IoUring.Stress) as child
/// processes, so a crash or hang fails this test with their output instead of taking the test host down. CI also runs
/// both directly (.ci/run).
/// </summary>
public sealed class SocketFuzzAndSoakTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void A_seeded_sockets_fuzz_run_finds_no_undocumented_exception_hang_or_leak(int seed)
    {
        Kernel.RequireIoUring();
        ProcessResult r = StressProcess.RunStress(["fuzz", "--layer", "sockets", "--seed", seed.ToString(CultureInfo.InvariantCulture), "--iterations", "3000", "--seconds", "30"], TimeSpan.FromMinutes(4));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("fuzz: PASSED", r.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void A_short_sockets_soak_verifies_every_echoed_byte_survives_aborts_and_engine_dispose_and_leaks_nothing()
    {
        Kernel.RequireIoUring();
        ProcessResult r = StressProcess.RunStress(["--driver", "sockets", "--seconds", "4", "--files", "1", "--seed", "3", "--file-mb", "1"], TimeSpan.FromMinutes(3));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("soak (sockets): PASSED", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("failures: 0", r.StdOut, StringComparison.Ordinal);
    }
}
