using FtpsMount.Core.Errors;
using FtpsMount.Core.Resilience;
using FtpsMount.Protocol;

namespace FtpsMount.Core.Writing;

/// <summary>
/// The write state of one file, shared by every <see cref="FileWriter"/> open on it (so handles see each other's
/// writes, as on a local file system), and kept after the last close until its data is on the server.
/// <para>
/// Content model: the staging buffer holds bytes [Start, Length); bytes below Start are the server's, untouched. A file
/// opened without truncation starts with Start = its size and nothing staged, so appends stage only the new tail. A
/// change below Start first downloads the original bytes (<see cref="MaterializeLockedAsync"/>).
/// </para>
/// <para>
/// Upload plan: the server holds bytes [0, serverLength) of this content unless a change below serverLength, a
/// truncation, a new file or a failed verification set <c>needsFull</c>. Then the whole file is uploaded (STOR);
/// otherwise only [serverLength, Length) is appended (APPE). What a cut upload left on the server is tracked
/// (partialOnServer / partialValidTo) so the next attempt can continue it.
/// </para>
/// One async gate serialises changes and uploads; reads do not take it (the buffer is consistent on its own).
/// </summary>
internal sealed class StagedFile
{
    private readonly WriteManager _manager;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private string _path;
    private volatile bool _dirty;
    private volatile bool _orphaned;

    // ---- guarded by _gate ----
    private long _serverLength;
    private bool _needsFull;
    private bool _partialOnServer;
    private long _partialValidTo = long.MaxValue;
    /// <summary>Every change since the last upload was a sequential write at the end, from the plan's start.</summary>
    private bool _streamable = true;
    private bool _streamFailed;
    private UploadStream? _stream;
    /// <summary>A stream being stopped in the background (see <see cref="TruncateForOpenAsync"/>).</summary>
    private Task _abandoned = Task.CompletedTask;

    public StagedFile(WriteManager manager, string path, long remoteSize, bool truncate, bool isNew)
    {
        _manager = manager;
        _path = path;
        var fresh = truncate || isNew;
        Data = new StagingBuffer(manager.Staging, path, fresh ? 0 : remoteSize);
        _serverLength = isNew ? 0 : remoteSize;
        _needsFull = fresh;
        _dirty = fresh; // a new or truncated file must reach the server even if nothing is written (STOR of nothing)
    }

    public StagingBuffer Data { get; }

    /// <summary>Current path; changed only under the manager's lock.</summary>
    public string Path
    {
        get => Volatile.Read(ref _path);
        set
        {
            Volatile.Write(ref _path, value);
            Data.Name = value;
        }
    }

    public long Length => Data.Length;
    public bool IsDirty => _dirty;
    public bool IsStreaming => Volatile.Read(ref _stream) is not null;

    /// <summary>Deleted or replaced through this mount: nothing of it is uploaded any more.</summary>
    public bool Orphaned => _orphaned;

    // ---- guarded by the manager's lock ----
    public int Handles { get; set; }
    public BackgroundUpload? Background { get; set; }

    /// <summary>Why the last upload failed (for logs and DrainAsync's report).</summary>
    public Exception? LastFailure { get; private set; }

    public async Task WriteAsync(long offset, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var length = Data.Length;
            if (_stream is not null && (offset != length || _stream.Path != Path))
            {
                await StopStreamLockedAsync().ConfigureAwait(false);
            }

            if (offset < Data.Start)
            {
                await MaterializeLockedAsync(long.MaxValue, ct).ConfigureAwait(false);
            }

            Data.Write(offset, data.Span);
            _dirty = true;
            if (offset < _serverLength)
            {
                _needsFull = true;
            }

            _partialValidTo = Math.Min(_partialValidTo, offset);
            if (offset != length)
            {
                _streamable = false;
            }

            if (_stream is not null)
            {
                _stream.Notify();
            }
            else
            {
                MaybeStartStreamLocked();
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Truncation to 0 of a file a writer joins with O_TRUNC: done at once when nothing else runs (so the
    /// length is right immediately), otherwise by the returned task.</summary>
    public Task TruncateForOpenAsync(CancellationToken ct)
    {
        if (!_gate.Wait(0, CancellationToken.None))
        {
            return SetLengthAsync(0, ct);
        }

        try
        {
            if (_stream is { } stream)
            {
                // Stopping the stream takes time: it goes on in the background, and the next transfer of this file
                // waits for it (a cut transfer must not write after a new STOR began).
                _stream = null;
                _abandoned = stream.AbortAsync();
            }

            var old = Data.Length;
            if (old != 0)
            {
                Data.Reset(0); // a truncation to 0 never downloads
                AfterLengthChangeLocked(0, old);
            }

            return Task.CompletedTask;
        }
#pragma warning disable CA1031 // handed to the writer's first operation
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return Task.FromException(ex);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task SetLengthAsync(long length, CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            await SetLengthLockedAsync(length, ct).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Reads as this mount sees the file: staged bytes locally, the untouched start from the server.</summary>
    public async Task<int> ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct)
    {
        var (count, missing) = Data.Read(offset, buffer.Span);
        if (missing > 0)
        {
            var got = await _manager.Uploader.DownloadAsync(Path, offset, missing,
                (position, chunk) => chunk.CopyTo(buffer.Span[(int)(position - offset)..]), probeEnd: false, ct).ConfigureAwait(false);
            if (got < missing)
            {
                throw new FsException(FsError.Io, $"Read {Path}: the file on the server ends at {offset + got}, before the {Data.Start} bytes it had when opened (changed by someone else?)");
            }
        }

        return count;
    }

    /// <summary>Uploads if dirty (see the class remarks) and raises <see cref="WriteManager.Uploaded"/>. Throws
    /// <see cref="FsException"/>; the data stays staged.</summary>
    public async Task UploadAsync(CancellationToken ct)
    {
        long? uploaded;
        string path;
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            path = Path;
            uploaded = await UploadLockedAsync(ct).ConfigureAwait(false);
            LastFailure = null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            _manager.Counters.Failed();
            var error = ex switch
            {
                UploadVerificationException or FullUploadRequiredException => new FsException(FsError.Io, $"Write {Path}: {ex.Message}", ex),
                _ => FtpErrorMapper.ToFsException(ex, FsOperation.Write, Path),
            };
            LastFailure = error;
            throw error;
        }
        finally
        {
            _gate.Release();
        }

        if (uploaded is { } size)
        {
            _manager.RaiseUploaded(path, size);
        }
    }

    /// <summary>Waits until no change or upload runs (after <see cref="Orphan"/>), then stops a stream.</summary>
    public async Task QuiesceAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_stream is not null)
            {
                await StopStreamLockedAsync().ConfigureAwait(false);
            }

            await _abandoned.ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Orphan() => _orphaned = true;

    /// <summary>Frees local resources. With <paramref name="preserve"/>, staged data that never reached the server is
    /// kept in a file (logged) instead of being thrown away.</summary>
    public async Task DisposeAsync(bool preserve)
    {
        // After any running change or upload (those of a disposing manager are cancelled); later calls fail on the
        // disposed buffer.
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            var stream = Interlocked.Exchange(ref _stream, null);
            if (stream is not null)
            {
                await stream.AbortAsync().ConfigureAwait(false);
            }

            await _abandoned.ConfigureAwait(false);

            if (preserve && _dirty && !_orphaned)
            {
                var kept = Data.Preserve();
                var cause = LastFailure?.Message ?? "none (not uploaded yet)";
                _manager.Log.Log(FtpLogLevel.Error, kept is null
                    ? $"write {Path}: {Length} bytes written never reached the server and could not be kept locally; last error: {cause}"
                    : $"write {Path}: the data written never reached the server; it is kept in {kept} (last error: {cause})");
            }

            Data.Dispose();
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task SetLengthLockedAsync(long length, CancellationToken ct)
    {
        var old = Data.Length;
        if (length == old)
        {
            return;
        }

        if (_stream is not null)
        {
            await StopStreamLockedAsync().ConfigureAwait(false);
        }

        if (length == 0)
        {
            Data.Reset(0);
        }
        else if (length < Data.Start)
        {
            await MaterializeLockedAsync(length, ct).ConfigureAwait(false);
        }
        else
        {
            Data.SetLength(length);
        }

        AfterLengthChangeLocked(length, old);
    }

    private void AfterLengthChangeLocked(long length, long old)
    {
        _dirty = true;
        if (length < _serverLength)
        {
            _needsFull = true;
        }

        _partialValidTo = Math.Min(_partialValidTo, Math.Min(length, old));
        _streamable = length == PlanStart; // e.g. ftruncate(fd, 0) before rewriting: sequential writes may stream again
        if (length == 0)
        {
            _streamFailed = false; // a fresh content; whatever a stopped stream left is replaced by the next STOR
        }
    }

    private long PlanStart => _needsFull ? 0 : _serverLength;

    /// <summary>Fetches the server's bytes below Start (up to <paramref name="limit"/>) so the whole file is staged.</summary>
    private async Task MaterializeLockedAsync(long limit, CancellationToken ct)
    {
        var start = Data.Start;
        if (start == 0)
        {
            return;
        }

        var want = Math.Min(limit, start);
        var target = Data.CreateStorage(limit >= start ? Data.Length : want);
        try
        {
            var got = await _manager.Uploader.DownloadAsync(Path, 0, want, (position, chunk) =>
            {
                try
                {
                    target.Write(position, chunk);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    throw _manager.Staging.LocalFailure(ex, $"staging the original bytes of {Path}");
                }
            }, probeEnd: want == start, ct).ConfigureAwait(false);
            if (got < want)
            {
                throw new FsException(FsError.Io,
                    $"Write {Path}: the file on the server has only {got} of the {start} bytes it had when opened (changed by someone else?); its start cannot be staged");
            }

            _manager.Log.Log(FtpLogLevel.Debug, $"write {Path}: staged the original {want} bytes for a change below the appended part");
            Data.InstallPrefix(target, want);
        }
        catch
        {
            target.Dispose();
            throw;
        }
    }

    private void MaybeStartStreamLocked()
    {
        var start = PlanStart;
        if (!_streamable || _streamFailed || _orphaned || start < Data.Start || !_abandoned.IsCompleted
            || (start > 0 && _partialOnServer) || Data.Length - start < _manager.StreamThreshold
            || !_manager.TryAcquireStreamSlot())
        {
            return;
        }

        _stream = new UploadStream(_manager.Uploader.Pool, Path, Data, start, _manager.Log, _manager.ReleaseStreamSlot);
        _stream.Start();
        _stream.Notify();
    }

    private async Task StopStreamLockedAsync()
    {
        var stream = _stream!;
        _stream = null;
        await stream.AbortAsync().ConfigureAwait(false);
        AfterStreamStopped(stream);
    }

    private void AfterStreamStopped(UploadStream stream)
    {
        _streamFailed = true; // not again before the next upload
        if (stream.Opened)
        {
            // Its transfer truncated (STOR) or extended (APPE) the file with bytes that are still the staged ones.
            _partialOnServer = true;
            _partialValidTo = long.MaxValue;
        }
    }

    /// <summary>The upload itself; returns the size uploaded, or null when there was nothing to do.</summary>
    private async Task<long?> UploadLockedAsync(CancellationToken ct)
    {
        if (!_dirty || _orphaned)
        {
            return null;
        }

        await _abandoned.ConfigureAwait(false);
        var path = Path;
        var length = Data.Length;
        if (_stream is { } stream)
        {
            _stream = null;
            Exception? failure;
            if (stream.Path == path)
            {
                try
                {
                    failure = await stream.FinishAsync((session, c) => _manager.Uploader.VerifyAsync(session, path, Data, length, c), ct)
                        .ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    AfterStreamStopped(stream);
                    throw;
                }
            }
            else
            {
                // Renamed while streaming: the transfer went to the old name.
                await stream.AbortAsync().ConfigureAwait(false);
                failure = new StreamNotStartedException();
            }

            if (failure is null)
            {
                _manager.Counters.Uploaded(length - stream.PlanStart);
                _manager.Counters.Streamed();
                OnUploadedLocked(length);
                return length;
            }

            AfterStreamStopped(stream);
            if (failure is UploadVerificationException)
            {
                _needsFull = true;
                _partialOnServer = false;
                throw failure;
            }

            if (failure is not StreamNotStartedException && !TransientFailure.IsTransient(failure, idempotent: true))
            {
                throw failure;
            }

            _manager.Log.Log(FtpLogLevel.Debug, $"upload {path}: uploading from the staged copy ({failure.Message})");
        }

        for (var round = 0; ; round++)
        {
            if (_needsFull && Data.Start > 0)
            {
                await MaterializeLockedAsync(long.MaxValue, ct).ConfigureAwait(false);
            }

            var job = new UploadJob(path, Data, length, PlanStart) { PartialOnServer = _partialOnServer, PartialValidTo = _partialValidTo };
            try
            {
                await _manager.Uploader.RunAsync(job, ct).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                _partialOnServer = job.PartialOnServer;
                _partialValidTo = job.PartialValidTo;
                if (ex is FullUploadRequiredException && round == 0)
                {
                    _manager.Log.Log(FtpLogLevel.Information, $"upload {path}: {ex.Message}; uploading the whole file");
                    _needsFull = true;
                    continue;
                }

                if (ex is UploadVerificationException)
                {
                    // What the server holds is suspect: the next attempt rewrites the whole file.
                    _needsFull = true;
                    _partialOnServer = false;
                }

                throw;
            }

            OnUploadedLocked(length);
            return length;
        }
    }

    private void OnUploadedLocked(long length)
    {
        _serverLength = length;
        _dirty = false;
        _needsFull = false;
        _partialOnServer = false;
        _partialValidTo = long.MaxValue;
        _streamable = true;
        _streamFailed = false;
    }
}
