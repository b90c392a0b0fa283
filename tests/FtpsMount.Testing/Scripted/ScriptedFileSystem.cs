using System.Text;

namespace FtpsMount.Testing.Scripted;

/// <summary>One file or directory of a <see cref="ScriptedFileSystem"/> (a snapshot).</summary>
public sealed record ScriptedFileSystemEntry(
    string Path,
    string Name,
    bool IsDirectory,
    long Size,
    DateTimeOffset Modified,
    int Mode);

/// <summary>
/// Thread-safe in-memory tree served by <see cref="ScriptedFtpServer"/>. Paths are absolute, '/'-separated;
/// every method normalises them ("a//b/../c" is "/a/c"). The root "/" always exists.
/// </summary>
public sealed class ScriptedFileSystem
{
    private sealed class Node
    {
        public bool IsDirectory;
        public byte[] Content = [];
        public DateTimeOffset Modified;
        public int Mode;
    }

    private readonly object _gate = new();
    private readonly Dictionary<string, Node> _nodes = new(StringComparer.Ordinal);

    public ScriptedFileSystem()
    {
        _nodes["/"] = new Node { IsDirectory = true, Modified = Now(), Mode = 0x1ED /* 0755 */ };
    }

    /// <summary>Time stamp given to files the server creates or changes. Default: UTC now, whole seconds.</summary>
    public Func<DateTimeOffset> Clock { get; set; } = static () =>
    {
        var now = DateTimeOffset.UtcNow;
        return new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
    };

    /// <summary>Raised (outside the lock) after every change.</summary>
    public event Action? Changed;

    private DateTimeOffset Now() => Clock?.Invoke() ?? DateTimeOffset.UtcNow;

    /// <summary>"/" + components, with "." and ".." resolved (".." at the root stays at the root).</summary>
    public static string Normalize(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var parts = new List<string>();
        foreach (var part in path.Split('/'))
        {
            if (part.Length == 0 || part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                if (parts.Count > 0)
                {
                    parts.RemoveAt(parts.Count - 1);
                }

                continue;
            }

            parts.Add(part);
        }

        return "/" + string.Join('/', parts);
    }

    /// <summary>Resolves <paramref name="path"/> against <paramref name="directory"/> (absolute paths win).</summary>
    public static string Combine(string directory, string path) =>
        path.StartsWith('/') ? Normalize(path) : Normalize(directory + "/" + path);

    public static string ParentOf(string path)
    {
        var p = Normalize(path);
        if (p == "/")
        {
            return "/";
        }

        var i = p.LastIndexOf('/');
        return i <= 0 ? "/" : p[..i];
    }

    public static string NameOf(string path)
    {
        var p = Normalize(path);
        return p == "/" ? "/" : p[(p.LastIndexOf('/') + 1)..];
    }

    // ---- seeding --------------------------------------------------------------------------------

    /// <summary>Adds or replaces a file, creating missing parent directories.</summary>
    public ScriptedFileSystem AddFile(string path, byte[] content, DateTimeOffset? modified = null, int mode = 0x1A4 /* 0644 */)
    {
        ArgumentNullException.ThrowIfNull(content);
        var p = Normalize(path);
        if (p == "/")
        {
            throw new ArgumentException("The root is a directory.", nameof(path));
        }

        lock (_gate)
        {
            EnsureDirectoriesLocked(ParentOf(p));
            if (_nodes.TryGetValue(p, out var existing) && existing.IsDirectory)
            {
                throw new InvalidOperationException($"{p} is a directory.");
            }

            _nodes[p] = new Node { Content = (byte[])content.Clone(), Modified = modified ?? Now(), Mode = mode };
        }

        OnChanged();
        return this;
    }

    /// <summary>Adds a file with UTF-8 text.</summary>
    public ScriptedFileSystem AddFile(string path, string text, DateTimeOffset? modified = null) =>
        AddFile(path, Encoding.UTF8.GetBytes(text), modified);

    /// <summary>Adds a directory (and missing parents); an existing directory only gets its time changed if given.</summary>
    public ScriptedFileSystem AddDirectory(string path, DateTimeOffset? modified = null, int mode = 0x1ED /* 0755 */)
    {
        var p = Normalize(path);
        lock (_gate)
        {
            EnsureDirectoriesLocked(p);
            var node = _nodes[p];
            node.Mode = mode;
            if (modified is { } m)
            {
                node.Modified = m;
            }
        }

        OnChanged();
        return this;
    }

    private void EnsureDirectoriesLocked(string directory)
    {
        var p = Normalize(directory);
        if (_nodes.TryGetValue(p, out var node))
        {
            if (!node.IsDirectory)
            {
                throw new InvalidOperationException($"{p} is a file.");
            }

            return;
        }

        EnsureDirectoriesLocked(ParentOf(p));
        _nodes[p] = new Node { IsDirectory = true, Modified = Now(), Mode = 0x1ED };
    }

    // ---- inspection -----------------------------------------------------------------------------

    public bool Exists(string path)
    {
        lock (_gate)
        {
            return _nodes.ContainsKey(Normalize(path));
        }
    }

    public bool FileExists(string path)
    {
        lock (_gate)
        {
            return _nodes.TryGetValue(Normalize(path), out var n) && !n.IsDirectory;
        }
    }

    public bool DirectoryExists(string path)
    {
        lock (_gate)
        {
            return _nodes.TryGetValue(Normalize(path), out var n) && n.IsDirectory;
        }
    }

    /// <summary>A copy of the file's bytes; throws <see cref="FileNotFoundException"/> when there is no such file.</summary>
    public byte[] ReadFile(string path) =>
        TryReadFile(path) ?? throw new FileNotFoundException($"No file {Normalize(path)} in the scripted file system.");

    public byte[]? TryReadFile(string path)
    {
        lock (_gate)
        {
            return _nodes.TryGetValue(Normalize(path), out var n) && !n.IsDirectory ? (byte[])n.Content.Clone() : null;
        }
    }

    public string ReadText(string path) => Encoding.UTF8.GetString(ReadFile(path));

    public ScriptedFileSystemEntry? GetEntry(string path)
    {
        var p = Normalize(path);
        lock (_gate)
        {
            return _nodes.TryGetValue(p, out var n) ? ToEntry(p, n) : null;
        }
    }

    /// <summary>Children of a directory sorted by name (ordinal); null when it is not a directory.</summary>
    public IReadOnlyList<ScriptedFileSystemEntry>? List(string directory)
    {
        var p = Normalize(directory);
        lock (_gate)
        {
            if (!_nodes.TryGetValue(p, out var dir) || !dir.IsDirectory)
            {
                return null;
            }

            return ChildrenLocked(p)
                .Select(kv => ToEntry(kv.Key, kv.Value))
                .OrderBy(e => e.Name, StringComparer.Ordinal)
                .ToList();
        }
    }

    /// <summary>Every path but the root, sorted.</summary>
    public IReadOnlyList<string> AllPaths()
    {
        lock (_gate)
        {
            return _nodes.Keys.Where(k => k != "/").OrderBy(k => k, StringComparer.Ordinal).ToList();
        }
    }

    public void SetModified(string path, DateTimeOffset modified)
    {
        lock (_gate)
        {
            if (!_nodes.TryGetValue(Normalize(path), out var n))
            {
                throw new FileNotFoundException($"No entry {Normalize(path)}.");
            }

            n.Modified = modified;
        }

        OnChanged();
    }

    /// <summary>Removes a file or a directory with everything under it. False if absent.</summary>
    public bool Remove(string path)
    {
        var p = Normalize(path);
        if (p == "/")
        {
            throw new ArgumentException("The root cannot be removed.", nameof(path));
        }

        bool removed;
        lock (_gate)
        {
            removed = _nodes.Remove(p);
            foreach (var key in _nodes.Keys.Where(k => k.StartsWith(p + "/", StringComparison.Ordinal)).ToList())
            {
                _nodes.Remove(key);
            }
        }

        if (removed)
        {
            OnChanged();
        }

        return removed;
    }

    private IEnumerable<KeyValuePair<string, Node>> ChildrenLocked(string directory)
    {
        var prefix = directory == "/" ? "/" : directory + "/";
        return _nodes.Where(kv => kv.Key.Length > prefix.Length
            && kv.Key.StartsWith(prefix, StringComparison.Ordinal)
            && kv.Key.IndexOf('/', prefix.Length) < 0);
    }

    private static ScriptedFileSystemEntry ToEntry(string path, Node n) =>
        new(path, NameOf(path), n.IsDirectory, n.IsDirectory ? 0 : n.Content.LongLength, n.Modified, n.Mode);

    private void OnChanged()
    {
        try
        {
            Changed?.Invoke();
        }
#pragma warning disable CA1031 // a listener's failure must not break the file system
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    // ---- operations used by the server (FTP-style results) --------------------------------------

    internal enum Result
    {
        Ok,
        NotFound,
        IsDirectory,
        NotDirectory,
        Exists,
        NotEmpty,
        ParentMissing,
        Invalid,
    }

    /// <summary>STOR (offset 0: replace; offset n: keep the first n bytes, then the data) or APPE.</summary>
    internal Result Write(string path, ReadOnlySpan<byte> data, long offset, bool append)
    {
        var p = Normalize(path);
        lock (_gate)
        {
            if (p == "/" || !_nodes.TryGetValue(ParentOf(p), out var parent) || !parent.IsDirectory)
            {
                return Result.ParentMissing;
            }

            _nodes.TryGetValue(p, out var node);
            if (node is { IsDirectory: true })
            {
                return Result.IsDirectory;
            }

            var old = node?.Content ?? [];
            byte[] content;
            if (append)
            {
                content = [.. old, .. data];
            }
            else if (offset > 0)
            {
                if (offset > old.LongLength)
                {
                    return Result.Invalid;
                }

                content = [.. old.AsSpan(0, (int)offset), .. data];
            }
            else
            {
                content = data.ToArray();
            }

            if (node is null)
            {
                _nodes[p] = new Node { Content = content, Modified = Now(), Mode = 0x1A4 };
            }
            else
            {
                node.Content = content;
                node.Modified = Now();
            }
        }

        OnChanged();
        return Result.Ok;
    }

    internal Result MakeDirectory(string path)
    {
        var p = Normalize(path);
        lock (_gate)
        {
            if (_nodes.ContainsKey(p))
            {
                return Result.Exists;
            }

            if (!_nodes.TryGetValue(ParentOf(p), out var parent) || !parent.IsDirectory)
            {
                return Result.ParentMissing;
            }

            _nodes[p] = new Node { IsDirectory = true, Modified = Now(), Mode = 0x1ED };
        }

        OnChanged();
        return Result.Ok;
    }

    internal Result RemoveDirectory(string path)
    {
        var p = Normalize(path);
        lock (_gate)
        {
            if (p == "/" || !_nodes.TryGetValue(p, out var n))
            {
                return Result.NotFound;
            }

            if (!n.IsDirectory)
            {
                return Result.NotDirectory;
            }

            if (ChildrenLocked(p).Any())
            {
                return Result.NotEmpty;
            }

            _nodes.Remove(p);
        }

        OnChanged();
        return Result.Ok;
    }

    internal Result DeleteFile(string path)
    {
        var p = Normalize(path);
        lock (_gate)
        {
            if (!_nodes.TryGetValue(p, out var n))
            {
                return Result.NotFound;
            }

            if (n.IsDirectory)
            {
                return Result.IsDirectory;
            }

            _nodes.Remove(p);
        }

        OnChanged();
        return Result.Ok;
    }

    internal Result Rename(string from, string to, bool overwrite)
    {
        var f = Normalize(from);
        var t = Normalize(to);
        lock (_gate)
        {
            if (f == "/" || !_nodes.TryGetValue(f, out var node))
            {
                return Result.NotFound;
            }

            if (t == "/" || t.StartsWith(f + "/", StringComparison.Ordinal))
            {
                return Result.Invalid;
            }

            if (!_nodes.TryGetValue(ParentOf(t), out var parent) || !parent.IsDirectory)
            {
                return Result.ParentMissing;
            }

            if (t == f)
            {
                return Result.Ok;
            }

            if (_nodes.TryGetValue(t, out var target))
            {
                if (!overwrite || target.IsDirectory || node.IsDirectory)
                {
                    return Result.Exists;
                }

                _nodes.Remove(t);
            }

            var moves = _nodes.Where(kv => kv.Key == f || kv.Key.StartsWith(f + "/", StringComparison.Ordinal)).ToList();
            foreach (var kv in moves)
            {
                _nodes.Remove(kv.Key);
            }

            foreach (var kv in moves)
            {
                _nodes[t + kv.Key[f.Length..]] = kv.Value;
            }
        }

        OnChanged();
        return Result.Ok;
    }

    internal Result SetMode(string path, int mode)
    {
        lock (_gate)
        {
            if (!_nodes.TryGetValue(Normalize(path), out var n))
            {
                return Result.NotFound;
            }

            n.Mode = mode;
        }

        OnChanged();
        return Result.Ok;
    }

    internal Result TrySetModified(string path, DateTimeOffset modified)
    {
        lock (_gate)
        {
            if (!_nodes.TryGetValue(Normalize(path), out var n))
            {
                return Result.NotFound;
            }

            n.Modified = modified;
        }

        OnChanged();
        return Result.Ok;
    }
}
