namespace IoUring.Tests.Architecture;

/// <summary>
/// The layering of docs/architecture.md, checked by the compiler's own name resolution: a folder of src/IoUring uses
/// only what its own folder and the folders below it declare. A new arrow from a lower layer to a higher one (a type, a
/// method, a field of a partial type that a higher folder adds) fails here with the place and the declaration it uses.
/// </summary>
public sealed class LayeringTests
{
    [Fact]
    public void No_layer_uses_a_higher_layer_or_a_peer()
    {
        IReadOnlyList<string> violations = SourceModel.Library.Violations();
        Assert.True(
            violations.Count == 0,
            $"{violations.Count} use(s) against the layering (lowest first: {string.Join(" → ", SourceModel.Ranks.OrderBy(static r => r.Value).Select(static r => r.Key))}):\n"
            + string.Join('\n', violations));
    }

    [Fact]
    public void Every_name_in_the_library_resolves_so_the_check_sees_every_use()
    {
        // A name Roslyn cannot bind (a missing reference, a generator's output) would hide its arrow from the check.
        IReadOnlyList<string> unresolved = SourceModel.Library.UnresolvedNames();
        Assert.True(unresolved.Count == 0, $"{unresolved.Count} name(s) did not resolve:\n" + string.Join('\n', unresolved.Take(50)));
    }

    [Fact]
    public void Every_source_file_sits_in_a_layer()
    {
        IReadOnlyList<string> outside = SourceModel.FilesOutsideLayers();
        Assert.True(outside.Count == 0, "files outside the layer folders of src/IoUring:\n" + string.Join('\n', outside));
    }

    [Fact]
    public void The_check_reports_a_planted_upward_use_with_its_place()
    {
        // Proves the check is not vacuous: a Ring-layer file that names the engine (Async), a field of a partial Ring
        // that Registration declares, and an Interop file that names a socket type must each be reported.
        SourceModel planted = SourceModel.Load(
            ("Ring/PlantedUpwardUse.cs", """
                namespace IoUring;
                internal static class PlantedUpwardUse
                {
                    internal static object? Engine(IoUringEngine? engine) => engine;
                    internal static bool Enabled(Ring ring) => ring.GetProbe() is not null;
                }
                """),
            ("Interop/PlantedSocketUse.cs", """
                namespace IoUring.Interop;
                internal static class PlantedSocketUse
                {
                    internal static string Name() => nameof(IoUring.UringSocket);
                }
                """),
            ("Files/PlantedPeerUse.cs", """
                namespace IoUring;
                internal static class PlantedPeerUse
                {
                    internal static System.Type Peer() => typeof(UringConnection);
                }
                """));
        IReadOnlyList<string> violations = planted.Violations();
        Assert.Contains(violations, static v => v.StartsWith("Ring/PlantedUpwardUse.cs:4: Ring uses IoUringEngine, declared in Async", StringComparison.Ordinal));
        Assert.Contains(violations, static v => v.StartsWith("Ring/PlantedUpwardUse.cs:5: Ring uses Ring.GetProbe()", StringComparison.Ordinal) && v.Contains("declared in Registration", StringComparison.Ordinal));
        Assert.Contains(violations, static v => v.StartsWith("Interop/PlantedSocketUse.cs:4: Interop uses UringSocket, declared in Sockets", StringComparison.Ordinal));
        Assert.Contains(violations, static v => v.StartsWith("Files/PlantedPeerUse.cs:4: Files uses UringConnection, declared in Sockets (a peer layer)", StringComparison.Ordinal));
    }
}
