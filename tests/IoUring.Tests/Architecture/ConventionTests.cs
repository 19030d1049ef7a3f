using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace IoUring.Tests.Architecture;

/// <summary>The house rules docs/architecture.md states for the whole library, checked on its sources.</summary>
public sealed class ConventionTests
{
    [Fact]
    public void Unsafe_code_is_confined_to_Interop()
    {
        string[] outside = [.. SourceModel.Library.UnsafeContexts().Where(static u => u.Layer != "Interop").Select(static u => u.Place)];
        Assert.True(outside.Length == 0, "unsafe outside Interop/:\n" + string.Join('\n', outside));
        Assert.NotEmpty(SourceModel.Library.UnsafeContexts());
    }

    [Fact]
    public void Every_prep_names_its_liburing_twin_and_the_kernel_that_brought_it()
    {
        // Like Zig's IoUring.zig and the Rust io-uring crate: a reader of a Prep* finds the C function to compare with and
        // the oldest kernel it works on without leaving the page.
        var preps = SourceModel.Library.PrepMethods().ToList();
        Assert.True(preps.Count >= 90, $"only {preps.Count} Prep* methods found: the scan is broken");
        string[] undocumented = [.. preps
            .Where(static p => !System.Text.RegularExpressions.Regex.IsMatch(p.Documentation, @"liburing <c>io_uring_\w+</c>")
                || !System.Text.RegularExpressions.Regex.IsMatch(p.Documentation, @"\b[56]\.\d{1,2}\b"))
            .Select(static p => $"{p.Place}: {p.Name}")];
        Assert.True(undocumented.Length == 0, "Prep* methods whose docs lack 'liburing <c>io_uring_…</c>' or a kernel version:\n" + string.Join('\n', undocumented));
    }

    [Fact]
    public void Shared_ring_indexes_are_reached_only_through_acquire_and_release_accessors()
    {
        // A `ref uint` to a word the kernel shares lets a caller read or write it without a barrier; the maps expose
        // AcquireHead / ReleaseTail and the like instead (docs/memory-ordering.md).
        string[] raw = [.. SourceModel.Library.Compilation.SyntaxTrees
            .SelectMany(static t => t.GetRoot().DescendantNodes().OfType<PropertyDeclarationSyntax>())
            .Where(static p => p.Type is RefTypeSyntax { Type: PredefinedTypeSyntax predefined }
                && predefined.Keyword.Kind() is SyntaxKind.UIntKeyword or SyntaxKind.UShortKeyword or SyntaxKind.IntKeyword)
            .Select(static p => $"{Path.GetFileName(p.SyntaxTree.FilePath)}: ref {p.Type} {p.Identifier.ValueText}")];
        Assert.True(raw.Length == 0, "properties that hand out a ref to a shared index:\n" + string.Join('\n', raw));
    }

    [Fact]
    public void Socket_options_are_set_in_one_place()
    {
        // UringSocketOptions.Apply sets SO_REUSEADDR, dual mode and TCP_NODELAY for listeners, accepted and connected
        // sockets alike; a second setsockopt call site would let the three drift apart again.
        string[] callers = [.. SourceModel.Library.Compilation.SyntaxTrees
            .Where(static t => !t.FilePath.EndsWith(Path.Combine("Interop", "Libc.cs"), StringComparison.Ordinal))
            .SelectMany(static t => t.GetRoot().DescendantNodes().OfType<InvocationExpressionSyntax>())
            .Where(static i => i.Expression is MemberAccessExpressionSyntax { Name.Identifier.ValueText: "SetSockOptInt" })
            .Select(static i => Path.GetFileName(i.SyntaxTree.FilePath))
            .Distinct()];
        Assert.Equal(["UringSocketOptions.cs"], callers);
    }
}
