namespace FtpsMount.Core.Caching;

public enum ReadMode
{
    /// <summary>Fetch only the blocks a request needs.</summary>
    Random,

    /// <summary>Stream ahead of the reader on one long transfer.</summary>
    Sequential,
}

/// <summary>What to do for one read request: the mode, and how many bytes beyond the request's end to fetch ahead.</summary>
public readonly record struct ReadAdvice(ReadMode Mode, long PrefetchBytes);

/// <summary>
/// Sequential-read detection for one open file. Pure logic, no I/O and no clock: feed it each request's
/// (offset, length) and it answers with a <see cref="ReadAdvice"/>.
/// <para>
/// A request is "in order" when it starts where the run so far ends (the frontier), or close to it: the kernel
/// issues read-ahead requests in parallel and they can arrive slightly out of order (e.g. [256K,384K) before
/// [128K,256K)), so a start within <c>reorderWindow</c> request lengths before or after the frontier still counts.
/// After <c>sequentialAfter</c> in-order requests the file switches to <see cref="ReadMode.Sequential"/> with an
/// initial read-ahead window that doubles on every request that advances the frontier, up to the maximum. Any
/// other request is a seek: back to <see cref="ReadMode.Random"/> (no read-ahead) and a new run starts there.
/// </para>
/// Not thread-safe: one instance per open file handle, driven under that handle's lock.
/// </summary>
public sealed class ReadPattern
{
    public const long DefaultInitialWindow = 128 * 1024;
    public const long DefaultMaxWindow = 8 * 1024 * 1024;

    private readonly long _initialWindow;
    private readonly long _maxWindow;
    private readonly int _reorderWindow;
    private readonly int _sequentialAfter;
    private long _frontier = -1;
    private long _lastLength;
    private int _run;

    /// <param name="initialWindow">Read-ahead when sequential mode starts (default 128 KiB).</param>
    /// <param name="maxWindow">Largest read-ahead (default 8 MiB).</param>
    /// <param name="reorderWindow">How many request lengths a start may be off the frontier and still be in order.</param>
    /// <param name="sequentialAfter">In-order requests (counting the first of the run) before switching to sequential.</param>
    public ReadPattern(long initialWindow = DefaultInitialWindow, long maxWindow = DefaultMaxWindow, int reorderWindow = 2, int sequentialAfter = 2)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(initialWindow, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxWindow, initialWindow);
        ArgumentOutOfRangeException.ThrowIfNegative(reorderWindow);
        ArgumentOutOfRangeException.ThrowIfLessThan(sequentialAfter, 1);
        _initialWindow = initialWindow;
        _maxWindow = maxWindow;
        _reorderWindow = reorderWindow;
        _sequentialAfter = sequentialAfter;
    }

    public ReadMode Mode { get; private set; } = ReadMode.Random;

    /// <summary>Current read-ahead window (0 in random mode).</summary>
    public long Window { get; private set; }

    /// <summary>End of the furthest request of the current run (-1 before the first request).</summary>
    public long Frontier => _frontier;

    public ReadAdvice Observe(long offset, long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (length == 0)
        {
            return Current;
        }

        var end = offset + length;
        if (_frontier < 0)
        {
            StartRun(end, length);
            return Current;
        }

        var tolerance = _reorderWindow * Math.Max(length, _lastLength);
        var inOrder = offset == _frontier || Math.Abs(offset - _frontier) <= tolerance;
        _lastLength = length;
        if (!inOrder)
        {
            // A seek: whatever was streaming is no longer wanted.
            Mode = ReadMode.Random;
            Window = 0;
            StartRun(end, length);
            return Current;
        }

        _run++;
        var advances = end > _frontier;
        _frontier = Math.Max(_frontier, end);
        if (Mode == ReadMode.Sequential)
        {
            if (advances)
            {
                Window = Math.Min(_maxWindow, Window * 2);
            }
        }
        else if (_run >= _sequentialAfter)
        {
            Mode = ReadMode.Sequential;
            Window = _initialWindow;
        }

        return Current;
    }

    /// <summary>Forgets the history (e.g. after the file was truncated or invalidated).</summary>
    public void Reset()
    {
        _frontier = -1;
        _lastLength = 0;
        _run = 0;
        Mode = ReadMode.Random;
        Window = 0;
    }

    private ReadAdvice Current => new(Mode, Mode == ReadMode.Sequential ? Window : 0);

    private void StartRun(long end, long length)
    {
        _frontier = end;
        _lastLength = length;
        _run = 1;
        if (_run >= _sequentialAfter)
        {
            Mode = ReadMode.Sequential;
            Window = _initialWindow;
        }
    }
}
