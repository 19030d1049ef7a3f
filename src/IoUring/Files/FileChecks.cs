using System.Diagnostics.CodeAnalysis;
using Microsoft.Win32.SafeHandles;

namespace IoUring;

/// <summary>
/// The argument checks <see cref="RandomAccess"/>, <see cref="File.OpenHandle"/> and <see cref="FileStream"/> make
/// before any I/O, in their order and with their exception types, parameter names and messages, so the file API
/// fails the way the .NET API it stands in for does.
/// </summary>
internal static class FileChecks
{
    /// <summary>.NET's message for I/O on a closed file.</summary>
    public const string ClosedFile = "Cannot access a closed file.";

    /// <summary>Refuses a null, invalid or closed handle as <see cref="RandomAccess"/> does.</summary>
    public static void ValidateHandle(SafeFileHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        if (handle.IsInvalid)
        {
            ThrowInvalidHandle();
        }

        if (handle.IsClosed)
        {
            ThrowClosed(null);
        }
    }

    /// <summary>Refuses a negative file offset as <see cref="RandomAccess"/> does: there is no "current position".</summary>
    public static void ValidateOffset(long fileOffset)
    {
        if (fileOffset < 0)
        {
            ThrowNegativeOffset();
        }
    }

    /// <summary>Refuses values outside the enums as <see cref="File.OpenHandle"/> does (before <see cref="FileStreamOptions"/> would, naming <c>value</c>).</summary>
    public static void ValidateEnums(FileMode mode, FileAccess access)
    {
        if (mode is < FileMode.CreateNew or > FileMode.Append)
        {
            throw new ArgumentOutOfRangeException(nameof(mode), "Enum value was out of legal range.");
        }

        ValidateAccess(access);
    }

    /// <summary>The <see cref="FileStreamOptions"/> of an open by mode and access, after <see cref="ValidateEnums"/> refused values outside the enums.</summary>
    public static FileStreamOptions StreamOptions(FileMode mode, FileAccess access)
    {
        ValidateEnums(mode, access);
        return new FileStreamOptions { Mode = mode, Access = access };
    }

    /// <summary>Refuses a <see cref="FileAccess"/> outside the enum.</summary>
    public static void ValidateAccess(FileAccess access)
    {
        if (access is < FileAccess.Read or > FileAccess.ReadWrite)
        {
            throw new ArgumentOutOfRangeException(nameof(access), "Enum value was out of legal range.");
        }
    }

    /// <summary>True when the open descriptor is a directory (<c>fstat</c>).</summary>
    public static bool IsDirectory(SafeFileHandle handle) => (File.GetAttributes(handle) & FileAttributes.Directory) != 0;

    /// <summary>Throws what .NET throws for I/O on a closed file; <paramref name="objectName"/> names the library's type, if any.</summary>
    [DoesNotReturn]
    public static void ThrowClosed(string? objectName) => throw new ObjectDisposedException(objectName, ClosedFile);

    [DoesNotReturn]
    private static void ThrowInvalidHandle() => throw new ArgumentException("Invalid handle.", "handle");

    [DoesNotReturn]
    private static void ThrowNegativeOffset() => throw new ArgumentOutOfRangeException("fileOffset", "Non-negative number required.");
}
