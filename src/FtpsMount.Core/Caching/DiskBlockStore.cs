using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace FtpsMount.Core.Caching;

/// <summary>
/// The file layout of the on-disk block tier (<c>--cache-dir</c>). Pure I/O: the bookkeeping (what is present,
/// LRU order, budget) lives in <see cref="BlockCache"/>. Every method turns I/O problems into a result value;
/// nothing here throws at the caller for a missing, truncated or unreadable file.
/// <code>
/// ROOT/                         0700, with a CACHEDIR.TAG so backup tools skip it
///   &lt;32 hex: SHA-256(path)&gt;/     0700, one per remote file
///     index                     0600: format, block size, remote path, size, mtime, epoch
///     &lt;block&gt;.&lt;epoch&gt;.blk       0600: exactly the block's bytes (a short file is a truncated block)
/// </code>
/// The epoch is a random id chosen each time a version of the file starts being cached. Block files carry it in
/// their name, so blocks of an older version or of an invalidated generation can never be taken for current ones
/// after a restart, even if deleting them failed: only blocks whose epoch matches the index are trusted.
/// </summary>
internal sealed class DiskBlockStore
{
    internal const string IndexFileName = "index";
    private const string TagFileName = "CACHEDIR.TAG";
    private const string BlockSuffix = ".blk";
    private const uint Magic = 0x43424D46; // "FMBC" little-endian
    private const int FormatVersion = 1;
    private const int HashNameLength = 32;

    private readonly int _blockSize;

    public DiskBlockStore(string root, int blockSize)
    {
        Root = Path.GetFullPath(root);
        _blockSize = blockSize;
        CreatePrivateDirectory(Root);
        if (!OperatingSystem.IsWindows())
        {
            // An existing directory may have been created with the umask's mode; cached file contents are private.
            File.SetUnixFileMode(Root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var tag = Path.Combine(Root, TagFileName);
        if (!File.Exists(tag))
        {
            TryWriteAtomically(tag, Encoding.ASCII.GetBytes(
                "Signature: 8a477f597d28d172789f06886806bc55\n# This is an ftpsmount block cache; it can be deleted while nothing is mounted.\n"));
        }
    }

    public string Root { get; }

    internal enum ReadResult
    {
        Ok,
        Missing,
        Corrupt,
        Error,
    }

    internal readonly record struct ScannedBlock(long Index, int Length, string FilePath, DateTime LastAccessUtc);

    internal sealed record ScannedFile(FileKey Key, string Directory, string Epoch, List<ScannedBlock> Blocks);

    public string DirectoryFor(string remotePath) => Path.Combine(Root, HashName(remotePath));

    public static string BlockPath(string directory, long index, string epoch) =>
        Path.Combine(directory, index.ToString(CultureInfo.InvariantCulture) + "." + epoch + BlockSuffix);

    public static string NewEpoch() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    /// <summary>Reads what survived a previous mount. Directories and files that are not ours (wrong name shape) are
    /// left alone; ours that are invalid (bad index, other block size, other epoch, wrong length, leftovers of an
    /// interrupted write) are deleted.</summary>
    public List<ScannedFile> Scan(Action onError)
    {
        var result = new List<ScannedFile>();
        IEnumerable<string> directories;
        try
        {
            directories = Directory.EnumerateDirectories(Root).ToList();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            onError();
            return result;
        }

        foreach (var directory in directories)
        {
            var name = Path.GetFileName(directory);
            if (!IsHashName(name))
            {
                continue;
            }

            if (!TryReadIndex(directory, out var key, out var epoch) || HashName(key.Path) != name)
            {
                TryDeleteDirectory(directory);
                continue;
            }

            var blocks = new List<ScannedBlock>();
            try
            {
                foreach (var file in Directory.EnumerateFiles(directory).ToList())
                {
                    var fileName = Path.GetFileName(file);
                    if (fileName == IndexFileName)
                    {
                        continue;
                    }

                    if (TryParseBlockName(fileName, epoch, out var index) && ExpectedLength(key, index) is var expected and > 0)
                    {
                        var info = new FileInfo(file);
                        if (info.Length == expected)
                        {
                            blocks.Add(new ScannedBlock(index, expected, file, info.LastWriteTimeUtc));
                            continue;
                        }

                        onError();
                    }

                    TryDelete(file);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                onError();
            }

            result.Add(new ScannedFile(key, directory, epoch, blocks));
        }

        return result;
    }

    public int ExpectedLength(FileKey key, long index)
    {
        var start = index * _blockSize;
        return index < 0 || start >= key.Size ? 0 : (int)Math.Min(_blockSize, key.Size - start);
    }

    /// <summary>Fills <paramref name="destination"/> (exactly the block's expected length) from the block file.
    /// A file of another length is truncated or foreign: it is deleted and reported as <see cref="ReadResult.Corrupt"/>.</summary>
    public static ReadResult TryRead(string file, Span<byte> destination)
    {
        try
        {
            using var handle = File.OpenHandle(file, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
            if (RandomAccess.GetLength(handle) != destination.Length)
            {
                handle.Dispose();
                TryDelete(file);
                return ReadResult.Corrupt;
            }

            var done = 0;
            while (done < destination.Length)
            {
                var n = RandomAccess.Read(handle, destination[done..], done);
                if (n == 0)
                {
                    handle.Dispose();
                    TryDelete(file);
                    return ReadResult.Corrupt;
                }

                done += n;
            }

            return ReadResult.Ok;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return ReadResult.Missing;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return ReadResult.Error;
        }
    }

    /// <summary>Writes the index that makes blocks of <paramref name="epoch"/> valid for <paramref name="key"/>.</summary>
    public bool TryWriteIndex(string directory, FileKey key, string epoch)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Magic);
            writer.Write(FormatVersion);
            writer.Write(_blockSize);
            writer.Write(key.Size);
            writer.Write(key.Modified.UtcTicks);
            writer.Write(epoch);
            writer.Write(key.Path);
        }

        return CreatePrivateDirectory(directory) && TryWriteAtomically(Path.Combine(directory, IndexFileName), buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
    }

    public bool TryWriteBlock(string directory, string file, ReadOnlySpan<byte> data) =>
        CreatePrivateDirectory(directory) && TryWriteAtomically(file, data);

    /// <summary>Records an access in the file's mtime, which orders the disk LRU again after a remount.</summary>
    public static void TryTouch(string file, DateTimeOffset now)
    {
        try
        {
            File.SetLastWriteTimeUtc(file, now.UtcDateTime);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Only the LRU order after a remount suffers.
        }
    }

    public static void TryDelete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A block that cannot be deleted is not trusted after a restart either (its epoch is stale).
        }
    }

    public static void TryDeleteDirectory(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Left-over files are re-examined (and deleted) at the next scan.
        }
    }

    /// <summary>Deletes every per-file directory this store created (never anything else under the root).</summary>
    public void DeleteAllEntries()
    {
        try
        {
            foreach (var directory in Directory.EnumerateDirectories(Root).ToList())
            {
                if (IsHashName(Path.GetFileName(directory)))
                {
                    TryDeleteDirectory(directory);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Nothing more to do; the next scan retries.
        }
    }

    internal static string HashName(string remotePath) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(remotePath)))[..HashNameLength];

    private static bool IsHashName(string name) =>
        name.Length == HashNameLength && name.AsSpan().IndexOfAnyExcept("0123456789abcdef") < 0;

    private static bool TryParseBlockName(string fileName, string epoch, out long index)
    {
        index = -1;
        var expectedTail = "." + epoch + BlockSuffix;
        return fileName.EndsWith(expectedTail, StringComparison.Ordinal)
            && long.TryParse(fileName.AsSpan(0, fileName.Length - expectedTail.Length), NumberStyles.None, CultureInfo.InvariantCulture, out index);
    }

    private bool TryReadIndex(string directory, out FileKey key, out string epoch)
    {
        key = default;
        epoch = string.Empty;
        try
        {
            using var stream = File.OpenRead(Path.Combine(directory, IndexFileName));
            using var reader = new BinaryReader(stream, Encoding.UTF8);
            if (reader.ReadUInt32() != Magic || reader.ReadInt32() != FormatVersion || reader.ReadInt32() != _blockSize)
            {
                return false;
            }

            var size = reader.ReadInt64();
            var ticks = reader.ReadInt64();
            epoch = reader.ReadString();
            var path = reader.ReadString();
            if (size < 0 || ticks < DateTime.MinValue.Ticks || ticks > DateTime.MaxValue.Ticks || path.Length == 0
                || epoch.Length == 0 || !IsHex(epoch) || stream.Position != stream.Length)
            {
                return false;
            }

            key = new FileKey(path, size, new DateTimeOffset(ticks, TimeSpan.Zero));
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // EndOfStreamException (truncated index) is an IOException.
            return false;
        }
    }

    private static bool IsHex(string s) => s.AsSpan().IndexOfAnyExcept("0123456789abcdef") < 0;

    private static bool CreatePrivateDirectory(string directory)
    {
        try
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(directory);
            }
            else
            {
                Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }

            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Writes to a unique temporary name, then renames over the target: a reader never sees a half-written file
    /// under the final name (a crash leaves only a *.tmp, deleted by the next scan).</summary>
    private static bool TryWriteAtomically(string file, ReadOnlySpan<byte> data)
    {
        var temp = file + "." + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)) + ".tmp";
        try
        {
            var options = new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Share = FileShare.None,
                BufferSize = 0,
                PreallocationSize = data.Length,
            };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using (var stream = new FileStream(temp, options))
            {
                stream.Write(data);
            }

            File.Move(temp, file, overwrite: true);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            return false;
        }
    }
}
