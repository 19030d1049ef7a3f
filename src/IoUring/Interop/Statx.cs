using System.Runtime.InteropServices;

namespace IoUring;

/// <summary><c>struct statx_timestamp</c> (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct StatxTimestamp
{
    /// <summary><c>tv_sec</c>.</summary>
    public long Seconds;
    /// <summary><c>tv_nsec</c>.</summary>
    public uint Nanoseconds;
    /// <summary>Reserved.</summary>
    public int Reserved;
}

/// <summary><c>struct statx</c>: the result of <see cref="Opcode.Statx"/> (256 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 256)]
public struct Statx
{
    /// <summary><c>stx_mask</c>: which fields were filled.</summary>
    [FieldOffset(0)] public uint Mask;
    /// <summary><c>stx_blksize</c>.</summary>
    [FieldOffset(4)] public uint BlockSize;
    /// <summary><c>stx_attributes</c>.</summary>
    [FieldOffset(8)] public ulong Attributes;
    /// <summary><c>stx_nlink</c>.</summary>
    [FieldOffset(16)] public uint LinkCount;
    /// <summary><c>stx_uid</c>.</summary>
    [FieldOffset(20)] public uint Uid;
    /// <summary><c>stx_gid</c>.</summary>
    [FieldOffset(24)] public uint Gid;
    /// <summary><c>stx_mode</c>.</summary>
    [FieldOffset(28)] public ushort Mode;
    /// <summary><c>stx_ino</c>.</summary>
    [FieldOffset(32)] public ulong Inode;
    /// <summary><c>stx_size</c>.</summary>
    [FieldOffset(40)] public ulong FileSize;
    /// <summary><c>stx_blocks</c>.</summary>
    [FieldOffset(48)] public ulong Blocks;
    /// <summary><c>stx_attributes_mask</c>.</summary>
    [FieldOffset(56)] public ulong AttributesMask;
    /// <summary><c>stx_atime</c>.</summary>
    [FieldOffset(64)] public StatxTimestamp AccessTime;
    /// <summary><c>stx_btime</c>.</summary>
    [FieldOffset(80)] public StatxTimestamp BirthTime;
    /// <summary><c>stx_ctime</c>.</summary>
    [FieldOffset(96)] public StatxTimestamp ChangeTime;
    /// <summary><c>stx_mtime</c>.</summary>
    [FieldOffset(112)] public StatxTimestamp ModifyTime;
    /// <summary><c>stx_rdev_major</c>.</summary>
    [FieldOffset(128)] public uint RdevMajor;
    /// <summary><c>stx_rdev_minor</c>.</summary>
    [FieldOffset(132)] public uint RdevMinor;
    /// <summary><c>stx_dev_major</c>.</summary>
    [FieldOffset(136)] public uint DevMajor;
    /// <summary><c>stx_dev_minor</c>.</summary>
    [FieldOffset(140)] public uint DevMinor;
    /// <summary><c>stx_mnt_id</c>.</summary>
    [FieldOffset(144)] public ulong MountId;
    /// <summary><c>stx_dio_mem_align</c>.</summary>
    [FieldOffset(152)] public uint DioMemAlign;
    /// <summary><c>stx_dio_offset_align</c>.</summary>
    [FieldOffset(156)] public uint DioOffsetAlign;
}
