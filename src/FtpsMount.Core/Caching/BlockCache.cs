using System.Buffers;

namespace FtpsMount.Core.Caching;

/// <summary>
/// Storage of the block-range read cache: fixed-size blocks of remote files, addressed by (<see cref="FileKey"/>,
/// block index). Block i of a file covers bytes [i*BlockSize, min((i+1)*BlockSize, size)); only the last block
/// (the file's tail) may be shorter, and a block is stored only whole.
/// <para>
/// Memory tier: LRU under a byte budget (<c>--cache-size</c>), O(1) lookup and insert (dictionaries + one linked
/// list), buffers rented from <see cref="ArrayPool{T}"/> and returned on eviction. Readers copy into their own
/// span; a block being copied is pinned, so eviction hands its buffer back to the pool only after the last copy
/// finished and no caller ever sees a recycled buffer. The lock guards bookkeeping only; no copy or I/O runs under it.
/// </para>
/// <para>
/// Optional disk tier (<c>--cache-dir</c>): blocks are written through to files (see <see cref="DiskBlockStore"/>)
/// that survive remounts; a file's blocks are trusted only while the remote size and mtime match the ones stored
/// in its index. Disk budget with LRU by last access. A missing, truncated or unreadable block file is a miss,
/// never an exception reaching the caller.
/// </para>
/// Validation: all lookups take the current <see cref="FileKey"/>. When it differs from the version cached for the
/// path, every block of the old version (memory and disk) is discarded first. Own writes call <see cref="Invalidate"/>.
/// </summary>
public sealed class BlockCache : IDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, FileState> _files = new(StringComparer.Ordinal);
    private readonly LinkedList<MemoryBlock> _memoryLru = new(); // First = most recently used.
    private readonly LinkedList<DiskBlock> _diskLru = new();
    private readonly LinkedList<MemoryBlock> _streamed = new(); // blocks a read-ahead stream delivered, oldest first
    private long _streamedBytes;
    private readonly DiskBlockStore? _disk;
    private readonly TimeProvider _time;
    private long _memoryBytes;
    private long _diskBytes;
    private bool _disposed;

    /// <param name="blockSize">Bytes per block (the last block of a file may be shorter).</param>
    /// <param name="memoryBudgetBytes">Upper bound of the pooled buffers held (0 disables the memory tier).</param>
    /// <param name="time">Clock for the disk tier's access times.</param>
    /// <param name="diskDirectory">Directory of the disk tier, or null for memory only. Created 0700 if missing.</param>
    /// <param name="diskBudgetBytes">Upper bound of the block files' total size.</param>
    public BlockCache(int blockSize, long memoryBudgetBytes, TimeProvider? time = null, string? diskDirectory = null, long diskBudgetBytes = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(memoryBudgetBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(diskBudgetBytes);
        BlockSize = blockSize;
        MemoryBudgetBytes = memoryBudgetBytes;
        StreamedBudgetBytes = Math.Max(memoryBudgetBytes / 4, Math.Min(memoryBudgetBytes, 32L * 1024 * 1024));
        DiskBudgetBytes = diskBudgetBytes;
        _time = time ?? TimeProvider.System;
        if (diskDirectory is not null)
        {
            _disk = new DiskBlockStore(diskDirectory, blockSize);
            LoadDiskTier();
        }
    }

    /// <summary>A cache configured from the mount's <see cref="CacheOptions"/>.</summary>
    public static BlockCache Create(CacheOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new BlockCache(options.BlockSize, options.CacheSizeBytes, time, options.CacheDirectory, options.DiskCacheSizeBytes);
    }

    public int BlockSize { get; }
    public long MemoryBudgetBytes { get; }

    /// <summary>
    /// Most memory held by blocks that sequential read-ahead delivered (<see cref="Adopt"/> with streamed): a quarter of
    /// the memory budget, at least 32 MiB (or the whole budget when smaller). Reading a big file front to back thus
    /// recycles the same arrays instead of filling the whole budget with fresh pages (the kernel's page cache keeps the
    /// file for re-reads), and one large scan cannot push everything else out of the cache. Measured on a 256 MiB read:
    /// page zeroing for new cache memory was 17% of the mount's samples and peak RSS was the whole cache plus ~85 MiB.
    /// </summary>
    public long StreamedBudgetBytes { get; }
    public long DiskBudgetBytes { get; }
    public string? DiskDirectory => _disk?.Root;
    public BlockCacheStatistics Statistics { get; } = new();

    /// <summary>Test hook: runs after a memory hit was pinned and before its bytes are copied.</summary>
    internal Action? PinnedForTest { get; set; }

    /// <summary>Bytes of pooled buffers currently held by the memory tier.</summary>
    public long MemoryBytes
    {
        get
        {
            lock (_lock)
            {
                return _memoryBytes;
            }
        }
    }

    public int MemoryBlockCount
    {
        get
        {
            lock (_lock)
            {
                return _memoryLru.Count;
            }
        }
    }

    /// <summary>Bytes of block files currently in the disk tier.</summary>
    public long DiskBytes
    {
        get
        {
            lock (_lock)
            {
                return _diskBytes;
            }
        }
    }

    public int DiskBlockCount
    {
        get
        {
            lock (_lock)
            {
                return _diskLru.Count;
            }
        }
    }

    /// <summary>Length of block <paramref name="blockIndex"/> of <paramref name="file"/>: <see cref="BlockSize"/>,
    /// less for the tail block, 0 past the end of the file.</summary>
    public int BlockLength(FileKey file, long blockIndex)
    {
        var start = blockIndex * (long)BlockSize;
        return blockIndex < 0 || start >= file.Size ? 0 : (int)Math.Min(BlockSize, file.Size - start);
    }

    /// <summary>
    /// Copies bytes of one cached block, starting <paramref name="offsetInBlock"/> bytes into it, into
    /// <paramref name="destination"/> (as many as fit and the block holds). False on a miss.
    /// </summary>
    public bool TryReadBlock(FileKey file, long blockIndex, int offsetInBlock, Span<byte> destination, out int bytesCopied)
    {
        var length = BlockLength(file, blockIndex);
        if (length == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(blockIndex), blockIndex, $"Block {blockIndex} is past the end of {file}.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(offsetInBlock);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(offsetInBlock, length);

        MemoryBlock? hit = null;
        DiskBlock? onDisk = null;
        FileState state;
        long generation;
        var victims = new Victims();
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            state = GetStateLocked(file, ref victims);
            generation = state.Generation;
            if (state.Memory.TryGetValue(blockIndex, out hit))
            {
                hit.Pin();
                _memoryLru.Remove(hit.Node);
                _memoryLru.AddFirst(hit.Node);
            }
            else if (state.Disk.TryGetValue(blockIndex, out onDisk))
            {
                _diskLru.Remove(onDisk.Node);
                _diskLru.AddFirst(onDisk.Node);
            }
        }

        victims.Release();
        if (hit is not null)
        {
            try
            {
                PinnedForTest?.Invoke();
                bytesCopied = Math.Min(destination.Length, hit.Length - offsetInBlock);
                hit.Buffer.AsSpan(offsetInBlock, bytesCopied).CopyTo(destination);
            }
            finally
            {
                hit.Unpin();
            }

            Statistics.Hit(bytesCopied, fromDisk: false);
            return true;
        }

        if (onDisk is not null && TryReadFromDisk(state, generation, onDisk, offsetInBlock, destination, out bytesCopied))
        {
            return true;
        }

        Statistics.Miss();
        bytesCopied = 0;
        return false;
    }

    /// <summary>
    /// Copies cached bytes of <paramref name="file"/> from <paramref name="offset"/> on, block after block, until the
    /// destination is full, the file ends, or a block is missing. Returns the number of bytes copied (0 on a miss at
    /// <paramref name="offset"/>).
    /// </summary>
    public int Read(FileKey file, long offset, Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (offset >= file.Size)
        {
            return 0;
        }

        if (destination.Length > file.Size - offset)
        {
            destination = destination[..(int)(file.Size - offset)];
        }

        var total = 0;
        while (total < destination.Length)
        {
            var position = offset + total;
            if (!TryReadBlock(file, position / BlockSize, (int)(position % BlockSize), destination[total..], out var copied))
            {
                break;
            }

            total += copied;
        }

        return total;
    }

    /// <summary>
    /// Stores block <paramref name="blockIndex"/> of <paramref name="file"/>. <paramref name="data"/> must be the whole
    /// block (<see cref="BlockLength"/> bytes). The bytes are copied; with a disk tier they are also written through
    /// (synchronously, outside the lock; a disk failure only counts in <see cref="BlockCacheStatistics.DiskErrors"/>).
    /// </summary>
    public void Put(FileKey file, long blockIndex, ReadOnlySpan<byte> data) => Store(file, blockIndex, data, owned: null);

    /// <summary>
    /// Stores block <paramref name="blockIndex"/> of <paramref name="file"/> by taking <paramref name="rented"/> (an
    /// <see cref="ArrayPool{T}.Shared"/> array whose first <see cref="BlockLength"/> bytes are the block) instead of
    /// copying it, as the read path does with each block it downloads. Returns a pin when the cache kept the array: the
    /// caller may go on reading it until it disposes the pin (an evicted block's array goes back to the pool only after
    /// that). Returns null when the cache did not keep it (the block was already cached, or the memory tier is too
    /// small): the array stays the caller's. A disk tier gets its copy written through either way.
    /// </summary>
    /// <param name="streamed">The block came from sequential read-ahead: it counts against <see cref="StreamedBudgetBytes"/>.</param>
    internal IDisposable? Adopt(FileKey file, long blockIndex, byte[] rented, bool streamed = false)
    {
        ArgumentNullException.ThrowIfNull(rented);
        return Store(file, blockIndex, rented.AsSpan(0, Math.Min(rented.Length, BlockLength(file, blockIndex))), rented, streamed);
    }

    private IDisposable? Store(FileKey file, long blockIndex, ReadOnlySpan<byte> data, byte[]? owned, bool streamed = false)
    {
        var length = BlockLength(file, blockIndex);
        if (length == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(blockIndex), blockIndex, $"Block {blockIndex} is past the end of {file}.");
        }

        if (data.Length != length)
        {
            throw new ArgumentException($"Block {blockIndex} of {file} is {length} bytes, got {data.Length}.", nameof(data));
        }

        byte[]? buffer = null;
        if (length <= MemoryBudgetBytes)
        {
            if (owned is null)
            {
                buffer = ArrayPool<byte>.Shared.Rent(length);
                data.CopyTo(buffer);
            }
            else
            {
                buffer = owned;
            }
        }

        var victims = new Victims();
        FileState state;
        long generation;
        string? epoch = null;
        var writeIndex = false;
        MemoryBlock? pinned = null;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            state = GetStateLocked(file, ref victims);
            generation = state.Generation;
            if (buffer is not null)
            {
                if (!InsertMemoryLocked(state, blockIndex, buffer, length, ref victims))
                {
                    if (owned is null)
                    {
                        victims.AddBuffer(buffer);
                    }
                }
                else
                {
                    var inserted = state.Memory[blockIndex];
                    if (owned is not null)
                    {
                        // Pinned before the lock is released, so no eviction can hand the array back while the caller reads it.
                        pinned = inserted;
                        pinned.Pin();
                    }

                    if (streamed)
                    {
                        TrackStreamedLocked(inserted, ref victims);
                    }
                }
            }

            if (_disk is not null && !state.Disk.ContainsKey(blockIndex))
            {
                if (state.Epoch is null)
                {
                    state.Epoch = DiskBlockStore.NewEpoch();
                    writeIndex = true;
                }

                epoch = state.Epoch;
            }
        }

        victims.Release();
        if (epoch is not null)
        {
            WriteToDisk(state, generation, file, blockIndex, data, epoch, writeIndex);
        }

        return pinned is null ? null : new Pin(pinned);
    }

    /// <summary>The caller's hold on an adopted block's array (see <see cref="Adopt"/>).</summary>
    private sealed class Pin(MemoryBlock block) : IDisposable
    {
        private MemoryBlock? _block = block;

        public void Dispose() => Interlocked.Exchange(ref _block, null)?.Unpin();
    }

    /// <summary>True when the block is in memory or on disk (does not count as a hit or miss).</summary>
    public bool Contains(FileKey file, long blockIndex)
    {
        var victims = new Victims();
        bool found;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var state = GetStateLocked(file, ref victims);
            found = state.Memory.ContainsKey(blockIndex) || state.Disk.ContainsKey(blockIndex);
        }

        victims.Release();
        return found;
    }

    /// <summary>
    /// The parts of <paramref name="range"/> (clipped to the file) that are not cached, widened to whole blocks:
    /// exactly what a reader has to fetch (REST+RETR) to serve the range and fill the cache.
    /// </summary>
    public List<ByteRange> MissingRanges(FileKey file, ByteRange range)
    {
        var result = new List<ByteRange>();
        var clipped = range.Intersect(new ByteRange(0, file.Size));
        if (clipped.IsEmpty)
        {
            return result;
        }

        var victims = new Victims();
        List<ByteRange> gaps;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            gaps = GetStateLocked(file, ref victims).Present.Missing(clipped);
        }

        victims.Release();
        foreach (var gap in gaps)
        {
            var start = gap.Start / BlockSize * BlockSize;
            var end = Math.Min(file.Size, (gap.End + BlockSize - 1) / BlockSize * BlockSize);
            if (result.Count > 0 && result[^1].End >= start)
            {
                result[^1] = new ByteRange(result[^1].Start, Math.Max(result[^1].End, end));
            }
            else
            {
                result.Add(new ByteRange(start, end));
            }
        }

        return result;
    }

    /// <summary>Drops every cached block of <paramref name="path"/>, whatever its version (own writes, renames, deletes).</summary>
    public void Invalidate(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var victims = new Victims();
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            if (_files.Remove(path, out var state))
            {
                DropBlocksLocked(state, ref victims, deleteIndex: true);
            }
        }

        victims.Release();
    }

    /// <summary>Drops everything, in memory and on disk.</summary>
    public void InvalidateAll()
    {
        var victims = new Victims();
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            foreach (var state in _files.Values)
            {
                DropBlocksLocked(state, ref victims, deleteIndex: false, deleteFiles: false);
            }

            _files.Clear();
        }

        victims.Release();
        _disk?.DeleteAllEntries();
    }

    /// <summary>Returns the memory tier's buffers to the pool (the disk tier stays for the next mount).</summary>
    public void Dispose()
    {
        var victims = new Victims();
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (var block in _memoryLru)
            {
                victims.Add(block);
            }

            _memoryLru.Clear();
            _streamed.Clear();
            _streamedBytes = 0;
            _diskLru.Clear();
            _files.Clear();
            _memoryBytes = 0;
            _diskBytes = 0;
        }

        victims.Release();
    }

    private bool TryReadFromDisk(FileState state, long generation, DiskBlock onDisk, int offsetInBlock, Span<byte> destination, out int bytesCopied)
    {
        bytesCopied = 0;
        var buffer = ArrayPool<byte>.Shared.Rent(onDisk.Length);
        var result = DiskBlockStore.TryRead(onDisk.FilePath, buffer.AsSpan(0, onDisk.Length));
        if (result != DiskBlockStore.ReadResult.Ok)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (result != DiskBlockStore.ReadResult.Missing)
            {
                Statistics.DiskError();
            }

            lock (_lock)
            {
                if (!_disposed && state.Disk.TryGetValue(onDisk.Index, out var current) && ReferenceEquals(current, onDisk))
                {
                    RemoveDiskLocked(onDisk);
                }
            }

            return false;
        }

        bytesCopied = Math.Min(destination.Length, onDisk.Length - offsetInBlock);
        buffer.AsSpan(offsetInBlock, bytesCopied).CopyTo(destination);
        Statistics.Hit(bytesCopied, fromDisk: true);
        DiskBlockStore.TryTouch(onDisk.FilePath, _time.GetUtcNow());

        // Promote to memory so the next read of this block does not touch the disk.
        var victims = new Victims();
        var kept = false;
        if (onDisk.Length <= MemoryBudgetBytes)
        {
            lock (_lock)
            {
                if (!_disposed && state.Generation == generation && IsCurrent(state))
                {
                    kept = InsertMemoryLocked(state, onDisk.Index, buffer, onDisk.Length, ref victims);
                }
            }
        }

        if (!kept)
        {
            victims.AddBuffer(buffer);
        }

        victims.Release();
        return true;
    }

    private void WriteToDisk(FileState state, long generation, FileKey file, long blockIndex, ReadOnlySpan<byte> data, string epoch, bool writeIndex)
    {
        var disk = _disk!;
        var directory = disk.DirectoryFor(file.Path);
        var blockPath = DiskBlockStore.BlockPath(directory, blockIndex, epoch);
        if ((writeIndex && !disk.TryWriteIndex(directory, file, epoch)) || !disk.TryWriteBlock(directory, blockPath, data))
        {
            Statistics.DiskError();
            return;
        }

        var doomed = new List<string>();
        var evicted = 0;
        lock (_lock)
        {
            if (_disposed || state.Generation != generation || !IsCurrent(state) || state.Epoch != epoch || state.Disk.ContainsKey(blockIndex))
            {
                // Invalidated (or stored by a concurrent Put) while we were writing: our file must not linger.
                if (_disposed || !state.Disk.TryGetValue(blockIndex, out var existing) || existing.FilePath != blockPath)
                {
                    doomed.Add(blockPath);
                }
            }
            else
            {
                var block = new DiskBlock(state, blockIndex, data.Length, blockPath);
                block.Node = _diskLru.AddFirst(block);
                state.Disk[blockIndex] = block;
                state.Present.Add(ByteRange.FromLength(blockIndex * (long)BlockSize, data.Length));
                _diskBytes += data.Length;
                while (_diskBytes > DiskBudgetBytes && _diskLru.Last is { } last)
                {
                    doomed.Add(last.Value.FilePath);
                    RemoveDiskLocked(last.Value);
                    evicted++;
                }
            }
        }

        if (evicted > 0)
        {
            Statistics.DiskEvicted(evicted);
        }

        foreach (var path in doomed)
        {
            DiskBlockStore.TryDelete(path);
        }
    }

    private bool IsCurrent(FileState state) =>
        _files.TryGetValue(state.Key.Path, out var current) && ReferenceEquals(current, state);

    /// <summary>The state of <paramref name="file"/>'s path, emptied first when the cached version differs.</summary>
    private FileState GetStateLocked(FileKey file, ref Victims victims)
    {
        if (!_files.TryGetValue(file.Path, out var state))
        {
            state = new FileState(file);
            _files.Add(file.Path, state);
            return state;
        }

        if (state.Key != file)
        {
            // The remote file changed (size or mtime): nothing of the old version may be served.
            DropBlocksLocked(state, ref victims, deleteIndex: false);
            state.Key = file;
        }

        return state;
    }

    /// <summary>Inserts a block; false (buffer not taken) when it was already cached.</summary>
    private bool InsertMemoryLocked(FileState state, long blockIndex, byte[] buffer, int length, ref Victims victims)
    {
        if (state.Memory.TryGetValue(blockIndex, out var existing))
        {
            _memoryLru.Remove(existing.Node);
            _memoryLru.AddFirst(existing.Node);
            return false;
        }

        var block = new MemoryBlock(state, blockIndex, buffer, length);
        block.Node = _memoryLru.AddFirst(block);
        state.Memory.Add(blockIndex, block);
        state.Present.Add(ByteRange.FromLength(blockIndex * (long)BlockSize, length));
        _memoryBytes += buffer.Length;

        var evicted = 0;
        while (_memoryBytes > MemoryBudgetBytes && _memoryLru.Last is { } last)
        {
            RemoveMemoryLocked(last.Value, ref victims);
            evicted++;
        }

        if (evicted > 0)
        {
            Statistics.Evicted(evicted);
        }

        return true;
    }

    /// <summary>Counts a read-ahead block against <see cref="StreamedBudgetBytes"/>, evicting the oldest such blocks
    /// (never the new one) while over it.</summary>
    private void TrackStreamedLocked(MemoryBlock block, ref Victims victims)
    {
        block.StreamNode = _streamed.AddLast(block);
        _streamedBytes += block.Buffer.Length;
        var evicted = 0;
        while (_streamedBytes > StreamedBudgetBytes && _streamed.First is { } oldest && !ReferenceEquals(oldest.Value, block))
        {
            RemoveMemoryLocked(oldest.Value, ref victims);
            evicted++;
        }

        if (evicted > 0)
        {
            Statistics.Evicted(evicted);
        }
    }

    private void ForgetStreamedLocked(MemoryBlock block)
    {
        if (block.StreamNode is { } node)
        {
            _streamed.Remove(node);
            _streamedBytes -= block.Buffer.Length;
            block.StreamNode = null;
        }
    }

    private void RemoveMemoryLocked(MemoryBlock block, ref Victims victims)
    {
        ForgetStreamedLocked(block);
        _memoryLru.Remove(block.Node);
        block.File.Memory.Remove(block.Index);
        _memoryBytes -= block.Buffer.Length;
        if (!block.File.Disk.ContainsKey(block.Index))
        {
            block.File.Present.Remove(ByteRange.FromLength(block.Index * (long)BlockSize, block.Length));
        }

        victims.Add(block);
    }

    private void RemoveDiskLocked(DiskBlock block)
    {
        _diskLru.Remove(block.Node);
        block.File.Disk.Remove(block.Index);
        _diskBytes -= block.Length;
        if (!block.File.Memory.ContainsKey(block.Index))
        {
            block.File.Present.Remove(ByteRange.FromLength(block.Index * (long)BlockSize, block.Length));
        }
    }

    private void DropBlocksLocked(FileState state, ref Victims victims, bool deleteIndex, bool deleteFiles = true)
    {
        foreach (var block in state.Memory.Values)
        {
            ForgetStreamedLocked(block);
            _memoryLru.Remove(block.Node);
            _memoryBytes -= block.Buffer.Length;
            victims.Add(block);
        }

        foreach (var block in state.Disk.Values)
        {
            _diskLru.Remove(block.Node);
            _diskBytes -= block.Length;
            if (deleteFiles)
            {
                victims.AddFile(block.FilePath);
            }
        }

        if (deleteIndex && deleteFiles && _disk is not null && state.Epoch is not null)
        {
            victims.AddFile(Path.Combine(_disk.DirectoryFor(state.Key.Path), DiskBlockStore.IndexFileName));
        }

        state.Memory.Clear();
        state.Disk.Clear();
        state.Present.Clear();
        state.Epoch = null;
        state.Generation++;
    }

    private void LoadDiskTier()
    {
        var scanned = _disk!.Scan(Statistics.DiskError);
        var all = new List<(DiskBlock Block, DateTime LastAccess)>();
        foreach (var file in scanned)
        {
            var state = new FileState(file.Key) { Epoch = file.Epoch };
            _files[file.Key.Path] = state;
            foreach (var b in file.Blocks)
            {
                var block = new DiskBlock(state, b.Index, b.Length, b.FilePath);
                state.Disk[b.Index] = block;
                state.Present.Add(ByteRange.FromLength(b.Index * (long)BlockSize, b.Length));
                all.Add((block, b.LastAccessUtc));
            }
        }

        foreach (var (block, _) in all.OrderByDescending(x => x.LastAccess))
        {
            block.Node = _diskLru.AddLast(block);
            _diskBytes += block.Length;
        }

        var doomed = new List<string>();
        while (_diskBytes > DiskBudgetBytes && _diskLru.Last is { } last)
        {
            doomed.Add(last.Value.FilePath);
            RemoveDiskLocked(last.Value);
        }

        if (doomed.Count > 0)
        {
            Statistics.DiskEvicted(doomed.Count);
        }

        foreach (var path in doomed)
        {
            DiskBlockStore.TryDelete(path);
        }
    }

    /// <summary>What a locked section let go of: buffers to return and files to delete once the lock is released.</summary>
    private struct Victims
    {
        private List<MemoryBlock>? _blocks;
        private List<byte[]>? _buffers;
        private List<string>? _files;

        public void Add(MemoryBlock block) => (_blocks ??= new()).Add(block);
        public void AddBuffer(byte[] buffer) => (_buffers ??= new()).Add(buffer);
        public void AddFile(string path) => (_files ??= new()).Add(path);

        public readonly void Release()
        {
            if (_blocks is not null)
            {
                foreach (var block in _blocks)
                {
                    block.MarkEvicted();
                }
            }

            if (_buffers is not null)
            {
                foreach (var buffer in _buffers)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }

            if (_files is not null)
            {
                foreach (var file in _files)
                {
                    DiskBlockStore.TryDelete(file);
                }
            }
        }
    }

    private sealed class FileState(FileKey key)
    {
        public FileKey Key = key;

        /// <summary>Bytes available in either tier (whole blocks).</summary>
        public readonly RangeSet Present = new();
        public readonly Dictionary<long, MemoryBlock> Memory = new();
        public readonly Dictionary<long, DiskBlock> Disk = new();

        /// <summary>Id of the blocks written for <see cref="Key"/> on disk; null until the first block is written.</summary>
        public string? Epoch;

        /// <summary>Bumped whenever the blocks are dropped, so work started before a drop can tell it is stale.</summary>
        public long Generation;
    }

    private sealed class DiskBlock(FileState file, long index, int length, string filePath)
    {
        public readonly FileState File = file;
        public readonly long Index = index;
        public readonly int Length = length;
        public readonly string FilePath = filePath;
        public LinkedListNode<DiskBlock> Node = null!;
    }

    /// <summary>
    /// A block in memory. Readers pin it (under the cache lock, while it is still indexed) and unpin after copying;
    /// eviction marks it. Whichever of "last unpin" and "evicted" comes second returns the buffer to the pool, once.
    /// </summary>
    private sealed class MemoryBlock(FileState file, long index, byte[] buffer, int length)
    {
        public readonly FileState File = file;
        public readonly long Index = index;
        public readonly byte[] Buffer = buffer;
        public readonly int Length = length;
        public LinkedListNode<MemoryBlock> Node = null!;
        public LinkedListNode<MemoryBlock>? StreamNode;
        private int _pins;
        private int _evicted;
        private int _returned;

        public void Pin() => Interlocked.Increment(ref _pins);

        public void Unpin()
        {
            if (Interlocked.Decrement(ref _pins) == 0 && Volatile.Read(ref _evicted) == 1)
            {
                ReturnBuffer();
            }
        }

        public void MarkEvicted()
        {
            Interlocked.Exchange(ref _evicted, 1);
            if (Volatile.Read(ref _pins) == 0)
            {
                ReturnBuffer();
            }
        }

        private void ReturnBuffer()
        {
            if (Interlocked.Exchange(ref _returned, 1) == 0)
            {
                ArrayPool<byte>.Shared.Return(Buffer);
            }
        }
    }
}
