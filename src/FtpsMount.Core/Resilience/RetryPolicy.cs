using System.Diagnostics.CodeAnalysis;
using System.Runtime.ExceptionServices;

namespace FtpsMount.Core.Resilience;

/// <summary>One retry about to happen: the attempt that failed (1-based), why, and the delay before the next one.</summary>
public readonly record struct RetryEvent(int FailedAttempt, Exception Error, TimeSpan Delay);

/// <summary>
/// Runs an operation and retries it after transient failures (<see cref="TransientFailure"/>), with bounded
/// exponential backoff and jitter: the delay after failed attempt n is d = min(MaxDelay, BaseDelay * 2^(n-1)),
/// randomised to [d/2, d] ("equal jitter": never a burst of instant retries, never in lock-step with other
/// clients). It stops after <see cref="RetryOptions.MaxAttempts"/> attempts, or when the next attempt would start
/// later than <see cref="RetryOptions.Deadline"/> after the first one, and then rethrows the last failure unchanged
/// (with its original stack) so the caller maps it with the server's reply; the number of attempts is recorded in
/// the exception's <see cref="Exception.Data"/> under <see cref="AttemptsDataKey"/>.
/// Delays run on the injected <see cref="TimeProvider"/>, so tests drive them with a fake clock.
/// Thread-safe; one instance per mount.
/// </summary>
public sealed class RetryPolicy
{
    /// <summary>Key of the attempt count stored in a rethrown exception's <see cref="Exception.Data"/>.</summary>
    public const string AttemptsDataKey = "FtpsMount.RetryAttempts";

    private readonly TimeProvider _time;
    private readonly Func<double> _jitter;

    /// <param name="options">Attempts, delays and deadline.</param>
    /// <param name="time">Clock for delays and the deadline (default: system clock).</param>
    /// <param name="jitter">Source of jitter in [0, 1] (default: <see cref="Random.Shared"/>); tests pass a constant.</param>
    public RetryPolicy(RetryOptions options, TimeProvider? time = null, Func<double>? jitter = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        _time = time ?? TimeProvider.System;
        _jitter = jitter ?? Random.Shared.NextDouble;
    }

    public RetryOptions Options { get; }

    /// <summary>Called before each retry's delay (for logging). Must not throw.</summary>
    public Action<RetryEvent>? Retrying { get; init; }

    /// <summary>The delay after failed attempt <paramref name="failedAttempt"/> (1-based), jitter included.</summary>
    public TimeSpan GetDelay(int failedAttempt)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(failedAttempt, 1);
        var ceiling = Options.MaxDelay.Ticks;
        var exponent = Math.Min(failedAttempt - 1, 62);
        var full = Options.BaseDelay.Ticks;
        for (var i = 0; i < exponent && full < ceiling; i++)
        {
            full *= 2;
        }

        full = Math.Min(full, ceiling);
        var r = Math.Clamp(_jitter(), 0.0, 1.0);
        var half = full / 2;
        return TimeSpan.FromTicks(half + (long)((full - half) * r));
    }

    /// <summary>
    /// Runs <paramref name="operation"/> (given the 1-based attempt number and the token) until it succeeds, fails
    /// permanently, or the attempts or the deadline run out.
    /// </summary>
    /// <param name="idempotent">True when repeating the operation cannot change the outcome (reads, SIZE, MLST, STOR
    /// of a whole staged file); false for APPE, RNFR/RNTO, DELE, MKD and other operations that must reconcile.</param>
    public async Task<T> ExecuteAsync<T>(Func<int, CancellationToken, Task<T>> operation, bool idempotent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(operation);
        var started = _time.GetTimestamp();
        for (var attempt = 1; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                return await operation(attempt, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                if (!TransientFailure.IsTransient(ex, idempotent) || attempt >= Options.MaxAttempts)
                {
                    Rethrow(ex, attempt);
                }

                var delay = GetDelay(attempt);
                if (_time.GetElapsedTime(started) + delay > Options.Deadline)
                {
                    Rethrow(ex, attempt);
                }

                Retrying?.Invoke(new RetryEvent(attempt, ex, delay));
                if (delay > TimeSpan.Zero)
                {
                    await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    /// <inheritdoc cref="ExecuteAsync{T}(Func{int, CancellationToken, Task{T}}, bool, CancellationToken)"/>
    public Task ExecuteAsync(Func<int, CancellationToken, Task> operation, bool idempotent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(operation);
        return ExecuteAsync<bool>(async (attempt, ct) =>
        {
            await operation(attempt, ct).ConfigureAwait(false);
            return true;
        }, idempotent, cancellationToken);
    }

    [DoesNotReturn]
    private static void Rethrow(Exception ex, int attempts)
    {
        if (attempts > 1)
        {
            try
            {
                ex.Data[AttemptsDataKey] = attempts;
            }
            catch (ArgumentException)
            {
                // Data of some exception types rejects entries; the count is only informative.
            }
        }

        ExceptionDispatchInfo.Capture(ex).Throw();
    }
}
