using System.Reflection;
using System.Runtime.CompilerServices;
using Xunit.v3;

namespace IoUring.Tests;

/// <summary>
/// A fact that needs the real kernel. Before the body runs it calls <see cref="Kernel.RequireIoUring"/>, or
/// <see cref="Kernel.RequireOp"/> for each opcode it names: where io_uring or an opcode is missing the test skips with
/// the reason, and under CI (CI=true) a missing io_uring fails it (a missing opcode skips only by probe).
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class UringFactAttribute : FactAttribute, IBeforeAfterTestAttribute
{
    /// <summary>Needs io_uring.</summary>
    public UringFactAttribute([CallerFilePath] string? sourceFilePath = null, [CallerLineNumber] int sourceLineNumber = -1)
        : base(sourceFilePath, sourceLineNumber) => Ops = [];

    /// <summary>Needs io_uring and <paramref name="op"/>.</summary>
    public UringFactAttribute(Opcode op, [CallerFilePath] string? sourceFilePath = null, [CallerLineNumber] int sourceLineNumber = -1)
        : base(sourceFilePath, sourceLineNumber) => Ops = [op];

    /// <summary>Needs io_uring and every opcode of <paramref name="ops"/>.</summary>
    public UringFactAttribute(Opcode[] ops, [CallerFilePath] string? sourceFilePath = null, [CallerLineNumber] int sourceLineNumber = -1)
        : base(sourceFilePath, sourceLineNumber) => Ops = ops;

    /// <summary>The opcodes the test needs, checked in this order.</summary>
    public IReadOnlyList<Opcode> Ops { get; }

    /// <inheritdoc/>
    public void Before(MethodInfo methodUnderTest, IXunitTest test) => Kernel.Require(Ops);

    /// <inheritdoc/>
    public void After(MethodInfo methodUnderTest, IXunitTest test)
    {
    }
}

/// <summary>A theory that needs the real kernel: each of its cases is gated as <see cref="UringFactAttribute"/> gates a fact.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class UringTheoryAttribute : TheoryAttribute, IBeforeAfterTestAttribute
{
    /// <summary>Needs io_uring.</summary>
    public UringTheoryAttribute([CallerFilePath] string? sourceFilePath = null, [CallerLineNumber] int sourceLineNumber = -1)
        : base(sourceFilePath, sourceLineNumber) => Ops = [];

    /// <summary>Needs io_uring and <paramref name="op"/>.</summary>
    public UringTheoryAttribute(Opcode op, [CallerFilePath] string? sourceFilePath = null, [CallerLineNumber] int sourceLineNumber = -1)
        : base(sourceFilePath, sourceLineNumber) => Ops = [op];

    /// <summary>The opcodes each case needs.</summary>
    public IReadOnlyList<Opcode> Ops { get; }

    /// <inheritdoc/>
    public void Before(MethodInfo methodUnderTest, IXunitTest test) => Kernel.Require(Ops);

    /// <inheritdoc/>
    public void After(MethodInfo methodUnderTest, IXunitTest test)
    {
    }
}
