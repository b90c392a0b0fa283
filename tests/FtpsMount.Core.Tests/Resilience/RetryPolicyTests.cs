using FtpsMount.Core.Resilience;
using FtpsMount.Protocol;

namespace FtpsMount.Core.Tests.Resilience;

public class RetryPolicyTests
{
    private static readonly RetryOptions Options = new()
    {
        MaxAttempts = 4,
        BaseDelay = TimeSpan.FromMilliseconds(100),
        MaxDelay = TimeSpan.FromMilliseconds(300),
        Deadline = TimeSpan.FromSeconds(10),
    };

    private static FtpReplyException Reply(int code, string text, string command = "RETR /f") =>
        new(command, new FtpReply(code, [text]));

    [Theory]
    [InlineData(1, 0.0, 50)]     // d = 100 ms, jitter 0 -> d/2
    [InlineData(1, 1.0, 100)]    // jitter 1 -> d
    [InlineData(2, 0.5, 150)]    // d = 200 ms -> 100 + 50
    [InlineData(3, 1.0, 300)]    // d = 400 capped at 300
    [InlineData(30, 1.0, 300)]   // no overflow for large attempt numbers
    [InlineData(3, 0.0, 150)]
    public void Delay_is_exponential_capped_and_jittered(int failedAttempt, double jitter, int expectedMs)
    {
        var policy = new RetryPolicy(Options, new FakeTimeProvider(), () => jitter);
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), policy.GetDelay(failedAttempt));
    }

    [Fact]
    public void Seeded_jitter_is_reproducible_and_within_bounds()
    {
        var a = new RetryPolicy(Options, new FakeTimeProvider(), new Random(7).NextDouble);
        var b = new RetryPolicy(Options, new FakeTimeProvider(), new Random(7).NextDouble);
        for (var attempt = 1; attempt <= 6; attempt++)
        {
            var d = a.GetDelay(attempt);
            Assert.Equal(d, b.GetDelay(attempt));
            var full = Math.Min(100 * Math.Pow(2, attempt - 1), 300);
            Assert.InRange(d.TotalMilliseconds, full / 2, full);
        }
    }

    [Fact]
    public async Task Retries_a_transient_failure_after_the_delay_on_the_fake_clock()
    {
        var time = new FakeTimeProvider();
        var events = new List<RetryEvent>();
        var policy = new RetryPolicy(Options, time, () => 1.0) { Retrying = events.Add };
        var attempts = new List<int>();

        var task = policy.ExecuteAsync((attempt, _) =>
        {
            attempts.Add(attempt);
            return attempt < 3 ? Task.FromException<string>(new FtpConnectionException("reset")) : Task.FromResult("ok");
        }, idempotent: true, CancellationToken.None);

        Assert.False(task.IsCompleted);
        Assert.Equal([1], attempts);
        Assert.Equal(1, time.PendingTimers);

        time.Advance(TimeSpan.FromMilliseconds(99));
        Assert.Equal([1], attempts);
        time.Advance(TimeSpan.FromMilliseconds(1));
        await time.WaitForPendingTimersAsync(1); // attempt 2 failed and waits 200 ms
        Assert.Equal([1, 2], attempts);

        time.Advance(TimeSpan.FromMilliseconds(200));
        Assert.Equal("ok", await task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal([1, 2, 3], attempts);
        Assert.Equal([TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(200)], events.Select(e => e.Delay));
        Assert.Equal([1, 2], events.Select(e => e.FailedAttempt));
    }

    [Fact]
    public async Task Gives_up_after_max_attempts_and_rethrows_the_last_failure()
    {
        var time = new FakeTimeProvider();
        var policy = new RetryPolicy(Options with { MaxAttempts = 3 }, time, () => 0.0);
        var count = 0;
        var task = policy.ExecuteAsync<int>((_, _) =>
        {
            count++;
            throw Reply(421, $"Timeout {count}.");
        }, idempotent: true);

        for (var i = 0; i < 2; i++)
        {
            await time.WaitForPendingTimersAsync(1);
            time.Advance(TimeSpan.FromSeconds(1));
        }

        var ex = await Assert.ThrowsAsync<FtpReplyException>(() => task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal("Timeout 3.", ex.Reply.Message);
        Assert.Equal(3, count);
        Assert.Equal(3, ex.Data[RetryPolicy.AttemptsDataKey]);
    }

    [Fact]
    public async Task Stops_when_the_next_attempt_would_start_after_the_deadline()
    {
        var time = new FakeTimeProvider();
        var policy = new RetryPolicy(Options with { MaxAttempts = 10, Deadline = TimeSpan.FromMilliseconds(250) }, time, () => 1.0);
        var count = 0;
        var task = policy.ExecuteAsync<int>((_, _) =>
        {
            count++;
            time.Advance(TimeSpan.FromMilliseconds(20)); // each attempt takes 20 ms
            throw new FtpTimeoutException("slow");
        }, idempotent: true);

        // attempt 1 ends at 20 ms, waits 100 -> attempt 2 at 120..140, next delay 200 -> 340 > 250: give up.
        await time.WaitForPendingTimersAsync(1);
        time.Advance(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAsync<FtpTimeoutException>(() => task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(2, count);
    }

    [Fact]
    public async Task Permanent_failures_are_not_retried()
    {
        var policy = new RetryPolicy(Options, new FakeTimeProvider());
        var count = 0;
        var ex = await Assert.ThrowsAsync<FtpReplyException>(() => policy.ExecuteAsync<int>((_, _) =>
        {
            count++;
            throw Reply(550, "Failed to open file.");
        }, idempotent: true));
        Assert.Equal(1, count);
        Assert.False(ex.Data.Contains(RetryPolicy.AttemptsDataKey));
    }

    [Fact]
    public async Task A_4xx_reply_is_not_retried_for_a_non_idempotent_operation()
    {
        var policy = new RetryPolicy(Options, new FakeTimeProvider());
        var count = 0;
        await Assert.ThrowsAsync<FtpReplyException>(() => policy.ExecuteAsync((_, _) =>
        {
            count++;
            throw Reply(451, "Failure writing to local file.", "APPE /log");
        }, idempotent: false));
        Assert.Equal(1, count);
    }

    [Fact]
    public async Task A_dropped_connection_is_retried_for_a_non_idempotent_operation_which_sees_the_attempt()
    {
        var time = new FakeTimeProvider();
        var policy = new RetryPolicy(Options, time, () => 0.0);
        var seen = new List<int>();
        var task = policy.ExecuteAsync((attempt, _) =>
        {
            seen.Add(attempt);
            return attempt == 1 ? Task.FromException(new FtpConnectionException("reset by peer")) : Task.CompletedTask;
        }, idempotent: false);
        time.Advance(TimeSpan.FromMilliseconds(50));
        await task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([1, 2], seen);
    }

    [Fact]
    public async Task Cancellation_during_the_delay_stops_at_once()
    {
        var time = new FakeTimeProvider();
        var policy = new RetryPolicy(Options, time);
        using var cts = new CancellationTokenSource();
        var task = policy.ExecuteAsync<int>((_, _) => throw new FtpConnectionException("reset"), idempotent: true, cts.Token);
        Assert.Equal(1, time.PendingTimers);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, time.PendingTimers);
    }

    [Fact]
    public async Task Cancellation_by_the_caller_inside_the_operation_is_not_retried()
    {
        var policy = new RetryPolicy(Options, new FakeTimeProvider());
        using var cts = new CancellationTokenSource();
        var count = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => policy.ExecuteAsync<int>(async (_, ct) =>
        {
            count++;
            await cts.CancelAsync();
            ct.ThrowIfCancellationRequested();
            return 0;
        }, idempotent: true, cts.Token));
        Assert.Equal(1, count);
    }

    [Fact]
    public async Task An_operation_that_completes_asynchronously_is_retried_too()
    {
        var time = new FakeTimeProvider();
        var policy = new RetryPolicy(Options, time, () => 1.0);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var task = policy.ExecuteAsync(async (attempt, _) =>
        {
            if (attempt == 1)
            {
                await gate.Task;
                throw new FtpTimeoutException("no reply");
            }

            return attempt;
        }, idempotent: true);

        gate.SetResult();
        await time.WaitForPendingTimersAsync(1);
        time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal(2, await task.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_single_attempt_policy_never_waits()
    {
        var time = new FakeTimeProvider();
        var policy = new RetryPolicy(Options with { MaxAttempts = 1 }, time);
        await Assert.ThrowsAsync<FtpConnectionException>(() => policy.ExecuteAsync<int>((_, _) => throw new FtpConnectionException("x"), idempotent: true));
        Assert.Equal(0, time.PendingTimers);
    }

    [Fact]
    public void Invalid_options_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => new RetryPolicy(Options with { MaxAttempts = 0 }));
        Assert.Throws<ArgumentException>(() => new RetryPolicy(Options with { MaxDelay = TimeSpan.FromMilliseconds(1) }));
    }
}
