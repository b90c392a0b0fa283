using System.Buffers;
using System.Globalization;
using FtpsMount.Core.Pool;
using FtpsMount.Core.Resilience;
using FtpsMount.Protocol;

namespace FtpsMount.Core.Writing;

/// <summary>
/// The transfers of the write path: uploads with verification and resume, and downloads of original bytes.
/// <para>
/// An upload sends staged bytes with STOR (whole file) or APPE (the server already has the start). When a transfer is
/// cut after it opened, the server holds a partial upload: the next attempt asks SIZE and continues from there — REST +
/// STOR where the server has REST STREAM, APPE for appends — when the bytes below that size are still the ones sent;
/// otherwise it starts over. Attempts are bounded: <see cref="RetryOptions.MaxAttempts"/> failures in a row without
/// progress (an attempt that moved at least 1 MiB resets the count), four times that in all, with the pool's back-off
/// between attempts. Only transient failures (dropped connections, timeouts, 421/425/426/450/451) are retried; a
/// permanent reply (552 disk full, 553, 550 ...) ends the upload at once.
/// </para>
/// <para>
/// Verification after the server confirmed the transfer (226): SIZE must equal the staged length, and when
/// <see cref="WriteOptions.VerifyChecksums"/> and the server offers HASH/XSHA*/XMD5/XCRC, its checksum must equal the
/// checksum of the staged bytes (only when the whole file is staged: an append's unstaged start cannot be hashed
/// locally). A checksum the server cannot produce (error reply, timeout) is logged and the size check stands.
/// </para>
/// </summary>
internal sealed class Uploader
{
    private const int ChunkSize = 256 * 1024;
    private const long ProgressBytes = 1024 * 1024;
    private const long Missing = -1;
    private const long Unknown = -2;

    private readonly SessionPool _pool;
    private readonly WriteOptions _options;
    private readonly IFtpLogger _log;
    private readonly TimeProvider _time;
    private readonly WriteCounters _counters;
    private readonly RetryPolicy _retry;
    private int _restStoreRefused;

    public Uploader(SessionPool pool, WriteOptions options, IFtpLogger log, TimeProvider time, WriteCounters counters)
    {
        _pool = pool;
        _options = options;
        _log = log;
        _time = time;
        _counters = counters;
        _retry = new RetryPolicy(pool.Settings.Retry, time);
    }

    public SessionPool Pool => _pool;

    /// <summary>Uploads and verifies <paramref name="job"/>. Throws the last failure (protocol exceptions as thrown,
    /// <see cref="UploadVerificationException"/>, <see cref="FullUploadRequiredException"/>, <see cref="FsException"/>
    /// for local staging failures); <see cref="UploadJob.PartialOnServer"/> tells what the server may hold then.</summary>
    public async Task RunAsync(UploadJob job, CancellationToken cancellationToken)
    {
        var maxAttempts = _retry.Options.MaxAttempts;
        var failuresInARow = 0;
        var sinceProgress = _time.GetTimestamp();
        var useRest = Volatile.Read(ref _restStoreRefused) == 0;
        for (var attempt = 1; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            long sent = 0;
            var usedRest = false;
            TimeSpan? retryDelay = null;
            SessionLease? lease = null;
            try
            {
                lease = await _pool.LeaseAsync(SessionUse.Transfer, cancellationToken).ConfigureAwait(false);
                var session = lease.Session;
                var (mode, from) = job.PartialOnServer
                    ? await ReconcileAsync(session, job, useRest, cancellationToken).ConfigureAwait(false)
                    : (job.PlanStart == 0 ? FtpWriteMode.Create : FtpWriteMode.Append, job.PlanStart);
                if (from > job.PlanStart)
                {
                    _counters.Resumed();
                    _log.Log(FtpLogLevel.Information, string.Create(CultureInfo.InvariantCulture,
                        $"upload {job.Path}: resuming at byte {from} of {job.Length} ({(mode == FtpWriteMode.Append ? "APPE" : "REST+STOR")})"));
                }

                // A continued upload the server already has in full only needs verifying.
                if (!(mode != FtpWriteMode.Create && from == job.Length))
                {
                    usedRest = mode == FtpWriteMode.Resume && from > 0;
                    var transfer = await session.OpenWriteAsync(job.Path, mode, mode == FtpWriteMode.Resume ? from : 0, cancellationToken)
                        .ConfigureAwait(false);
                    job.PartialOnServer = true;
                    job.PartialValidTo = long.MaxValue;
                    await using (transfer.ConfigureAwait(false))
                    {
                        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
                        try
                        {
                            for (var position = from; position < job.Length;)
                            {
                                var (count, missing) = job.Data.Read(position, buffer.AsSpan(0, (int)Math.Min(ChunkSize, job.Length - position)));
                                if (count == 0 || missing > 0)
                                {
                                    throw new InvalidOperationException($"upload {job.Path}: the staged data does not cover byte {position}");
                                }

                                await transfer.WriteAsync(buffer.AsMemory(0, count), cancellationToken).ConfigureAwait(false);
                                position += count;
                                sent += count;
                            }
                        }
                        finally
                        {
                            ArrayPool<byte>.Shared.Return(buffer);
                        }

                        await transfer.CompleteAsync(cancellationToken).ConfigureAwait(false);
                    }
                }

                await VerifyAsync(session, job.Path, job.Data, job.Length, cancellationToken).ConfigureAwait(false);
                job.PartialOnServer = false;
                _counters.Uploaded(sent);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                if (lease is not null && PoolFailures.ShouldDropSession(ex, lease.Session.IsUsable))
                {
                    lease.Fail(ex);
                }

                if (ex is UploadVerificationException or FullUploadRequiredException or FsException)
                {
                    throw;
                }

                if (ex is FtpReplyException { Command: var command } && command.StartsWith("REST", StringComparison.OrdinalIgnoreCase))
                {
                    // The server takes no restart offset for uploads: from now on, a cut upload starts over.
                    Interlocked.Exchange(ref _restStoreRefused, 1);
                    useRest = false;
                    _log.Log(FtpLogLevel.Information, $"upload {job.Path}: the server refused REST before STOR ({ex.Message}); cut uploads will start over.");
                    if (attempt < maxAttempts * 4)
                    {
                        continue;
                    }
                }
                else if (usedRest && ex is FtpReplyException)
                {
                    // The STOR after REST was refused: try once more the plain way before judging the reply.
                    useRest = false;
                    if (attempt < maxAttempts * 4)
                    {
                        continue;
                    }
                }

                if (!TransientFailure.IsTransient(ex, idempotent: true))
                {
                    throw;
                }

                failuresInARow = sent >= ProgressBytes ? 1 : failuresInARow + 1;
                if (sent >= ProgressBytes)
                {
                    sinceProgress = _time.GetTimestamp();
                }

                retryDelay = _retry.GetDelay(failuresInARow);
                // Retry.Deadline bounds the time spent without progress (found by the unmount drill: a silent server
                // kept an upload retrying for 4 full timeouts whatever --retry-deadline said).
                if (failuresInARow >= maxAttempts || attempt >= maxAttempts * 4
                    || _time.GetElapsedTime(sinceProgress) + retryDelay.Value > _retry.Options.Deadline)
                {
                    RecordAttempts(ex, attempt);
                    throw;
                }

                _log.Log(FtpLogLevel.Information, string.Create(CultureInfo.InvariantCulture,
                    $"upload {job.Path}: attempt {attempt} failed after {sent} bytes ({ex.Message}); retrying in {retryDelay.Value.TotalMilliseconds:0} ms"));
            }
            finally
            {
                if (lease is not null)
                {
                    await lease.DisposeAsync().ConfigureAwait(false);
                }
            }

            if (retryDelay is { } delay && delay > TimeSpan.Zero)
            {
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>After a cut upload: where to continue, from the size the server has now.</summary>
    private async Task<(FtpWriteMode Mode, long From)> ReconcileAsync(FtpSession session, UploadJob job, bool useRest, CancellationToken ct)
    {
        var size = await ServerSizeAsync(session, job.Path, ct).ConfigureAwait(false);
        var valid = Math.Min(job.PartialValidTo, job.Length);
        var rest = useRest && session.Features.RestStream;
        if (job.PlanStart == 0)
        {
            // The STOR that opened truncated the file: what is there now is ours up to where it was cut.
            return size > 0 && size <= valid && rest ? (FtpWriteMode.Resume, size) : (FtpWriteMode.Create, 0);
        }

        var start = job.PlanStart;
        if (size == start)
        {
            return (FtpWriteMode.Append, start);
        }

        if (size > start && size <= valid)
        {
            return (FtpWriteMode.Append, size); // APPE continues at the server's end
        }

        if (size > start && size <= job.Length && rest)
        {
            return (FtpWriteMode.Resume, start); // rewrite the appended part; it ends at the full length, nothing stays behind
        }

        throw new FullUploadRequiredException(size switch
        {
            Missing => $"{job.Path} is no longer on the server",
            Unknown => $"the server cannot tell the size of {job.Path}",
            _ => string.Create(CultureInfo.InvariantCulture, $"the server has {size} bytes of {job.Path}; the append started at {start}"),
        });
    }

    /// <summary>Checks the upload landed whole (see the class remarks). Throws <see cref="UploadVerificationException"/>.</summary>
    public async Task VerifyAsync(FtpSession session, string path, StagingBuffer data, long length, CancellationToken ct)
    {
        var size = await ServerSizeAsync(session, path, ct).ConfigureAwait(false);
        if (size == Unknown)
        {
            _log.Log(FtpLogLevel.Warning, $"upload {path}: the server reports no size (no SIZE or MLST); the upload is not verified.");
        }
        else if (size != length)
        {
            throw new UploadVerificationException(size == Missing
                ? $"upload of {path} not verified: the server has no such file after the transfer"
                : string.Create(CultureInfo.InvariantCulture, $"upload of {path} not verified: the server reports {size} bytes, {length} were written"));
        }
        else
        {
            _counters.Verified();
        }

        if (!_options.VerifyChecksums || data.Start != 0)
        {
            return;
        }

        var algorithm = session.ChecksumAlgorithms.FirstOrDefault(Checksums.IsSupported);
        if (algorithm is null)
        {
            return;
        }

        FtpChecksum? remote;
        try
        {
            remote = await session.GetChecksumAsync(path, algorithm, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is FtpReplyException { Code: not 421 } or FtpTimeoutException or FtpProtocolException)
        {
            // e.g. a server that hashes large files slower than the command timeout: the session is dropped by the
            // pool if it broke; the size check stands.
            _log.Log(FtpLogLevel.Warning, $"upload {path}: the server's {algorithm} checksum is unavailable ({ex.Message}); verified by size only.");
            return;
        }

        if (remote is null)
        {
            return;
        }

        var local = Checksums.Compute(data, length, algorithm, ct);
        if (!string.Equals(local, remote.Value, StringComparison.OrdinalIgnoreCase))
        {
            throw new UploadVerificationException(
                $"upload of {path} failed verification: the server's {algorithm} is {remote.Value}, the staged data's is {local}");
        }

        _counters.ChecksumVerified();
    }

    /// <summary>SIZE (or MLST where SIZE is not implemented); <see cref="Missing"/> for 550, <see cref="Unknown"/> when
    /// the server has no way to tell.</summary>
    private static async Task<long> ServerSizeAsync(FtpSession session, string path, CancellationToken ct)
    {
        try
        {
            return await session.GetSizeAsync(path, ct).ConfigureAwait(false);
        }
        catch (FtpReplyException ex) when (ex.Code == 550)
        {
            return Missing;
        }
        catch (FtpReplyException ex) when (ex.Code is 500 or 502 or 504)
        {
            var entry = await session.GetEntryAsync(path, ct).ConfigureAwait(false);
            return entry is null ? Missing : entry.Size ?? Unknown;
        }
    }

    /// <summary>
    /// Downloads bytes [offset, offset + length) of <paramref name="path"/> into <paramref name="sink"/> (called with
    /// each chunk's file offset), retrying cut transfers from where they stopped. Returns the bytes fetched: fewer than
    /// asked when the file is shorter. With <paramref name="probeEnd"/> (the range should end at the end of the file) it
    /// reads on to see the end, so the transfer completes instead of being stopped early.
    /// </summary>
    public async Task<long> DownloadAsync(string path, long offset, long length, Action<long, ReadOnlySpan<byte>> sink, bool probeEnd,
        CancellationToken cancellationToken)
    {
        long got = 0;
        await _pool.ExecuteAsync(SessionUse.Transfer, async (session, ct) =>
        {
            // Without REST STREAM the transfer starts at 0 and the bytes before the range are read and dropped.
            var skip = offset + got > 0 && !session.Features.RestStream ? offset + got : 0;
            var transfer = await session.OpenReadAsync(path, skip > 0 ? 0 : offset + got, ct).ConfigureAwait(false);
            await using (transfer.ConfigureAwait(false))
            {
                var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
                try
                {
                    while (skip > 0)
                    {
                        var n = await transfer.ReadAsync(buffer.AsMemory(0, (int)Math.Min(ChunkSize, skip)), ct).ConfigureAwait(false);
                        if (n == 0)
                        {
                            await transfer.CompleteAsync(ct).ConfigureAwait(false);
                            return;
                        }

                        skip -= n;
                    }

                    while (got < length)
                    {
                        var n = await transfer.ReadAsync(buffer.AsMemory(0, (int)Math.Min(ChunkSize, length - got)), ct).ConfigureAwait(false);
                        if (n == 0)
                        {
                            await transfer.CompleteAsync(ct).ConfigureAwait(false);
                            return;
                        }

                        sink(offset + got, buffer.AsSpan(0, n));
                        got += n;
                        _counters.Downloaded(n);
                    }

                    if (probeEnd && await transfer.ReadAsync(buffer.AsMemory(0, 1), ct).ConfigureAwait(false) == 0)
                    {
                        await transfer.CompleteAsync(ct).ConfigureAwait(false);
                        return;
                    }

                    await transfer.AbortAsync(ct).ConfigureAwait(false);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }, idempotent: true, cancellationToken).ConfigureAwait(false);
        return got;
    }

    private static void RecordAttempts(Exception ex, int attempts)
    {
        try
        {
            ex.Data[RetryPolicy.AttemptsDataKey] = attempts;
        }
        catch (ArgumentException)
        {
            // informative only
        }
    }
}
