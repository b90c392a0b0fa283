using System.Runtime.ExceptionServices;
using FtpsMount.Core.Resilience;
using FtpsMount.Protocol;

namespace FtpsMount.Core.Pool;

public sealed partial class SessionPool
{
    /// <summary>
    /// Leases a session, runs <paramref name="operation"/> on it, returns the session, and retries transient failures on a
    /// fresh session through the mount's <see cref="RetryPolicy"/> (bounded exponential back-off with jitter, at most
    /// <see cref="RetryOptions.MaxAttempts"/> attempts within <see cref="RetryOptions.Deadline"/>, delays on the pool's
    /// <see cref="TimeProvider"/>).
    /// <para>What is retried:</para>
    /// <list type="bullet">
    /// <item>Failures while leasing/opening the session (connection refused or dropped, timeouts, TLS reset, 421 at
    /// login): for every operation, because none of its commands has been sent yet.</item>
    /// <item>Failures of the operation itself (dropped connection, timeout, 421, 425, 426, 450, 451 as
    /// <see cref="TransientFailure"/> judges them): only when <paramref name="idempotent"/>. A non-idempotent operation
    /// (STOR, APPE, RNFR/RNTO, DELE, MKD...) may have taken effect before the connection died and the operation given
    /// here cannot tell, so its failure is returned to the caller, who knows whether checking and redoing is safe.</item>
    /// </list>
    /// A failed session is dropped when it is broken, or after 421/425 (see <see cref="PoolFailures.ShouldDropSession"/>);
    /// otherwise it goes back to the pool. Everything else (550, login refused, certificate rejected, cancellation) is
    /// returned at once. <paramref name="operation"/> must complete or abort any transfer it opens before it returns or
    /// throws.
    /// </summary>
    public async Task<T> ExecuteAsync<T>(SessionUse use, Func<FtpSession, CancellationToken, Task<T>> operation, bool idempotent,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(operation);
        try
        {
            return await _retry.ExecuteAsync(async (_, ct) =>
            {
                // A lease failure reaches the policy as is: it retries connection failures and timeouts for every
                // operation (OpenAsync reports raw socket/TLS I/O errors as FtpConnectionException).
                var lease = await LeaseAsync(use, ct).ConfigureAwait(false);
                await using (lease.ConfigureAwait(false))
                {
                    try
                    {
                        return await operation(lease.Session, ct).ConfigureAwait(false);
                    }
                    catch (Exception ex)
                    {
                        if (ex is not OperationCanceledException && PoolFailures.ShouldDropSession(ex, lease.Session.IsUsable))
                        {
                            lease.Fail(ex);
                        }

                        if (!idempotent)
                        {
                            throw new NotRetriedException(ex); // the command may have run: not the pool's call to repeat it
                        }

                        throw;
                    }
                }
            }, idempotent, cancellationToken).ConfigureAwait(false);
        }
        catch (NotRetriedException wrapper)
        {
            ExceptionDispatchInfo.Capture(wrapper.InnerException!).Throw();
            throw; // unreachable
        }
    }

    /// <summary><see cref="ExecuteAsync{T}"/> for operations without a result.</summary>
    public Task ExecuteAsync(SessionUse use, Func<FtpSession, CancellationToken, Task> operation, bool idempotent,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(operation);
        return ExecuteAsync<bool>(use, async (session, ct) =>
        {
            await operation(session, ct).ConfigureAwait(false);
            return true;
        }, idempotent, cancellationToken);
    }

    private RetryPolicy CreateRetryPolicy() => new(_settings.Retry, _time)
    {
        Retrying = e =>
        {
            Interlocked.Increment(ref _retries);
            _log.Log(FtpLogLevel.Information,
                $"pool {_name}: retrying in {e.Delay.TotalMilliseconds:0} ms (attempt {e.FailedAttempt + 1} of {_settings.Retry.MaxAttempts}) after: {e.Error.Message}");
        },
    };

    /// <summary>Carries a failure of a non-idempotent operation past the retry policy (which would retry a dropped
    /// connection), to be rethrown unchanged.</summary>
    private sealed class NotRetriedException(Exception inner) : Exception(inner.Message, inner);
}
