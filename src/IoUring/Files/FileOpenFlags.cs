using IoUring.Interop;

namespace IoUring;

/// <summary>Maps .NET open parameters (<see cref="FileMode"/>, <see cref="FileAccess"/>, <see cref="FileOptions"/>) to <c>open(2)</c> flags.</summary>
internal static class FileOpenFlags
{
    /// <summary>The undocumented <see cref="FileOptions"/> value that <see cref="FileStream"/> maps to <c>O_DIRECT</c> on Unix.</summary>
    public const FileOptions NoBuffering = (FileOptions)0x20000000;

    public static int From(FileMode mode, FileAccess access, FileOptions options)
    {
        FileChecks.ValidateEnums(mode, access);
        int flags = access switch
        {
            FileAccess.Read => OpenFlags.ORdOnly,
            FileAccess.Write => OpenFlags.OWrOnly,
            _ => OpenFlags.ORdWr,
        };

        if (access == FileAccess.Read && mode is FileMode.Create or FileMode.CreateNew or FileMode.Truncate or FileMode.Append)
        {
            // File.OpenHandle's check and message.
            throw new ArgumentException($"Combining FileMode: {mode} with FileAccess: {access} is invalid.", nameof(access));
        }

        flags |= mode switch
        {
            FileMode.CreateNew => OpenFlags.OCreat | OpenFlags.OExcl,
            FileMode.Create => OpenFlags.OCreat | OpenFlags.OTrunc,
            FileMode.Open => 0,
            FileMode.OpenOrCreate => OpenFlags.OCreat,
            FileMode.Truncate => OpenFlags.OTrunc,
            _ => throw new ArgumentException("FileMode.Append is not supported: UringFile writes at explicit offsets; open with OpenOrCreate and write at Length.", nameof(mode)),
        };

        if ((options & FileOptions.DeleteOnClose) != 0)
        {
            throw new ArgumentException("FileOptions.DeleteOnClose is not supported by an io_uring open; use File.OpenHandle and UringFile.FromHandle.", nameof(options));
        }

        if ((options & FileOptions.WriteThrough) != 0)
        {
            flags |= OpenFlags.OSync;
        }

        if ((options & NoBuffering) != 0)
        {
            flags |= OpenFlags.ODirect;
        }

        return flags;
    }
}
