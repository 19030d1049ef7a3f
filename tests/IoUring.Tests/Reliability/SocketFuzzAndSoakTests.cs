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
    public void A_seeded_sockets_fuzz_run_finds_no_undocumented_exception_hang_or_leak(int seed) => StressProcess.AssertFuzzPasses("sockets", seed, iterations: 3000, seconds: 30);

    [Fact]
    public void A_short_sockets_soak_verifies_every_echoed_byte_survives_aborts_and_engine_dispose_and_leaks_nothing() => StressProcess.AssertSoakPasses("sockets", seconds: 4, files: 1);
}
