using System.CommandLine;
using System.Globalization;
using FtpsMount.Core;
using FtpsMount.Fuse;

namespace FtpsMount.Cli;

/// <summary>The flags of <c>ftpsmount mount</c> beyond the connection options: Core tuning and FUSE behaviour.
/// Every flag can also be given sshfs-style as <c>-o name[=value]</c> (see <see cref="MountArguments"/>).</summary>
public sealed class MountOptions
{
    public Option<int> Connections { get; } = new("--connections") { Description = "Most FTPS sessions open at once.", DefaultValueFactory = _ => 4 };
    public Option<double?> DirCacheTtl { get; } = new("--dir-cache-ttl") { Description = "Seconds a directory listing is reused (default 30)." };
    public Option<double?> AttrTtl { get; } = new("--attr-ttl") { Description = "Seconds file attributes are reused (default 30)." };
    public Option<string?> BlockSize { get; } = new("--block-size") { Description = "Read cache block, e.g. 256K (default), 1M." };
    public Option<string?> CacheSize { get; } = new("--cache-size") { Description = "Memory read cache, e.g. 256M (default)." };
    public Option<string?> CacheDir { get; } = new("--cache-dir") { Description = "Persistent on-disk read cache directory (validated by size+mtime)." };
    public Option<double?> WriteBack { get; } = new("--write-back") { Description = "Acknowledge close() at once and upload after this many seconds (fsync and unmount still wait)." };
    public Option<bool> ReadOnly { get; } = new("--read-only") { Description = "Mount read-only (-o ro)." };
    public Option<bool> AllowOther { get; } = new("--allow-other") { Description = "Let other users use the mount (needs user_allow_other in /etc/fuse.conf for non-root)." };
    public Option<bool> NoDefaultPermissions { get; } = new("--no-default-permissions") { Description = "Do not let the kernel check permission bits (on by default)." };
    public Option<bool> KernelCache { get; } = new("--kernel-cache") { Description = "Keep the kernel page cache across opens even if the file may have changed on the server." };
    public Option<bool> NonEmpty { get; } = new("--nonempty") { Description = "Allow mounting over a non-empty directory." };
    public Option<bool> Daemon { get; } = new("--daemon") { Description = "Detach once the mount is live." };
    public Option<string?> LogFile { get; } = new("--log-file") { Description = "With --daemon: where the background process logs (default ~/.cache/ftpsmount/<mountpoint>.log)." };
    public Option<bool> FuseDebug { get; } = new("--fuse-debug") { Description = "libfuse's own request trace on stderr." };
    public Option<double?> RetryDeadline { get; } = new("--retry-deadline") { Description = "Seconds after which a failing operation (server gone, connection cut) stops being retried and fails with EIO (default 30)." };
    public Option<double?> UnmountTimeout { get; } = new("--unmount-timeout") { Description = "At unmount, seconds to wait for pending uploads before exiting and naming what is left in the staging directory (default 300)." };
    public Option<int?> PrefetchFiles { get; } = new("--prefetch-files") { Description = "When a directory's files are read in listing order, fetch this many of the next small files ahead on idle sessions (default 4; 0 = off)." };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Connections, DirCacheTtl, AttrTtl, BlockSize, CacheSize, CacheDir, WriteBack, ReadOnly, AllowOther, NoDefaultPermissions, KernelCache, NonEmpty, Daemon, LogFile, FuseDebug, UnmountTimeout, RetryDeadline, PrefetchFiles })
        {
            command.Add(option);
        }
    }

    public CoreOptions BuildCore(ParseResult result)
    {
        var defaults = new CoreOptions();
        var cache = defaults.Cache with
        {
            DirCacheTtl = Seconds(result.GetValue(DirCacheTtl)) ?? defaults.Cache.DirCacheTtl,
            AttrTtl = Seconds(result.GetValue(AttrTtl)) ?? defaults.Cache.AttrTtl,
            BlockSize = (int)(ParseSize(result.GetValue(BlockSize), "--block-size") ?? defaults.Cache.BlockSize),
            CacheSizeBytes = ParseSize(result.GetValue(CacheSize), "--cache-size") ?? defaults.Cache.CacheSizeBytes,
            CacheDirectory = result.GetValue(CacheDir),
            PrefetchFiles = result.GetValue(PrefetchFiles) ?? defaults.Cache.PrefetchFiles,
        };
        var options = defaults with
        {
            Pool = defaults.Pool with { Connections = result.GetValue(Connections) },
            Cache = cache,
            Write = defaults.Write with { WriteBack = Seconds(result.GetValue(WriteBack)) },
            Retry = defaults.Retry with { Deadline = Seconds(result.GetValue(RetryDeadline)) ?? defaults.Retry.Deadline },
        };
        try
        {
            options.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new CliException(ExitCodes.Usage, ex.Message);
        }

        return options;
    }

    public FuseMountOptions BuildFuse(ParseResult result, CoreOptions core) => new FuseMountOptions
    {
        ReadOnly = result.GetValue(ReadOnly),
        AllowOther = result.GetValue(AllowOther),
        DefaultPermissions = !result.GetValue(NoDefaultPermissions),
        KernelCache = result.GetValue(KernelCache),
        AllowNonEmpty = result.GetValue(NonEmpty),
        Debug = result.GetValue(FuseDebug),
    }.WithCacheTimeouts(core.Cache);

    private static TimeSpan? Seconds(double? value) => value is { } v ? TimeSpan.FromSeconds(v) : null;

    /// <summary>"256K", "1M", "2G", "4096" → bytes.</summary>
    public static long? ParseSize(string? text, string option)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var t = text.Trim().ToUpperInvariant().TrimEnd('B', 'I');
        long factor = 1;
        if (t.EndsWith('K')) { factor = 1L << 10; t = t[..^1]; }
        else if (t.EndsWith('M')) { factor = 1L << 20; t = t[..^1]; }
        else if (t.EndsWith('G')) { factor = 1L << 30; t = t[..^1]; }

        return double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n >= 0
            ? (long)(n * factor)
            : throw new CliException(ExitCodes.Usage, $"{option}: \"{text}\" is not a size (e.g. 256K, 64M, 1G).");
    }
}

/// <summary>
/// Rewrites sshfs/mount(8)-style <c>-o a,b=c</c> into long flags (<c>--a --b c</c>), so fstab lines, the mount helper
/// and the command line share one option set. Standard FUSE names map to ours (ro, allow_other, default_permissions,
/// nonempty); generic mount(8) words that mean nothing to a FUSE filesystem (rw, defaults, noauto, user, _netdev,
/// nofail, ...) are dropped; anything unknown is an error.
/// </summary>
public static class MountArguments
{
    private static readonly HashSet<string> Ignored = new(StringComparer.Ordinal)
    {
        "rw", "defaults", "auto", "noauto", "user", "nouser", "users", "_netdev", "nofail", "exec", "noexec", "suid", "nosuid",
        "dev", "nodev", "atime", "noatime", "relatime", "diratime", "nodiratime", "x-systemd.automount", "comment",
    };

    private static readonly Dictionary<string, string> Aliases = new(StringComparer.Ordinal)
    {
        ["ro"] = "read-only",
        ["allow_other"] = "allow-other",
        ["default_permissions"] = string.Empty, // already the default
        ["nonempty"] = "nonempty",
        ["kernel_cache"] = "kernel-cache",
        ["debug"] = "fuse-debug",
    };

    public static string[] Expand(IReadOnlyList<string> args, ISet<string> knownLongOptions)
    {
        var result = new List<string>(args.Count);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string? list = null;
            if (arg == "-o")
            {
                if (i + 1 >= args.Count)
                {
                    throw new CliException(ExitCodes.Usage, "-o needs a value, e.g. -o ro,connections=8");
                }

                list = args[++i];
            }
            else if (arg.StartsWith("-o", StringComparison.Ordinal) && arg.Length > 2 && !arg.StartsWith("--", StringComparison.Ordinal))
            {
                list = arg[2..];
            }

            if (list is null)
            {
                result.Add(arg);
                continue;
            }

            foreach (var item in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var eq = item.IndexOf('=');
                var name = eq < 0 ? item : item[..eq];
                var value = eq < 0 ? null : item[(eq + 1)..];
                if (Ignored.Contains(name) || name.StartsWith("x-", StringComparison.Ordinal))
                {
                    continue;
                }

                if (Aliases.TryGetValue(name, out var alias))
                {
                    if (alias.Length > 0)
                    {
                        result.Add("--" + alias);
                    }

                    continue;
                }

                var flag = "--" + name.Replace('_', '-');
                if (!knownLongOptions.Contains(flag))
                {
                    throw new CliException(ExitCodes.Usage, $"Unknown mount option \"{name}\" in -o.");
                }

                if (flag is "--password" or "--pass")
                {
                    throw new CliException(ExitCodes.Usage, "Passwords are not accepted as options (visible in ps and fstab); use password_file=FILE.");
                }

                result.Add(flag);
                if (value is not null)
                {
                    result.Add(value);
                }
            }
        }

        return result.ToArray();
    }
}
