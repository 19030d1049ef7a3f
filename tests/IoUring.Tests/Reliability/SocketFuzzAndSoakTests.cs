namespace IoUring.Tests.Reliability;

/// <summary>
/// A short, seeded run of the sockets soak driver (tests/IoUring.Stress) as a child process, so a crash or hang fails
/// this test with its output instead of taking the test host down. CI also runs it directly (.ci/run).
/// </summary>
public sealed class SocketFuzzAndSoakTests
{
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
