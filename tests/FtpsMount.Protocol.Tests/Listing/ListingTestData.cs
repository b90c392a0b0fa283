using System.Globalization;
using FtpsMount.Protocol.Listing;

namespace FtpsMount.Protocol.Tests.Listing;

internal static class ListingTestData
{
    /// <summary>The fixed "now" most tests use: 2 Jan 2026, noon UTC.</summary>
    public static readonly DateTimeOffset Now = new(2026, 1, 2, 12, 0, 0, TimeSpan.Zero);

    public static DateTimeOffset? Date(string? iso) =>
        iso is null ? null : DateTimeOffset.Parse(iso, CultureInfo.InvariantCulture, DateTimeStyles.None);

    public static DateTimeOffset At(string iso) =>
        DateTimeOffset.Parse(iso, CultureInfo.InvariantCulture, DateTimeStyles.None);

    public static TimeZoneInfo FixedZone(double hours) =>
        TimeZoneInfo.CreateCustomTimeZone($"UTC{hours:+0.##;-0.##}", TimeSpan.FromHours(hours), null, null);

    /// <summary>A Central-European-like zone (UTC+1, +2 from the last Sunday of March to the last of October),
    /// built in code so tests do not depend on the machine's tz database.</summary>
    public static TimeZoneInfo CetLikeZone()
    {
        var rule = TimeZoneInfo.AdjustmentRule.CreateAdjustmentRule(
            DateTime.MinValue.Date,
            DateTime.MaxValue.Date,
            TimeSpan.FromHours(1),
            TimeZoneInfo.TransitionTime.CreateFloatingDateRule(new DateTime(1, 1, 1, 2, 0, 0), 3, 5, DayOfWeek.Sunday),
            TimeZoneInfo.TransitionTime.CreateFloatingDateRule(new DateTime(1, 1, 1, 3, 0, 0), 10, 5, DayOfWeek.Sunday));
        return TimeZoneInfo.CreateCustomTimeZone("Test/CET", TimeSpan.FromHours(1), "Test CET", "Test CET", "Test CEST", [rule]);
    }

    /// <summary>Asserts an instant and, when given, the offset it was reported in.</summary>
    public static void AssertDate(string? expected, DateTimeOffset? actual)
    {
        if (expected is null)
        {
            Assert.Null(actual);
            return;
        }

        Assert.NotNull(actual);
        var e = At(expected);
        Assert.Equal(e, actual.Value);
        Assert.Equal(e.Offset, actual.Value.Offset);
    }

    /// <summary>The FtpEntry.Name contract every parser must keep.</summary>
    public static void AssertSafe(FtpEntry e, bool dos = false)
    {
        Assert.False(string.IsNullOrEmpty(e.Name));
        Assert.NotEqual(".", e.Name);
        Assert.NotEqual("..", e.Name);
        Assert.DoesNotContain('/', e.Name);
        Assert.DoesNotContain('\0', e.Name);
        Assert.DoesNotContain('\r', e.Name);
        Assert.DoesNotContain('\n', e.Name);
        if (dos)
        {
            Assert.DoesNotContain('\\', e.Name);
        }

        Assert.True(e.Size is null or >= 0);
    }
}
