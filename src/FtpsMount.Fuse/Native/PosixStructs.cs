using System.Runtime.InteropServices;

namespace FtpsMount.Fuse.Native;

/// <summary><c>struct timespec</c> (LP64).</summary>
[NativeStruct("timespec")]
[StructLayout(LayoutKind.Sequential)]
internal struct Timespec
{
    public long tv_sec;
    public long tv_nsec;
}

/// <summary><c>struct stat</c> of glibc on x86_64 (144 bytes; st_nlink before st_mode).</summary>
[NativeStruct("stat", Architecture.X64)]
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct StatX64
{
    public ulong st_dev;
    public ulong st_ino;
    public ulong st_nlink;
    public uint st_mode;
    public uint st_uid;
    public uint st_gid;
    public int __pad0;
    public ulong st_rdev;
    public long st_size;
    public long st_blksize;
    public long st_blocks;
    public Timespec st_atim;
    public Timespec st_mtim;
    public Timespec st_ctim;
    public fixed long __glibc_reserved[3];
}

/// <summary><c>struct stat</c> of glibc on aarch64 (the generic layout, 128 bytes; st_mode before a 32-bit
/// st_nlink). Declared from glibc's generic bits/struct_stat.h; the ABI test verifies it only when run on arm64.</summary>
[NativeStruct("stat", Architecture.Arm64)]
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct StatArm64
{
    public ulong st_dev;
    public ulong st_ino;
    public uint st_mode;
    public uint st_nlink;
    public uint st_uid;
    public uint st_gid;
    public ulong st_rdev;
    public ulong __pad1;
    public long st_size;
    public int st_blksize;
    public int __pad2;
    public long st_blocks;
    public Timespec st_atim;
    public Timespec st_mtim;
    public Timespec st_ctim;
    public fixed int __glibc_reserved[2];
}

/// <summary><c>struct statvfs</c> of glibc, LP64 (same on x86_64 and aarch64).</summary>
[NativeStruct("statvfs")]
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct Statvfs
{
    public ulong f_bsize;
    public ulong f_frsize;
    public ulong f_blocks;
    public ulong f_bfree;
    public ulong f_bavail;
    public ulong f_files;
    public ulong f_ffree;
    public ulong f_favail;
    public ulong f_fsid;
    public ulong f_flag;
    public ulong f_namemax;
    public fixed int __f_spare[6];
}
