using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace IoUring.Tests;

/// <summary>A pinned managed array (on the pinned object heap) whose address can go into an SQE.</summary>
internal sealed class Pinned<T>
    where T : unmanaged
{
    public Pinned(int length) => Array = GC.AllocateArray<T>(length, pinned: true);

    public Pinned(ReadOnlySpan<T> content)
        : this(content.Length) => content.CopyTo(Array);

    public T[] Array { get; }

    public int Length => Array.Length;

    public Span<T> Span => Array;

    public ref T Value => ref Array[0];

    public ref T this[int index] => ref Array[index];

    public nint Address => Marshal.UnsafeAddrOfPinnedArrayElement(Array, 0);

    public nint AddressOf(int index) => Marshal.UnsafeAddrOfPinnedArrayElement(Array, index);

    /// <summary>Size of the whole array in bytes.</summary>
    public uint ByteLength => (uint)(Array.Length * Marshal.SizeOf<T>());
}

/// <summary>Helpers for <see cref="Pinned{T}"/> memory handed to the kernel.</summary>
internal static class Pinned
{
    /// <summary>
    /// Keeps pinned buffers reachable up to this call. A pinned array does not move, but the GC may still reclaim it once
    /// the code no longer refers to it, even while the kernel reads or writes it: call this after the last CQE that uses them.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void KeepAlive(params object[] pinned) => GC.KeepAlive(pinned);

    /// <summary>A NUL-terminated UTF-8 copy of <paramref name="path"/> in pinned memory.</summary>
    public static Pinned<byte> Utf8Z(string path) => new(Encoding.UTF8.GetBytes(path + "\0"));
}
