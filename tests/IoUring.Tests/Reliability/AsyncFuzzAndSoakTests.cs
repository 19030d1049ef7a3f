namespace IoUring.Tests.Reliability;

/// <summary>
/// Short, seeded runs of the async-layer fuzzer and the async soak driver (tests/IoUring.Stress) as child processes,
/// so a crash or hang fails this test with their output instead of taking the test host down. CI also runs both
/// directly (.ci/run).
/// </summary>
public sealed class AsyncFuzzAndSoakTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    public void A_seeded_async_fuzz_run_finds_no_undocumented_exception_hang_or_leak(int seed) => StressProcess.AssertFuzzPasses("async", seed, iterations: 1500, seconds: 60);

    [Fact]
    public void A_short_async_soak_verifies_every_byte_survives_dispose_under_load_and_leaks_nothing() => StressProcess.AssertSoakPasses("async", seconds: 4, files: 2);
}
