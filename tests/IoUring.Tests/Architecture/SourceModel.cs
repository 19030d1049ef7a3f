using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace IoUring.Tests.Architecture;

/// <summary>
/// The library's sources (<c>src/IoUring</c>) compiled by Roslyn, so that every name a file uses is resolved to the
/// declaration it means, exactly as the compiler resolves it: a member of a partial type is owned by the file (and so
/// the folder) that declares it, a type by the lowest folder that declares a part of it.
/// </summary>
internal sealed class SourceModel
{
    /// <summary>
    /// The layers of <c>src/IoUring</c>, lowest first (docs/architecture.md draws the same stack). A folder may use
    /// what its own folder declares and what folders of a lower rank declare; folders of the same rank are peers that
    /// do not use each other.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, int> Ranks = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["Interop"] = 0,
        ["Errors"] = 1,
        ["Memory"] = 2,
        ["Ring"] = 3,
        ["Preps"] = 4,
        ["Registration"] = 5,
        ["Capabilities"] = 6,
        ["Async"] = 7,
        ["Files"] = 8,
        ["Sockets"] = 8,
    };

    private static readonly Lazy<SourceModel> s_library = new(() => Load());

    private readonly string _sourceRoot;

    private SourceModel(string sourceRoot, CSharpCompilation compilation)
    {
        _sourceRoot = sourceRoot;
        Compilation = compilation;
    }

    /// <summary>The library's sources as they are on disk (loaded once per test run).</summary>
    public static SourceModel Library => s_library.Value;

    /// <summary>The compilation: every source file of the library plus the implicit usings of the build.</summary>
    public CSharpCompilation Compilation { get; }

    /// <summary>The folder of <c>src/IoUring</c> that holds the library's sources.</summary>
    public static string SourceRoot => Path.Combine(NativeTools.RepoRoot, "src", "IoUring");

    /// <summary>Parses and binds the library's sources, optionally with extra files (path relative to <c>src/IoUring</c>, text).</summary>
    public static SourceModel Load(params (string RelativePath, string Text)[] extra)
    {
        string root = SourceRoot;
        var parse = new CSharpParseOptions(LanguageVersion.Preview, DocumentationMode.None);
        var trees = new List<SyntaxTree>();
        foreach (string path in SourceFiles(root))
        {
            trees.Add(CSharpSyntaxTree.ParseText(File.ReadAllText(path), parse, path));
        }

        foreach ((string relative, string text) in extra)
        {
            trees.Add(CSharpSyntaxTree.ParseText(text, parse, Path.Combine(root, relative)));
        }

        // The SDK's implicit usings (ImplicitUsings=enable in Directory.Build.props), as the build generates them.
        trees.Add(CSharpSyntaxTree.ParseText(
            "global using System; global using System.Collections.Generic; global using System.IO; global using System.Linq; " +
            "global using System.Net.Http; global using System.Threading; global using System.Threading.Tasks;",
            parse,
            Path.Combine(root, "obj", "ImplicitUsings.cs")));

        // The runtime's own assemblies (and the library's package references, copied beside the tests), not the library itself.
        string platform = (string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!;
        MetadataReference[] references = [.. platform.Split(Path.PathSeparator)
            .Where(static p => !Path.GetFileName(p).StartsWith("IoUring", StringComparison.Ordinal))
            .Select(static p => MetadataReference.CreateFromFile(p))];
        var compilation = CSharpCompilation.Create(
            "IoUring",
            trees,
            references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));
        return new SourceModel(root, compilation);
    }

    /// <summary>Every <c>.cs</c> file of the library (build output excluded).</summary>
    public static IEnumerable<string> SourceFiles(string root) =>
        Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(p => FolderOf(root, p) is not ("obj" or "bin"))
            .Order(StringComparer.Ordinal);

    /// <summary>The first folder of <paramref name="path"/> below <paramref name="root"/> ("" for a file at the root).</summary>
    public static string FolderOf(string root, string path)
    {
        string relative = Path.GetRelativePath(root, path);
        int slash = relative.IndexOf(Path.DirectorySeparatorChar, StringComparison.Ordinal);
        return slash < 0 ? string.Empty : relative[..slash];
    }

    /// <summary>A path relative to <c>src/IoUring</c>, for messages.</summary>
    public string Relative(string path) => Path.GetRelativePath(_sourceRoot, path);

    /// <summary>Every use of a declaration that breaks the layering: the place, the name, and the layer it comes from.</summary>
    public IReadOnlyList<string> Violations()
    {
        var found = new SortedSet<string>(StringComparer.Ordinal);
        foreach (Use use in Uses())
        {
            if (!Ranks.TryGetValue(use.FromLayer, out int from) || !Ranks.TryGetValue(use.ToLayer, out int to))
            {
                continue;
            }

            if (use.FromLayer != use.ToLayer && to >= from)
            {
                string why = to == from ? "a peer layer" : "a higher layer";
                found.Add($"{use.Place}: {use.FromLayer} uses {use.Name}, declared in {use.ToLayer} ({why}) at {use.Declaration}");
            }
        }

        return [.. found];
    }

    /// <summary>Which layers each layer uses (its own left out).</summary>
    public IReadOnlyDictionary<string, SortedSet<string>> Dependencies()
    {
        var deps = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        foreach (Use use in Uses())
        {
            if (use.FromLayer != use.ToLayer)
            {
                if (!deps.TryGetValue(use.FromLayer, out SortedSet<string>? set))
                {
                    deps[use.FromLayer] = set = new SortedSet<string>(StringComparer.Ordinal);
                }

                set.Add(use.ToLayer);
            }
        }

        return deps;
    }

    /// <summary>Names the compiler could not resolve: each one is a place the layering check would be blind to.</summary>
    public IReadOnlyList<string> UnresolvedNames()
    {
        var found = new List<string>();
        foreach (SyntaxTree tree in Compilation.SyntaxTrees)
        {
            SemanticModel model = Compilation.GetSemanticModel(tree);
            foreach (SimpleNameSyntax name in tree.GetRoot().DescendantNodes().OfType<SimpleNameSyntax>())
            {
                if (Resolve(model, name) is null && !IsContextual(model, name))
                {
                    found.Add($"{Place(name)}: {name.Identifier.ValueText}");
                }
            }
        }

        return found;
    }

    /// <summary>The library's source files that sit in no layer (at the root of src/IoUring or in an unknown folder).</summary>
    public static IReadOnlyList<string> FilesOutsideLayers() =>
        [.. SourceFiles(SourceRoot)
            .Where(static p => !Ranks.ContainsKey(FolderOf(SourceRoot, p)))
            .Select(static p => Path.GetRelativePath(SourceRoot, p))];

    /// <summary>Every place an <c>unsafe</c> context is opened, with its layer.</summary>
    public IEnumerable<(string Layer, string Place)> UnsafeContexts()
    {
        foreach (SyntaxTree tree in Compilation.SyntaxTrees)
        {
            string layer = FolderOf(_sourceRoot, tree.FilePath);
            foreach (SyntaxToken token in tree.GetRoot().DescendantTokens().Where(static t => t.IsKind(SyntaxKind.UnsafeKeyword)))
            {
                yield return (layer, $"{Relative(tree.FilePath)}:{token.GetLocation().GetLineSpan().StartLinePosition.Line + 1}");
            }
        }
    }

    /// <summary>Every public <c>Prep*</c> method of the library with its place and its XML documentation's text.</summary>
    public IEnumerable<(string Place, string Name, string Documentation)> PrepMethods()
    {
        foreach (SyntaxTree tree in Compilation.SyntaxTrees)
        {
            foreach (MethodDeclarationSyntax method in tree.GetRoot().DescendantNodes().OfType<MethodDeclarationSyntax>())
            {
                if (method.Identifier.ValueText.StartsWith("Prep", StringComparison.Ordinal)
                    && method.Modifiers.Any(static m => m.IsKind(SyntaxKind.PublicKeyword)))
                {
                    string documentation = string.Concat(method.GetLeadingTrivia()
                        .Where(static t => t.IsKind(SyntaxKind.SingleLineCommentTrivia) || t.IsKind(SyntaxKind.SingleLineDocumentationCommentTrivia))
                        .Select(static t => t.ToString()));
                    yield return (Place(method), method.Identifier.ValueText, documentation);
                }
            }
        }
    }

    private IEnumerable<Use> Uses()
    {
        foreach (SyntaxTree tree in Compilation.SyntaxTrees)
        {
            string fromLayer = FolderOf(_sourceRoot, tree.FilePath);
            SemanticModel model = Compilation.GetSemanticModel(tree);
            foreach (SyntaxNode node in tree.GetRoot().DescendantNodes())
            {
                ISymbol? symbol = node switch
                {
                    SimpleNameSyntax name => Resolve(model, name),
                    ImplicitObjectCreationExpressionSyntax creation => model.GetSymbolInfo(creation).Symbol,
                    _ => null,
                };
                if (symbol is null || Owner(symbol) is not { } declaration)
                {
                    continue;
                }

                string declared = declaration.SourceTree!.FilePath;
                string toLayer = FolderOf(_sourceRoot, declared);
                yield return new Use(
                    fromLayer,
                    toLayer,
                    symbol.ToDisplayString(SymbolDisplayFormat.CSharpShortErrorMessageFormat),
                    Place(node),
                    $"{Relative(declared)}:{declaration.GetLineSpan().StartLinePosition.Line + 1}");
            }
        }
    }

    private static ISymbol? Resolve(SemanticModel model, SimpleNameSyntax name)
    {
        SymbolInfo info = model.GetSymbolInfo(name);
        return info.Symbol ?? info.CandidateSymbols.FirstOrDefault();
    }

    // Words that are keywords in context (var, nameof, value, dynamic...) bind to no declaration by design.
    private static bool IsContextual(SemanticModel model, SimpleNameSyntax name) =>
        name.Identifier.ValueText is "nameof" or "var" or "_" or "dynamic" or "unmanaged" or "notnull"
        || name.Parent is NameColonSyntax or NameEqualsSyntax or TypeParameterConstraintClauseSyntax
        || model.GetTypeInfo(name).Type is { TypeKind: not TypeKind.Error };

    /// <summary>
    /// Where the declaration a name means is written: for a member, the part that declares it; for a type, the part in
    /// the lowest layer (a partial type belongs to the layer that introduces it; higher layers only add to it).
    /// Null for what the library does not declare (the runtime's types) and for locals, parameters and the like.
    /// </summary>
    private Location? Owner(ISymbol symbol)
    {
        if (symbol is IMethodSymbol { ReducedFrom: { } reduced })
        {
            symbol = reduced;
        }

        symbol = symbol.OriginalDefinition;
        if (symbol is ILocalSymbol or IParameterSymbol or ITypeParameterSymbol or INamespaceSymbol or ILabelSymbol
            or IRangeVariableSymbol or IDiscardSymbol or IMethodSymbol { MethodKind: MethodKind.LocalFunction or MethodKind.AnonymousFunction }
            || !SymbolEqualityComparer.Default.Equals(symbol.ContainingAssembly, Compilation.Assembly))
        {
            return null;
        }

        var locations = new List<Location>(symbol.Locations.Where(static l => l.IsInSource));
        if (symbol is IMethodSymbol method)
        {
            locations.AddRange((method.PartialDefinitionPart ?? method.PartialImplementationPart)?.Locations.Where(static l => l.IsInSource) ?? []);
        }

        if (locations.Count == 0)
        {
            // Implicit members (a default constructor, a record's members) belong with their type.
            return symbol.ContainingType is { } type ? Owner(type) : null;
        }

        return locations
            .OrderBy(l => Ranks.TryGetValue(FolderOf(_sourceRoot, l.SourceTree!.FilePath), out int rank) ? rank : int.MaxValue)
            .First();
    }

    private string Place(SyntaxNode node) =>
        $"{Relative(node.SyntaxTree.FilePath)}:{node.GetLocation().GetLineSpan().StartLinePosition.Line + 1}";

    private readonly record struct Use(string FromLayer, string ToLayer, string Name, string Place, string Declaration);
}
