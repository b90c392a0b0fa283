using System.Runtime.InteropServices;

namespace FtpsMount.Fuse.Native;

// Mirrors of the libfuse3 structs the binding touches, as declared in /usr/include/fuse3 (3.14, FUSE_USE_VERSION 31,
// LP64). Field names are the C names so the ABI test can match them with native/fuse_abi_probe.c one to one.
// Structs libfuse allocates (fuse_config, fuse_conn_info, fuse_file_info, fuse_context) are only ever used through
// pointers libfuse hands us; the binding writes single fields and never copies them by value, so a newer libfuse that
// appends fields to them stays compatible.

/// <summary><c>struct fuse_operations</c>: one function pointer per operation (42 slots in 3.14). A zero slot means
/// "not implemented": libfuse answers ENOSYS and the kernel stops asking for that operation.</summary>
[NativeStruct("fuse_operations")]
[StructLayout(LayoutKind.Sequential)]
internal struct FuseOperations
{
    public nint getattr;
    public nint readlink;
    public nint mknod;
    public nint mkdir;
    public nint unlink;
    public nint rmdir;
    public nint symlink;
    public nint rename;
    public nint link;
    public nint chmod;
    public nint chown;
    public nint truncate;
    public nint open;
    public nint read;
    public nint write;
    public nint statfs;
    public nint flush;
    public nint release;
    public nint fsync;
    public nint setxattr;
    public nint getxattr;
    public nint listxattr;
    public nint removexattr;
    public nint opendir;
    public nint readdir;
    public nint releasedir;
    public nint fsyncdir;
    public nint init;
    public nint destroy;
    public nint access;
    public nint create;
    public nint @lock;
    public nint utimens;
    public nint bmap;
    public nint ioctl;
    public nint poll;
    public nint write_buf;
    public nint read_buf;
    public nint flock;
    public nint fallocate;
    public nint copy_file_range;
    public nint lseek;
}

/// <summary><c>struct fuse_file_info</c>. The eight one-bit flags (writepage … noflush) and 24 padding bits share the
/// 32-bit word <see cref="__bits"/>; their masks are below and the ABI test checks each bit position.</summary>
[NativeStruct("fuse_file_info")]
[StructLayout(LayoutKind.Sequential)]
internal struct FuseFileInfo
{
    public int flags;
    public uint __bits;
    public uint __padding2;
    public ulong fh;
    public ulong lock_owner;
    public uint poll_events;

    public const uint WritePage = 1u << 0;
    public const uint DirectIo = 1u << 1;
    public const uint KeepCache = 1u << 2;
    public const uint Flush = 1u << 3;
    public const uint NonSeekable = 1u << 4;
    public const uint FlockRelease = 1u << 5;
    public const uint CacheReaddir = 1u << 6;
    public const uint NoFlush = 1u << 7;

    /// <summary>C bitfield name → mask within <see cref="__bits"/> (for the ABI test).</summary>
    public static readonly IReadOnlyList<(string Name, uint Mask)> BitFields =
    [
        ("writepage", WritePage),
        ("direct_io", DirectIo),
        ("keep_cache", KeepCache),
        ("flush", Flush),
        ("nonseekable", NonSeekable),
        ("flock_release", FlockRelease),
        ("cache_readdir", CacheReaddir),
        ("noflush", NoFlush),
    ];
}

/// <summary><c>struct fuse_config</c> (3.14), handed to the init callback to adjust.</summary>
[NativeStruct("fuse_config")]
[StructLayout(LayoutKind.Sequential)]
internal struct FuseConfig
{
    public int set_gid;
    public uint gid;
    public int set_uid;
    public uint uid;
    public int set_mode;
    public uint umask;
    public double entry_timeout;
    public double negative_timeout;
    public double attr_timeout;
    public int intr;
    public int intr_signal;
    public int remember;
    public int hard_remove;
    public int use_ino;
    public int readdir_ino;
    public int direct_io;
    public int kernel_cache;
    public int auto_cache;
    public int no_rofd_flush;
    public int ac_attr_timeout_set;
    public double ac_attr_timeout;
    public int nullpath_ok;
    public int show_help;
    public nint modules;
    public int debug;
}

/// <summary><c>struct fuse_conn_info</c> (3.14): what the kernel offers and what we want, negotiated in init.</summary>
[NativeStruct("fuse_conn_info")]
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct FuseConnInfo
{
    public uint proto_major;
    public uint proto_minor;
    public uint max_write;
    public uint max_read;
    public uint max_readahead;
    public uint capable;
    public uint want;
    public uint max_background;
    public uint congestion_threshold;
    public uint time_gran;
    public fixed uint reserved[22];
}

/// <summary><c>struct fuse_args</c>: the argument vector given to fuse_new.</summary>
[NativeStruct("fuse_args")]
[StructLayout(LayoutKind.Sequential)]
internal struct FuseArgs
{
    public int argc;
    public nint argv;
    public int allocated;
}

/// <summary><c>struct fuse_context</c>: per-request caller identity and the private_data that leads to our adapter.</summary>
[NativeStruct("fuse_context")]
[StructLayout(LayoutKind.Sequential)]
internal struct FuseContext
{
    public nint fuse;
    public uint uid;
    public uint gid;
    public int pid;
    public nint private_data;
    public uint umask;
}

/// <summary><c>struct libfuse_version</c> of libfuse ≥ 3.17, passed to <c>_fuse_new_31</c>. Not in the 3.14 headers
/// (so not probed); four ints by its definition.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct LibFuseVersion
{
    public int major;
    public int minor;
    public int hotfix;
    public int padding;
}
