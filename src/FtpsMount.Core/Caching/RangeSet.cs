using System.Collections;

namespace FtpsMount.Core.Caching;

/// <summary>
/// A set of bytes kept as sorted, disjoint, non-adjacent half-open ranges (adjacent or overlapping additions are
/// merged, so [0,10) + [10,20) is stored as [0,20)). Lookups are a binary search; an update moves at most the tail
/// of one array, which stays cheap for the thousands of ranges a large sparse file produces.
/// Not thread-safe: the owner serialises access.
/// </summary>
public sealed class RangeSet : IReadOnlyCollection<ByteRange>
{
    private readonly List<ByteRange> _ranges = new();

    /// <summary>Number of disjoint ranges.</summary>
    public int Count => _ranges.Count;

    /// <summary>Total bytes covered.</summary>
    public long TotalLength { get; private set; }

    public bool IsEmpty => _ranges.Count == 0;

    public ByteRange this[int index] => _ranges[index];

    public void Add(long start, long end) => Add(new ByteRange(start, end));

    public void Add(ByteRange range)
    {
        if (range.IsEmpty)
        {
            return;
        }

        // First range that touches or follows the new one (End >= Start also merges the adjacent one on the left).
        var first = FirstEndingAtOrAfter(range.Start);
        var start = range.Start;
        var end = range.End;
        var last = first;
        while (last < _ranges.Count && _ranges[last].Start <= end)
        {
            start = Math.Min(start, _ranges[last].Start);
            end = Math.Max(end, _ranges[last].End);
            TotalLength -= _ranges[last].Length;
            last++;
        }

        var merged = new ByteRange(start, end);
        TotalLength += merged.Length;
        ReplaceRange(first, last - first, merged, default, 1);
    }

    public void Remove(long start, long end) => Remove(new ByteRange(start, end));

    public void Remove(ByteRange range)
    {
        if (range.IsEmpty)
        {
            return;
        }

        // First range that reaches into the removed one (a range ending exactly at Start is untouched).
        var first = FirstEndingAfter(range.Start);
        var last = first;
        while (last < _ranges.Count && _ranges[last].Start < range.End)
        {
            last++;
        }

        if (last == first)
        {
            return;
        }

        var left = _ranges[first].Start < range.Start ? new ByteRange(_ranges[first].Start, range.Start) : default;
        var right = _ranges[last - 1].End > range.End ? new ByteRange(range.End, _ranges[last - 1].End) : default;
        for (var i = first; i < last; i++)
        {
            TotalLength -= _ranges[i].Length;
        }

        TotalLength += left.Length + right.Length;
        var keep = (left.IsEmpty ? 0 : 1) + (right.IsEmpty ? 0 : 1);
        if (left.IsEmpty)
        {
            left = right;
            right = default;
        }

        ReplaceRange(first, last - first, left, right, keep);
    }

    /// <summary>True when every byte of <paramref name="range"/> is present (an empty range is always contained).</summary>
    public bool Contains(ByteRange range)
    {
        if (range.IsEmpty)
        {
            return true;
        }

        var i = FirstEndingAfter(range.Start);
        return i < _ranges.Count && _ranges[i].Start <= range.Start && _ranges[i].End >= range.End;
    }

    public bool Contains(long start, long end) => Contains(new ByteRange(start, end));

    public bool Contains(long offset)
    {
        var i = FirstEndingAfter(offset);
        return i < _ranges.Count && _ranges[i].Start <= offset;
    }

    /// <summary>The gaps of <paramref name="range"/>: the parts not in the set, in ascending order.</summary>
    public List<ByteRange> Missing(ByteRange range)
    {
        var gaps = new List<ByteRange>();
        if (range.IsEmpty)
        {
            return gaps;
        }

        var cursor = range.Start;
        for (var i = FirstEndingAfter(range.Start); i < _ranges.Count && _ranges[i].Start < range.End; i++)
        {
            if (_ranges[i].Start > cursor)
            {
                gaps.Add(new ByteRange(cursor, _ranges[i].Start));
            }

            cursor = Math.Max(cursor, _ranges[i].End);
        }

        if (cursor < range.End)
        {
            gaps.Add(new ByteRange(cursor, range.End));
        }

        return gaps;
    }

    public List<ByteRange> Missing(long start, long end) => Missing(new ByteRange(start, end));

    /// <summary>How many bytes from <paramref name="offset"/> on are present without a gap (0 when the byte at offset is missing).</summary>
    public long ContiguousFrom(long offset)
    {
        var i = FirstEndingAfter(offset);
        return i < _ranges.Count && _ranges[i].Start <= offset ? _ranges[i].End - offset : 0;
    }

    public void Clear()
    {
        _ranges.Clear();
        TotalLength = 0;
    }

    public IEnumerator<ByteRange> GetEnumerator() => _ranges.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => _ranges.Count == 0 ? "{}" : "{" + string.Join(", ", _ranges) + "}";

    /// <summary>Index of the first range whose End is greater than or equal to <paramref name="value"/>.</summary>
    private int FirstEndingAtOrAfter(long value)
    {
        int lo = 0, hi = _ranges.Count;
        while (lo < hi)
        {
            var mid = lo + ((hi - lo) >> 1);
            if (_ranges[mid].End < value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    /// <summary>Index of the first range whose End is strictly greater than <paramref name="value"/>.</summary>
    private int FirstEndingAfter(long value)
    {
        int lo = 0, hi = _ranges.Count;
        while (lo < hi)
        {
            var mid = lo + ((hi - lo) >> 1);
            if (_ranges[mid].End <= value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    /// <summary>Replaces <paramref name="removeCount"/> ranges at <paramref name="index"/> with up to two new ones,
    /// overwriting in place where possible so the common cases (extend, split) move no elements.</summary>
    private void ReplaceRange(int index, int removeCount, ByteRange a, ByteRange b, int insertCount)
    {
        var overlap = Math.Min(removeCount, insertCount);
        if (overlap >= 1)
        {
            _ranges[index] = a;
        }

        if (overlap >= 2)
        {
            _ranges[index + 1] = b;
        }

        if (removeCount > insertCount)
        {
            _ranges.RemoveRange(index + insertCount, removeCount - insertCount);
        }
        else if (insertCount > removeCount)
        {
            if (removeCount == 0)
            {
                _ranges.Insert(index, a);
                if (insertCount == 2)
                {
                    _ranges.Insert(index + 1, b);
                }
            }
            else
            {
                // removeCount == 1, insertCount == 2: a already written at index.
                _ranges.Insert(index + 1, b);
            }
        }
    }
}
