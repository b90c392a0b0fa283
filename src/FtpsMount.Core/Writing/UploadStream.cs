using System.Buffers;
using FtpsMount.Core.Pool;
using FtpsMount.Protocol;

namespace FtpsMount.Core.Writing;

/// <summary>
/// An upload that runs while its file is still being written sequentially: one STOR (new or truncated file) or APPE
/// (append) transfer, fed by a background pump from the staging buffer as writes arrive. Writes only stage and wake the
/// pump, so a slow server never blocks a writer; the staged copy stays authoritative, so a failed stream costs
/// nothing but a fallback to the ordinary staged upload (which continues it where the server has REST STREAM).
/// <para>
/// The owner (<see cref="StagedFile"/>, holding its gate) stops the stream before any non-sequential change
/// (<see cref="AbortAsync"/>), or ends it on flush (<see cref="FinishAsync"/>). The pump holds one transfer session
/// for the life of the stream; <see cref="WriteManager"/> bounds how many streams exist so that other transfers
/// always find a session.
/// </para>
/// </summary>
internal sealed class UploadStream
{
    private const int ChunkSize = 256 * 1024;

    private readonly SessionPool _pool;
    private readonly StagingBuffer _data;
    private readonly FtpWriteMode _mode;
    private readonly IFtpLogger _log;
    private readonly Action _releaseSlot;
    private readonly CancellationTokenSource _cts = new();
    private readonly SemaphoreSlim _signal = new(0);
    private Task _pump = Task.CompletedTask;
    private SessionLease? _lease;
    private FtpTransfer? _transfer;
    private volatile bool _finishing;
    private volatile bool _opened;
    private long _sentEnd;
    private Exception? _failure;
    private int _slotReleased;

    public UploadStream(SessionPool pool, string path, StagingBuffer data, long planStart, IFtpLogger log, Action releaseSlot)
    {
        _pool = pool;
        Path = path;
        _data = data;
        PlanStart = planStart;
        _mode = planStart == 0 ? FtpWriteMode.Create : FtpWriteMode.Append;
        _sentEnd = planStart;
        _log = log;
        _releaseSlot = releaseSlot;
    }

    /// <summary>The path the transfer writes to.</summary>
    public string Path { get; }

    /// <summary>0 for STOR, else the offset APPE continues at.</summary>
    public long PlanStart { get; }

    /// <summary>The transfer opened: the server may hold part of the upload.</summary>
    public bool Opened => _opened;

    /// <summary>File offset up to which bytes were handed to the transfer.</summary>
    public long SentEnd => Interlocked.Read(ref _sentEnd);

    public void Start() => _pump = Task.Run(PumpAsync);

    /// <summary>More data was staged.</summary>
    public void Notify()
    {
        if (_signal.CurrentCount == 0)
        {
            _signal.Release();
        }
    }

    private async Task PumpAsync()
    {
        var ct = _cts.Token;
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            _lease = await _pool.LeaseAsync(SessionUse.Transfer, ct).ConfigureAwait(false);
            _transfer = await _lease.Session.OpenWriteAsync(Path, _mode, 0, ct).ConfigureAwait(false);
            _opened = true;
            _log.Log(FtpLogLevel.Debug, $"upload {Path}: streaming ({(_mode == FtpWriteMode.Create ? "STOR" : "APPE")}) while it is written");
            while (true)
            {
                var end = _data.Length;
                var sent = SentEnd;
                if (sent < end)
                {
                    var (count, missing) = _data.Read(sent, buffer.AsSpan(0, (int)Math.Min(ChunkSize, end - sent)));
                    if (count == 0 || missing > 0)
                    {
                        throw new InvalidOperationException($"upload {Path}: the staged data does not cover byte {sent}");
                    }

                    await _transfer.WriteAsync(buffer.AsMemory(0, count), ct).ConfigureAwait(false);
                    Interlocked.Add(ref _sentEnd, count);
                    continue;
                }

                if (_finishing)
                {
                    // No more writes come once finishing is set; a write that landed just before is still sent.
                    if (_data.Length > SentEnd)
                    {
                        continue;
                    }

                    return;
                }

                await _signal.WaitAsync(ct).ConfigureAwait(false);
            }
        }
#pragma warning disable CA1031 // the failure is handed to the owner, which falls back to the staged upload or reports it
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _failure = ex;
            if (!ct.IsCancellationRequested)
            {
                _log.Log(FtpLogLevel.Information, $"upload {Path}: streaming stopped after {SentEnd - PlanStart} bytes: {ex.Message}");
            }

            await CleanUpAsync(ex).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Ends the stream (the caller holds the file's gate, so no more writes come): waits for the transfer to open if
    /// it has not yet (bounded: streams never hold every transfer session, see <see cref="WriteManager"/>), sends the
    /// rest, waits for the
    /// server's 226 and runs <paramref name="verify"/> on the same session. Returns null on success, otherwise the
    /// failure (the stream is cleaned up either way; <see cref="Opened"/> says whether the server may hold a part).
    /// </summary>
    public async Task<Exception?> FinishAsync(Func<FtpSession, CancellationToken, Task> verify, CancellationToken ct)
    {
        _finishing = true;
        Notify();
        try
        {
            await _pump.WaitAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await AbortAsync().ConfigureAwait(false);
            throw;
        }

        if (_failure is not null)
        {
            ReleaseSlot();
            return _failure;
        }

        var lease = _lease!;
        try
        {
            await _transfer!.CompleteAsync(ct).ConfigureAwait(false);
            await verify(lease.Session, ct).ConfigureAwait(false);
            return null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            _failure = ex;
            if (PoolFailures.ShouldDropSession(ex, lease.Session.IsUsable))
            {
                lease.Fail(ex);
            }

            return ex;
        }
        finally
        {
            await _transfer!.DisposeAsync().ConfigureAwait(false); // aborts only if not completed
            await lease.DisposeAsync().ConfigureAwait(false);
            ReleaseSlot();
        }
    }

    /// <summary>Stops the stream and cuts its transfer (the server keeps what arrived).</summary>
    public async Task AbortAsync()
    {
        await _cts.CancelAsync().ConfigureAwait(false);
        try
        {
            await _pump.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // the pump observed its cancellation
        }

        ReleaseSlot();
    }

    private async Task CleanUpAsync(Exception reason)
    {
        if (_transfer is { } transfer)
        {
            try
            {
                await transfer.AbortAsync(CancellationToken.None).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // best effort: the session is dropped below when it broke
            catch (Exception ex)
#pragma warning restore CA1031
            {
                _log.Log(FtpLogLevel.Debug, $"upload {Path}: stopping the streamed transfer: {ex.Message}");
            }
        }

        if (_lease is { } lease)
        {
            if (reason is not OperationCanceledException && PoolFailures.ShouldDropSession(reason, lease.Session.IsUsable))
            {
                lease.Fail(reason);
            }

            await lease.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void ReleaseSlot()
    {
        if (Interlocked.Exchange(ref _slotReleased, 1) == 0)
        {
            _releaseSlot();
        }
    }
}
