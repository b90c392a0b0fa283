using FtpsMount.Core.Caching;

namespace FtpsMount.Core.Tests.Caching;

public class ReadPatternTests
{
    private const long K = 1024;

    /// <summary>
    /// Each step is "offset+length=&gt;R" (random, no prefetch) or "offset+length=&gt;S:prefetch", all in KiB.
    /// Defaults: 128 KiB initial window, 8 MiB max, reorder window 2, sequential after 2 in-order requests.
    /// </summary>
    [Theory]
    // A plain sequential reader: the second contiguous request switches, the window doubles up to 8 MiB.
    [InlineData("0+128=>R 128+128=>S:128 256+128=>S:256 384+128=>S:512 512+128=>S:1024 640+128=>S:2048 768+128=>S:4096 896+128=>S:8192 1024+128=>S:8192")]
    // Random 4 KiB reads far apart never prefetch.
    [InlineData("0+4=>R 4096+4=>R 100+4=>R 90000+4=>R 40+4=>R")]
    // The kernel's parallel read-ahead delivers [256,384) before [128,256): still sequential, no reset.
    [InlineData("0+128=>R 128+128=>S:128 384+128=>S:256 256+128=>S:256 512+128=>S:512")]
    // A skip of two requests' worth is tolerated; three is a seek.
    [InlineData("0+128=>R 128+128=>S:128 512+128=>S:256 640+128=>S:512")]
    [InlineData("0+128=>R 128+128=>S:128 640+128=>R 768+128=>S:128")]
    // A seek drops streaming at once; a new run at the new place becomes sequential again, from the initial window.
    [InlineData("0+128=>R 128+128=>S:128 256+128=>S:256 50000+128=>R 50128+128=>S:128 50256+128=>S:256")]
    // Going back far (re-reading the start) is a seek.
    [InlineData("0+128=>R 128+128=>S:128 256+128=>S:256 384+128=>S:512 0+128=>R")]
    // Re-reading the last request (within the reorder window) does not grow the window.
    [InlineData("0+128=>R 128+128=>S:128 128+128=>S:128 256+128=>S:256")]
    // Small requests: tolerance scales with the request size (2 x 4 KiB).
    [InlineData("0+4=>R 4+4=>S:128 16+4=>S:256 40+4=>R")]
    // Zero-length requests change nothing.
    [InlineData("0+128=>R 128+0=>R 128+128=>S:128")]
    public void Detects_sequential_runs(string steps)
    {
        var pattern = new ReadPattern();
        foreach (var step in steps.Split(' '))
        {
            var parts = step.Split("=>");
            var request = parts[0].Split('+');
            var advice = pattern.Observe(long.Parse(request[0], System.Globalization.CultureInfo.InvariantCulture) * K,
                long.Parse(request[1], System.Globalization.CultureInfo.InvariantCulture) * K);
            var expected = parts[1] == "R"
                ? new ReadAdvice(ReadMode.Random, 0)
                : new ReadAdvice(ReadMode.Sequential, long.Parse(parts[1][2..], System.Globalization.CultureInfo.InvariantCulture) * K);
            Assert.True(expected == advice, $"step {step}: expected {expected}, got {advice}");
        }
    }

    [Fact]
    public void Custom_windows_and_thresholds()
    {
        var pattern = new ReadPattern(initialWindow: 64 * K, maxWindow: 128 * K, reorderWindow: 0, sequentialAfter: 3);
        Assert.Equal(ReadMode.Random, pattern.Observe(0, 4 * K).Mode);
        Assert.Equal(ReadMode.Random, pattern.Observe(4 * K, 4 * K).Mode);
        Assert.Equal(new ReadAdvice(ReadMode.Sequential, 64 * K), pattern.Observe(8 * K, 4 * K));
        Assert.Equal(new ReadAdvice(ReadMode.Sequential, 128 * K), pattern.Observe(12 * K, 4 * K));
        Assert.Equal(new ReadAdvice(ReadMode.Sequential, 128 * K), pattern.Observe(16 * K, 4 * K));
        // Reorder window 0: any out-of-place request is a seek.
        Assert.Equal(new ReadAdvice(ReadMode.Random, 0), pattern.Observe(24 * K, 4 * K));
    }

    [Fact]
    public void Sequential_from_the_first_request_when_asked()
    {
        var pattern = new ReadPattern(sequentialAfter: 1);
        Assert.Equal(new ReadAdvice(ReadMode.Sequential, 128 * K), pattern.Observe(0, 128 * K));
    }

    [Fact]
    public void Reset_forgets_the_history()
    {
        var pattern = new ReadPattern();
        pattern.Observe(0, 128 * K);
        pattern.Observe(128 * K, 128 * K);
        Assert.Equal(ReadMode.Sequential, pattern.Mode);
        pattern.Reset();
        Assert.Equal(ReadMode.Random, pattern.Mode);
        Assert.Equal(-1, pattern.Frontier);
        Assert.Equal(new ReadAdvice(ReadMode.Random, 0), pattern.Observe(256 * K, 128 * K));
    }

    [Fact]
    public void Arguments_are_checked()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReadPattern(initialWindow: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReadPattern(initialWindow: 2 * K, maxWindow: K));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReadPattern(sequentialAfter: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReadPattern().Observe(-1, 10));
    }
}
