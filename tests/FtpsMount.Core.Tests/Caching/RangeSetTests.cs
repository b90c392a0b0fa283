using FtpsMount.Core.Caching;

namespace FtpsMount.Core.Tests.Caching;

public class RangeSetTests
{
    /// <summary>Parses "[0,10) [20,30)" into ranges; "" is the empty set.</summary>
    private static RangeSet Set(string ranges)
    {
        var set = new RangeSet();
        foreach (var r in Parse(ranges))
        {
            set.Add(r);
        }

        return set;
    }

    private static List<ByteRange> Parse(string ranges) =>
        ranges.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(r => r.Trim('[', ')').Split(','))
            .Select(p => new ByteRange(long.Parse(p[0], System.Globalization.CultureInfo.InvariantCulture), long.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture)))
            .ToList();

    private static string Show(IEnumerable<ByteRange> ranges) => string.Join(" ", ranges.Select(r => $"[{r.Start},{r.End})"));

    [Theory]
    [InlineData("", "[0,10)", "[0,10)")]
    [InlineData("[0,10)", "[20,30)", "[0,10) [20,30)")]
    [InlineData("[20,30)", "[0,10)", "[0,10) [20,30)")]
    [InlineData("[0,10)", "[10,20)", "[0,20)")]                       // adjacent on the right merges
    [InlineData("[10,20)", "[0,10)", "[0,20)")]                       // adjacent on the left merges
    [InlineData("[0,10)", "[5,15)", "[0,15)")]                        // overlap
    [InlineData("[0,10)", "[2,8)", "[0,10)")]                         // contained
    [InlineData("[2,8)", "[0,10)", "[0,10)")]                         // containing
    [InlineData("[0,10) [20,30) [40,50)", "[10,40)", "[0,50)")]       // bridges three, touching both ends
    [InlineData("[0,10) [20,30) [40,50)", "[15,25)", "[0,10) [15,30) [40,50)")]
    [InlineData("[0,10) [20,30) [40,50)", "[11,19)", "[0,10) [11,19) [20,30) [40,50)")]
    [InlineData("[0,10) [20,30)", "[5,5)", "[0,10) [20,30)")]         // empty range is a no-op
    [InlineData("[0,10) [20,30) [40,50)", "[0,100)", "[0,100)")]
    public void Add_merges_adjacent_and_overlapping(string initial, string add, string expected)
    {
        var set = Set(initial);
        set.Add(Parse(add)[0]);
        Assert.Equal(expected, Show(set));
        Assert.Equal(Parse(expected).Sum(r => r.Length), set.TotalLength);
    }

    [Theory]
    [InlineData("[0,10)", "[0,10)", "")]
    [InlineData("[0,10)", "[2,8)", "[0,2) [8,10)")]                   // split
    [InlineData("[0,10)", "[0,5)", "[5,10)")]
    [InlineData("[0,10)", "[5,10)", "[0,5)")]
    [InlineData("[0,10)", "[10,20)", "[0,10)")]                       // adjacent: untouched
    [InlineData("[10,20)", "[0,10)", "[10,20)")]
    [InlineData("[0,10) [20,30) [40,50)", "[5,45)", "[0,5) [45,50)")]
    [InlineData("[0,10) [20,30) [40,50)", "[10,40)", "[0,10) [40,50)")]
    [InlineData("[0,10) [20,30) [40,50)", "[12,18)", "[0,10) [20,30) [40,50)")] // in a gap
    [InlineData("[0,10) [20,30)", "[25,25)", "[0,10) [20,30)")]
    [InlineData("", "[0,10)", "")]
    public void Remove_cuts_and_splits(string initial, string remove, string expected)
    {
        var set = Set(initial);
        set.Remove(Parse(remove)[0]);
        Assert.Equal(expected, Show(set));
        Assert.Equal(Parse(expected).Sum(r => r.Length), set.TotalLength);
    }

    [Theory]
    [InlineData("[0,10)", "[0,10)", true)]
    [InlineData("[0,10)", "[3,7)", true)]
    [InlineData("[0,10)", "[5,11)", false)]
    [InlineData("[0,10) [10,20)", "[5,15)", true)]                    // merged on add
    [InlineData("[0,10) [11,20)", "[5,15)", false)]                   // one-byte hole
    [InlineData("[0,10)", "[10,10)", true)]                           // empty is always contained
    [InlineData("", "[0,1)", false)]
    [InlineData("[20,30)", "[10,25)", false)]
    public void Contains_requires_every_byte(string initial, string query, bool expected) =>
        Assert.Equal(expected, Set(initial).Contains(Parse(query)[0]));

    [Theory]
    [InlineData("", "[0,100)", "[0,100)")]
    [InlineData("[0,100)", "[10,20)", "")]
    [InlineData("[10,20) [30,40)", "[0,50)", "[0,10) [20,30) [40,50)")]
    [InlineData("[10,20) [30,40)", "[15,35)", "[20,30)")]
    [InlineData("[10,20) [30,40)", "[20,30)", "[20,30)")]
    [InlineData("[10,20) [30,40)", "[0,5)", "[0,5)")]
    [InlineData("[10,20) [30,40)", "[45,50)", "[45,50)")]
    [InlineData("[10,20)", "[12,12)", "")]
    public void Missing_lists_the_gaps_in_order(string initial, string query, string expected) =>
        Assert.Equal(expected, Show(Set(initial).Missing(Parse(query)[0])));

    [Fact]
    public void Contains_offset_and_contiguous_length()
    {
        var set = Set("[10,20) [30,40)");
        Assert.False(set.Contains(9));
        Assert.True(set.Contains(10));
        Assert.True(set.Contains(19));
        Assert.False(set.Contains(20));
        Assert.Equal(5, set.ContiguousFrom(15));
        Assert.Equal(0, set.ContiguousFrom(25));
    }

    [Fact]
    public void Clear_empties()
    {
        var set = Set("[0,10) [20,30)");
        set.Clear();
        Assert.Empty(set);
        Assert.Equal(0, set.TotalLength);
        Assert.True(set.IsEmpty);
    }

    [Fact]
    public void Invalid_ranges_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ByteRange(10, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ByteRange(-1, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RangeSet().Add(5, 4));
    }

    [Fact]
    public void Thousands_of_ranges_stay_sorted_and_fast()
    {
        var set = new RangeSet();
        // Every other 4 KiB block of a 400 MB file, added back to front (worst case for insertion position).
        for (long i = 50_000; i >= 0; i -= 2)
        {
            set.Add(ByteRange.FromLength(i * 4096, 4096));
        }

        Assert.Equal(25_001, set.Count);
        Assert.True(set.Contains(ByteRange.FromLength(25_000 * 4096, 4096)));
        Assert.False(set.Contains(ByteRange.FromLength(25_001 * 4096, 4096)));
        Assert.Equal(2, set.Missing(new ByteRange(0, 5 * 4096)).Count);

        // Filling the holes merges everything into one range.
        for (long i = 1; i < 50_000; i += 2)
        {
            set.Add(ByteRange.FromLength(i * 4096, 4096));
        }

        Assert.Single(set);
        Assert.Equal(50_001L * 4096, set.TotalLength);
    }

    /// <summary>Random operations checked against a bool-per-byte model after every step.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(42)]
    [InlineData(20250101)]
    public void Matches_a_bool_array_model(int seed)
    {
        const int size = 600;
        var random = new Random(seed);
        var model = new bool[size];
        var set = new RangeSet();
        for (var step = 0; step < 4000; step++)
        {
            var start = random.Next(size);
            var end = Math.Min(size, start + (random.Next(4) == 0 ? random.Next(200) : random.Next(12)));
            var range = new ByteRange(start, end);
            switch (random.Next(10))
            {
                case < 5:
                    set.Add(range);
                    Array.Fill(model, true, start, end - start);
                    break;
                case < 8:
                    set.Remove(range);
                    Array.Fill(model, false, start, end - start);
                    break;
                case 8:
                    Assert.Equal(ModelContains(model, start, end), set.Contains(range));
                    break;
                default:
                    Assert.Equal(ModelGaps(model, start, end), Show(set.Missing(range)));
                    break;
            }

            if (random.Next(500) == 0)
            {
                set.Clear();
                Array.Fill(model, false);
            }

            Assert.Equal(ModelGaps(Invert(model), 0, size), Show(set));
            Assert.Equal(model.Count(b => b), set.TotalLength);
        }
    }

    private static bool ModelContains(bool[] model, int start, int end)
    {
        for (var i = start; i < end; i++)
        {
            if (!model[i])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The runs of false in model[start..end) as "[a,b)" ranges.</summary>
    private static string ModelGaps(bool[] model, int start, int end)
    {
        var gaps = new List<ByteRange>();
        var i = start;
        while (i < end)
        {
            if (model[i])
            {
                i++;
                continue;
            }

            var j = i;
            while (j < end && !model[j])
            {
                j++;
            }

            gaps.Add(new ByteRange(i, j));
            i = j;
        }

        return Show(gaps);
    }

    private static bool[] Invert(bool[] model) => model.Select(b => !b).ToArray();
}
