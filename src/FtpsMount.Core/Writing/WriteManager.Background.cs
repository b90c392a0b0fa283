using FtpsMount.Protocol;

namespace FtpsMount.Core.Writing;

/// <summary>The background upload loop of one closed file (write-back, or retries after a failed upload).</summary>
internal sealed class BackgroundUpload(CancellationTokenSource stop) : IDisposable
{
    private int _stopped;

    /// <summary>Cancelled to stop waiting; an upload already running finishes.</summary>
    public CancellationToken Token { get; } = stop.Token;

    public Task Completion { get; set; } = Task.CompletedTask;

    public bool IsStopped => Volatile.Read(ref _stopped) != 0;

    /// <summary>Safe under a lock: cancellation callbacks run elsewhere.</summary>
    public void Stop()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            try
            {
                _ = stop.CancelAsync();
            }
            catch (ObjectDisposedException)
            {
                // the loop already ended
            }
        }
    }

    public void Dispose() => stop.Dispose();
}

public sealed partial class WriteManager
{
    /// <summary>Marks a closed dirty file pending and makes sure a background loop will upload it after
    /// <paramref name="delay"/>. No-op while writers have it open (their close takes over).</summary>
    private void SchedulePendingLocked(StagedFile file, TimeSpan delay)
    {
        if (_disposed || file.Handles > 0 || file.Orphaned)
        {
            return;
        }

        _pending.Add(file);
        if (file.Background is { IsStopped: false })
        {
            return;
        }

        // A stopped loop may still be finishing an upload: the new one starts after it.
        var previous = file.Background?.Completion ?? Task.CompletedTask;
        var background = new BackgroundUpload(CancellationTokenSource.CreateLinkedTokenSource(_disposing.Token));
        file.Background = background;
        background.Completion = Task.Run(async () =>
        {
            try
            {
                await previous.ConfigureAwait(false);
            }
#pragma warning disable CA1031 // the previous loop logs its own failures
            catch (Exception)
#pragma warning restore CA1031
            {
            }

            await RunBackgroundAsync(file, background, delay).ConfigureAwait(false);
        });
    }

    private void StopBackgroundLocked(StagedFile file) => file.Background?.Stop();

    private async Task RunBackgroundAsync(StagedFile file, BackgroundUpload background, TimeSpan delay)
    {
        try
        {
            for (var failures = 0; ;)
            {
                try
                {
                    await Task.Delay(delay, Time, background.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return; // reopened, drained, forgotten or disposed
                }

                try
                {
                    await file.UploadAsync(_disposing.Token).ConfigureAwait(false);
                    return;
                }
#pragma warning disable CA1031 // logged; the data stays staged and the loop tries again
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    if (background.Token.IsCancellationRequested)
                    {
                        return;
                    }

                    failures++;
                    delay = BackgroundRetryDelay(failures);
                    Log.Log(FtpLogLevel.Warning,
                        $"write {file.Path}: upload failed ({ex.Message}); the data stays staged, next attempt in {delay.TotalSeconds:0.#} s");
                }
            }
        }
        finally
        {
            lock (_lock)
            {
                if (file.Background == background)
                {
                    file.Background = null;
                }
            }

            background.Dispose();
            await ReleaseIfIdleAsync(file).ConfigureAwait(false);
        }
    }

    private TimeSpan BackgroundRetryDelay(int failures)
    {
        var delay = BackgroundRetryBase;
        for (var i = 1; i < failures && delay < BackgroundRetryMax; i++)
        {
            delay *= 2;
        }

        return delay < BackgroundRetryMax ? delay : BackgroundRetryMax;
    }

    /// <summary>One file of <see cref="DrainAsync"/>: its loop stopped (a running upload finishes first), then an upload
    /// now. True when nothing of it waits for the server any more.</summary>
    private async Task<bool> DrainOneAsync(StagedFile file, CancellationToken ct)
    {
        Task? loop;
        lock (_lock)
        {
            loop = file.Background?.Completion;
            StopBackgroundLocked(file);
        }

        if (loop is not null)
        {
            try
            {
                await loop.WaitAsync(ct).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // the loop logs its failures; what matters here is whether the data is still staged
            catch (Exception)
#pragma warning restore CA1031
            {
                if (ct.IsCancellationRequested)
                {
                    return !file.IsDirty;
                }
            }
        }

        lock (_lock)
        {
            if (!_pending.Contains(file))
            {
                return true; // uploaded by its loop, reopened, or forgotten
            }
        }

        try
        {
            await file.UploadAsync(ct).ConfigureAwait(false);
            await ReleaseIfIdleAsync(file).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is FsException or OperationCanceledException)
        {
            Log.Log(FtpLogLevel.Warning, $"write {file.Path}: upload failed while draining ({ex.Message}); the data stays staged");
            lock (_lock)
            {
                SchedulePendingLocked(file, BackgroundRetryBase);
            }

            return false;
        }
    }
}
