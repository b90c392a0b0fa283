using System.Runtime.InteropServices;

namespace FtpsMount.Fuse.Native;

/// <summary>What the adapter reports for one file, independent of the architecture's struct stat layout.</summary>
internal readonly record struct StatValues(
    uint Mode,
    long Size,
    uint Uid,
    uint Gid,
    uint Links,
    int BlockSize,
    long ModifiedSeconds,
    long ModifiedNanoseconds);

/// <summary>Fills a C <c>struct stat</c> (x86_64 or aarch64 glibc layout) and <c>struct statvfs</c>.</summary>
internal static unsafe class StatWriter
{
    private static readonly Architecture s_architecture = RuntimeInformation.ProcessArchitecture;

    /// <summary>Whether this process's architecture has a declared struct stat layout.</summary>
    public static bool IsSupported => s_architecture is Architecture.X64 or Architecture.Arm64;

    /// <summary>sizeof(struct stat) here.</summary>
    public static int StatSize => s_architecture == Architecture.Arm64 ? sizeof(StatArm64) : sizeof(StatX64);

    /// <summary>Zeroes <paramref name="stat"/> and writes <paramref name="v"/> into it. atime and ctime equal mtime
    /// (FTP knows one time per file).</summary>
    public static void Write(void* stat, in StatValues v)
    {
        var time = new Timespec { tv_sec = v.ModifiedSeconds, tv_nsec = v.ModifiedNanoseconds };
        var blocks = (v.Size + 511) / 512;
        if (s_architecture == Architecture.Arm64)
        {
            var s = (StatArm64*)stat;
            *s = default;
            s->st_mode = v.Mode;
            s->st_nlink = v.Links;
            s->st_uid = v.Uid;
            s->st_gid = v.Gid;
            s->st_size = v.Size;
            s->st_blksize = v.BlockSize;
            s->st_blocks = blocks;
            s->st_atim = time;
            s->st_mtim = time;
            s->st_ctim = time;
        }
        else
        {
            var s = (StatX64*)stat;
            *s = default;
            s->st_mode = v.Mode;
            s->st_nlink = v.Links;
            s->st_uid = v.Uid;
            s->st_gid = v.Gid;
            s->st_size = v.Size;
            s->st_blksize = v.BlockSize;
            s->st_blocks = blocks;
            s->st_atim = time;
            s->st_mtim = time;
            s->st_ctim = time;
        }
    }
}
