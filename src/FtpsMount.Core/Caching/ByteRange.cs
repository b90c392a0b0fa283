using System.Globalization;

namespace FtpsMount.Core.Caching;

/// <summary>A half-open byte range [<see cref="Start"/>, <see cref="End"/>) of a file.</summary>
public readonly record struct ByteRange
{
    public ByteRange(long start, long end)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfLessThan(end, start);
        Start = start;
        End = end;
    }

    public long Start { get; }

    /// <summary>Exclusive end.</summary>
    public long End { get; }

    public long Length => End - Start;
    public bool IsEmpty => End == Start;

    public static ByteRange FromLength(long start, long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        return new ByteRange(start, checked(start + length));
    }

    public bool Contains(long offset) => offset >= Start && offset < End;

    public bool Overlaps(ByteRange other) => Start < other.End && other.Start < End;

    /// <summary>The common part of two ranges, or an empty range at the larger start when they do not meet.</summary>
    public ByteRange Intersect(ByteRange other)
    {
        var start = Math.Max(Start, other.Start);
        var end = Math.Min(End, other.End);
        return end > start ? new ByteRange(start, end) : new ByteRange(start, start);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"[{Start}, {End})");
}
