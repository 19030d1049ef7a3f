namespace IoUring.Tests.Reliability;

/// <summary>
/// Short, seeded runs of the fuzzer and the soak (tests/IoUring.Stress) as child processes, so that a crash or a hang
/// in them fails this test with their output instead of taking the test host down. CI also runs both directly
/// (.ci/run); these keep them in every <c>dotnet test</c>.
/// </summary>
public sealed class FuzzAndSoakTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    public void A_seeded_fuzz_run_finds_no_undocumented_exception_corruption_leak_or_hang(int seed) => StressProcess.AssertFuzzPasses("ring", seed, iterations: 2500, seconds: 60);

    [Fact]
    public void A_short_soak_verifies_every_byte_and_leaks_nothing() => StressProcess.AssertSoakPasses("ring", seconds: 3, files: 2);
}
