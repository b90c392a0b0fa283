using System.Globalization;
using FtpsMount.Fuse.Native;
using FtpsMount.Protocol;

namespace FtpsMount.Fuse;

internal sealed unsafe partial class FuseAdapter
{
    /// <summary>
    /// init: the kernel connection is up; libfuse hands us its config and the connection parameters to adjust. Called
    /// once, before any other operation. What is set and why:
    /// <list type="bullet">
    /// <item>entry/attr/negative timeouts from <see cref="FuseMountOptions"/> (tied to Core's cache TTLs).</item>
    /// <item>use_ino = 0: libfuse assigns inode numbers (FTP has none). hard_remove = 0: unlinking an open file renames
    /// it to .fuse_hidden* until release (POSIX behaviour). nullpath_ok = 0: every call gets a path. intr = 0: no
    /// signal-based interruption of workers that run .NET code; timeouts bound every request instead.</item>
    /// <item>auto_cache (default) or kernel_cache: keep the kernel page cache across opens while the file's mtime and
    /// size are unchanged; with FUSE_CAP_AUTO_INVAL_DATA the kernel also drops it when a getattr shows a change.</item>
    /// <item>max_read/max_write, max_readahead (see NegotiateReadahead); FUSE_CAP_ATOMIC_O_TRUNC (open gets
    /// O_TRUNC instead of a separate truncate), FUSE_CAP_READDIRPLUS always (READDIRPLUS_AUTO off: attributes come with
    /// every listing at no cost to us), no writeback cache (close() must see upload errors), time_gran = 1 s (FTP).
    /// libfuse 3 has no FUSE_CAP_BIG_WRITES flag: large writes are always on and bounded by max_write.</item>
    /// </list>
    /// Returns the private_data to keep (ours, unchanged).
    /// </summary>
    public void Configure(FuseConnInfo* conn, FuseConfig* config)
    {
        config->entry_timeout = _options.EntryTimeout.TotalSeconds;
        config->attr_timeout = _options.AttrTimeout.TotalSeconds;
        config->negative_timeout = _options.NegativeTimeout.TotalSeconds;
        config->use_ino = 0;
        config->hard_remove = 0;
        config->nullpath_ok = 0;
        config->intr = 0;
        config->direct_io = 0;
        config->kernel_cache = _options.KernelCache ? 1 : 0;
        config->auto_cache = _options.KernelCache ? 0 : 1;

        var capable = conn->capable;
        var want = conn->want;
        want |= capable & (FuseConst.FUSE_CAP_ASYNC_READ | FuseConst.FUSE_CAP_ATOMIC_O_TRUNC
            | FuseConst.FUSE_CAP_AUTO_INVAL_DATA | FuseConst.FUSE_CAP_READDIRPLUS | FuseConst.FUSE_CAP_PARALLEL_DIROPS);
        want &= ~(FuseConst.FUSE_CAP_READDIRPLUS_AUTO | FuseConst.FUSE_CAP_WRITEBACK_CACHE);
        // Never ask for what the kernel lacks: libfuse aborts the mount (EPROTO) if want exceeds capable.
        conn->want = want & capable;

        conn->max_write = (uint)_options.MaxWrite;
        conn->max_read = (uint)_options.MaxRead;
        conn->max_readahead = NegotiateReadahead(conn->max_readahead);
        conn->time_gran = 1_000_000_000;
        Initialized = true;
        _initialized.Set();

        _log.Log(FtpLogLevel.Information, string.Create(CultureInfo.InvariantCulture,
            $"fuse: connection up (protocol {conn->proto_major}.{conn->proto_minor}); max_read {conn->max_read}, max_write {conn->max_write}, max_readahead {conn->max_readahead}, want 0x{conn->want:x} of capable 0x{capable:x}; attr {config->attr_timeout}s, entry {config->entry_timeout}s, negative {config->negative_timeout}s, {(_options.KernelCache ? "kernel_cache" : "auto_cache")}"));
    }

    private readonly ManualResetEventSlim _initialized = new(false);

    /// <summary>/sys/class/bdi/MAJOR:MINOR/read_ahead_kb of this mount, set by <see cref="FuseSession"/> after mounting.</summary>
    internal string? ReadaheadControlPath { get; set; }

    /// <summary>True once init ran (waits up to <paramref name="timeout"/>).</summary>
    public bool WaitForInit(TimeSpan timeout) => _initialized.Wait(timeout);

    /// <summary>
    /// The kernel offers its default read-ahead (128 KiB) and applies min(current, reply) when it processes our INIT
    /// reply. A smaller <see cref="FuseMountOptions.MaxReadahead"/> is simply replied. A larger one is first set on the
    /// mount's backing device (read_ahead_kb, root only; the device exists from the mount on) and then replied, so the
    /// minimum is the larger value. If the device cannot be written the kernel's offer stays.
    /// </summary>
    private uint NegotiateReadahead(uint offered)
    {
        var wanted = (uint)_options.MaxReadahead;
        if (offered != 0 && wanted <= offered)
        {
            return wanted;
        }

        if (ReadaheadControlPath is not { } path)
        {
            return offered;
        }

        try
        {
            File.WriteAllText(path, (wanted / 1024).ToString(CultureInfo.InvariantCulture));
            return wanted;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _log.Log(FtpLogLevel.Debug, $"fuse: read-ahead stays at the kernel's {offered / 1024} KiB ({path}: {ex.Message})");
            return offered;
        }
    }

    /// <summary>Set by the unmount sequence before it detaches the mount (see <see cref="FuseSession"/>).</summary>
    public bool ShuttingDown { get; private set; }

    public void BeginShutdown() => ShuttingDown = true;

    /// <summary>destroy: the session ends (called by fuse_destroy after the loop). Core is disposed by the owner of the
    /// filesystem, after <see cref="FuseMount.Run"/> returns; here only handles the kernel never released are reported.</summary>
    public void OnDestroy()
    {
        Destroyed = true;
        if (!_handles.IsEmpty)
        {
            _log.Log(FtpLogLevel.Warning, $"fuse: unmounted with {_handles.Count} file handle(s) never released; their pending data is uploaded when the filesystem is disposed");
        }

        _log.Log(FtpLogLevel.Information, "fuse: session destroyed");
    }
}
