namespace FtpsMount.Testing.Conformance;

/// <summary>The model's current tree: relative path → kind and size ("" is the working directory).</summary>
public sealed record ModelSnapshot(IReadOnlyDictionary<string, FsTargetStat> Entries)
{
    public IReadOnlyList<string> Files => [.. Entries.Where(e => e.Value.IsFile).Select(e => e.Key).Order(StringComparer.Ordinal)];

    /// <summary>Directories, the working directory ("") included.</summary>
    public IReadOnlyList<string> Directories => ["", .. Entries.Where(e => e.Value.IsDirectory).Select(e => e.Key).Order(StringComparer.Ordinal)];

    public long SizeOf(string path) => Entries.TryGetValue(path, out var s) && s.IsFile ? s.Size : 0;

    public static async Task<ModelSnapshot> TakeAsync(IFsTarget model, string root, CancellationToken ct)
    {
        var entries = new Dictionary<string, FsTargetStat>(StringComparer.Ordinal);
        var pending = new Stack<string>();
        pending.Push("");
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            foreach (var e in await model.ListAsync(TargetPath.Join(root, dir), ct).ConfigureAwait(false))
            {
                var path = TargetPath.Join(dir, e.Name);
                entries[path] = e;
                if (e.IsDirectory)
                {
                    pending.Push(path);
                }
            }
        }

        return new ModelSnapshot(entries);
    }
}

/// <summary>
/// Draws random operations from a seed, looking only at the model's tree, so a seed replays the same run.
/// Names come from a small pool (collisions are the point: replace, exists, not-empty, is-a-directory),
/// with non-ASCII names among them; paths stay at most three directories deep; a few paths go through
/// "nope", a directory that never exists. Never drawn: paths under a regular file (ENOTDIR vs ENOENT, which
/// FTP cannot tell apart), and renames between a path and its own ancestor — into itself (EINVAL) or onto
/// an ancestor (ENOTEMPTY): the kernel's VFS refuses those before a filesystem (FUSE included) is asked,
/// so Core never sees them from a mount and the answer is the kernel's, not Core's (the same holds for
/// rename(x, x) with RENAME_NOREPLACE).
/// </summary>
public sealed class ModelGenerator(int seed)
{
    private static readonly string[] s_names = ["a", "b", "c", "d", "é", "日本", "x y"];
    private const int MaxDepth = 3;

    private readonly Random _rng = new(seed);
    private int _dataSeed = seed * 7919 % 1_000_000;

    public ModelOp Next(ModelSnapshot snap)
    {
        var roll = _rng.Next(100);
        return roll switch
        {
            < 14 => new WriteAllOp(FileOrNew(snap, 0.7), Length(), NextSeed()),
            < 18 => new CreateExclusiveOp(AnyPath(snap), Length(), NextSeed()),
            < 32 => WriteAt(snap),
            < 39 => new AppendOp(FileOrNew(snap, 0.75), Length(), NextSeed()),
            < 45 => Truncate(snap),
            < 55 => HandleSession(snap),
            < 64 => new ReadAllOp(AnyPath(snap)),
            < 69 => ReadAt(snap),
            < 79 => Rename(snap),
            < 85 => new UnlinkOp(Chance(0.7) ? FileOrNew(snap, 1) : AnyPath(snap)),
            < 92 => new MkdirOp(Chance(0.8) ? NewPath(snap) : AnyPath(snap)),
            < 97 => new RmdirOp(Chance(0.7) && DirectoryOrNull(snap) is { } d ? d : AnyPath(snap)),
            < 99 => new StatOp(AnyPath(snap)),
            _ => new ListOp(Chance(0.7) ? Pick(snap.Directories) : AnyPath(snap)),
        };
    }

    private WriteAtOp WriteAt(ModelSnapshot snap)
    {
        var path = FileOrNew(snap, 0.75);
        return new WriteAtOp(path, Offset(snap.SizeOf(path)), Length(), NextSeed(), Create: Chance(0.5));
    }

    private TruncateOp Truncate(ModelSnapshot snap)
    {
        var path = FileOrNew(snap, 0.85);
        var size = snap.SizeOf(path);
        long length = _rng.Next(5) switch
        {
            0 => 0,
            1 => size / 2,
            2 => Math.Max(0, size - _rng.Next(1, 5000)),
            3 => size + _rng.Next(1, 5000),
            _ => size + _rng.Next(5000, 150_000),
        };
        return new TruncateOp(path, length);
    }

    private ReadAtOp ReadAt(ModelSnapshot snap)
    {
        var path = FileOrNew(snap, 0.9);
        var size = snap.SizeOf(path);
        return new ReadAtOp(path, _rng.NextInt64(0, size + 2000), _rng.Next(1, 70_000));
    }

    private HandleSessionOp HandleSession(ModelSnapshot snap)
    {
        var path = FileOrNew(snap, 0.7);
        var size = snap.SizeOf(path);
        var steps = new List<HandleStep>();
        var count = _rng.Next(1, 6);
        for (var i = 0; i < count; i++)
        {
            var roll = _rng.Next(100);
            if (roll < 45)
            {
                var offset = Offset(size);
                var length = Math.Min(Length(), 100_000);
                steps.Add(new HandleStep('W', offset, length, NextSeed()));
                size = Math.Max(size, offset + length);
            }
            else if (roll < 75)
            {
                steps.Add(new HandleStep('R', _rng.NextInt64(0, size + 100), _rng.Next(1, 20_000), 0));
            }
            else if (roll < 85)
            {
                var length = _rng.Next(3) switch { 0 => 0, 1 => size / 3, _ => size + _rng.Next(1, 20_000) };
                steps.Add(new HandleStep('T', length, 0, 0));
                size = length;
            }
            else
            {
                steps.Add(new HandleStep('S', 0, 0, 0));
            }
        }

        return new HandleSessionOp(path, Create: Chance(0.6), steps);
    }

    private RenameOp Rename(ModelSnapshot snap)
    {
        for (var attempt = 0; ; attempt++)
        {
            var from = Chance(0.85) ? ExistingOrNew(snap) : AnyPath(snap);
            var to = _rng.Next(100) switch
            {
                < 50 => NewPath(snap),
                < 85 => FileOrNew(snap, 1),
                _ => DirectoryOrNull(snap) ?? NewPath(snap),
            };
            var related = to.StartsWith(from + "/", StringComparison.Ordinal) || from.StartsWith(to + "/", StringComparison.Ordinal);
            if (related && attempt < 20)
            {
                continue; // into itself or onto an ancestor: decided by the VFS, not drawn (see the class comment)
            }

            if (related)
            {
                return new RenameOp(from, from, NoReplace: false);
            }

            // rename(x, x) is drawn (it must leave x alone), but without RENAME_NOREPLACE: for that Linux answers
            // EEXIST from the VFS, again without asking the filesystem.
            return new RenameOp(from, to, NoReplace: from != to && Chance(0.2));
        }
    }

    private bool Chance(double p) => _rng.NextDouble() < p;

    private int NextSeed() => ++_dataSeed;

    private T Pick<T>(IReadOnlyList<T> items) => items[_rng.Next(items.Count)];

    private int Length()
    {
        var r = _rng.NextDouble();
        return r switch
        {
            < 0.05 => 0,
            < 0.65 => _rng.Next(1, 4097),
            < 0.92 => _rng.Next(4097, 70_000),
            _ => _rng.Next(70_000, 300_000),
        };
    }

    private long Offset(long size)
    {
        var r = _rng.NextDouble();
        return r switch
        {
            < 0.5 => _rng.NextInt64(0, size + 1),
            < 0.8 => size + _rng.Next(0, 1000),
            _ => size + _rng.Next(1000, 200_000),
        };
    }

    /// <summary>An existing file with probability <paramref name="p"/> (if any), else a new path.</summary>
    private string FileOrNew(ModelSnapshot snap, double p)
    {
        var files = snap.Files;
        return files.Count > 0 && Chance(p) ? Pick(files) : NewPath(snap);
    }

    private string? DirectoryOrNull(ModelSnapshot snap)
    {
        var dirs = snap.Directories.Where(d => d.Length > 0).ToList();
        return dirs.Count > 0 ? Pick(dirs) : null;
    }

    private string ExistingOrNew(ModelSnapshot snap) =>
        snap.Entries.Count > 0 ? Pick(snap.Entries.Keys.Order(StringComparer.Ordinal).ToList()) : NewPath(snap);

    /// <summary>Mostly existing things, sometimes a fresh name.</summary>
    private string AnyPath(ModelSnapshot snap)
    {
        var r = _rng.Next(100);
        return r switch
        {
            < 45 => FileOrNew(snap, 1),
            < 65 => DirectoryOrNull(snap) ?? NewPath(snap),
            _ => NewPath(snap),
        };
    }

    /// <summary>A pool name in an existing directory that is not too deep (or, rarely, under the missing "nope").</summary>
    private string NewPath(ModelSnapshot snap)
    {
        if (Chance(0.04))
        {
            return NewPathIn("nope");
        }

        var parents = snap.Directories.Where(d => Depth(d) < MaxDepth).ToList();
        return NewPathIn(Pick(parents));
    }

    private string NewPathIn(string parent) => TargetPath.Join(parent, s_names[_rng.Next(s_names.Length)]);

    private static int Depth(string path) => path.Length == 0 ? 0 : path.Count(c => c == '/') + 1;
}
