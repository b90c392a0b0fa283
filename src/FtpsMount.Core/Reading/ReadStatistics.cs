namespace FtpsMount.Core.Reading;

/// <summary>
/// What the read path of one mount has done so far (a snapshot; <see cref="BlockFetcher.Statistics"/> makes a new one).
/// </summary>
/// <param name="BytesDownloaded">Bytes received on data connections (including bytes of blocks cut short and fetched again).</param>
/// <param name="BlocksFetched">Blocks downloaded whole and handed to the cache.</param>
/// <param name="TransfersStarted">RETR commands sent (REST+RETR counts once).</param>
/// <param name="TransfersCompleted">Transfers read to the end of the file and confirmed by the server (226).</param>
/// <param name="EarlyStops">Transfers stopped by us (ABOR) once they had delivered what was wanted.</param>
/// <param name="Retries">RETRs sent again after a failed one (transient failures; resumed at the first block not yet delivered).</param>
/// <param name="SessionsLost">Fetches after which their session could not be reused (the pool closed it).</param>
/// <param name="JoinedFetches">Block requests that waited for a fetch already under way instead of starting one.</param>
/// <param name="RandomFetches">Fetch runs started for random reads (only the blocks a request needs).</param>
/// <param name="PumpsStarted">Read-ahead streams started for sequential readers.</param>
/// <param name="ParallelRanges">Of <paramref name="PumpsStarted"/>, those started while another pump of the same reader was running.</param>
/// <param name="PumpsStoppedBySeek">Pumps stopped because their reader moved elsewhere.</param>
/// <param name="PumpsStoppedIdle">Pumps that gave their session back because their reader stopped asking for more.</param>
/// <param name="PumpsYielded">Throttled pumps that gave their session back because others were waiting for one.</param>
/// <param name="FetchesCancelled">Random fetches stopped because every read waiting for them was cancelled.</param>
/// <param name="FetchesFailed">Fetches that ended with an error reported to their waiters.</param>
/// <param name="FilesChanged">Fetches that found the remote file shorter than its known size (cached data dropped).</param>
public sealed record ReadStatistics(
    long BytesDownloaded,
    long BlocksFetched,
    long TransfersStarted,
    long TransfersCompleted,
    long EarlyStops,
    long Retries,
    long SessionsLost,
    long JoinedFetches,
    long RandomFetches,
    long PumpsStarted,
    long ParallelRanges,
    long PumpsStoppedBySeek,
    long PumpsStoppedIdle,
    long PumpsYielded,
    long FetchesCancelled,
    long FetchesFailed,
    long FilesChanged);

/// <summary>The live counters behind <see cref="ReadStatistics"/>; updated with Interlocked from any thread.</summary>
internal sealed class ReadCounters
{
    private long _bytesDownloaded;
    private long _blocksFetched;
    private long _transfersStarted;
    private long _transfersCompleted;
    private long _earlyStops;
    private long _retries;
    private long _sessionsLost;
    private long _joinedFetches;
    private long _randomFetches;
    private long _pumpsStarted;
    private long _parallelRanges;
    private long _pumpsStoppedBySeek;
    private long _pumpsStoppedIdle;
    private long _pumpsYielded;
    private long _fetchesCancelled;
    private long _fetchesFailed;
    private long _filesChanged;

    public void Downloaded(int bytes) => Interlocked.Add(ref _bytesDownloaded, bytes);
    public void BlockFetched() => Interlocked.Increment(ref _blocksFetched);
    public void TransferStarted() => Interlocked.Increment(ref _transfersStarted);
    public void TransferCompleted() => Interlocked.Increment(ref _transfersCompleted);
    public void EarlyStop() => Interlocked.Increment(ref _earlyStops);
    public void Retry() => Interlocked.Increment(ref _retries);
    public void SessionLost() => Interlocked.Increment(ref _sessionsLost);
    public void Joined() => Interlocked.Increment(ref _joinedFetches);
    public void RandomFetch() => Interlocked.Increment(ref _randomFetches);
    public void PumpStarted(bool parallel)
    {
        Interlocked.Increment(ref _pumpsStarted);
        if (parallel)
        {
            Interlocked.Increment(ref _parallelRanges);
        }
    }

    public void PumpStoppedBySeek() => Interlocked.Increment(ref _pumpsStoppedBySeek);
    public void PumpStoppedIdle() => Interlocked.Increment(ref _pumpsStoppedIdle);
    public void PumpYielded() => Interlocked.Increment(ref _pumpsYielded);
    public void FetchCancelled() => Interlocked.Increment(ref _fetchesCancelled);
    public void FetchFailed() => Interlocked.Increment(ref _fetchesFailed);
    public void FileChanged() => Interlocked.Increment(ref _filesChanged);

    public ReadStatistics Snapshot() => new(
        Interlocked.Read(ref _bytesDownloaded),
        Interlocked.Read(ref _blocksFetched),
        Interlocked.Read(ref _transfersStarted),
        Interlocked.Read(ref _transfersCompleted),
        Interlocked.Read(ref _earlyStops),
        Interlocked.Read(ref _retries),
        Interlocked.Read(ref _sessionsLost),
        Interlocked.Read(ref _joinedFetches),
        Interlocked.Read(ref _randomFetches),
        Interlocked.Read(ref _pumpsStarted),
        Interlocked.Read(ref _parallelRanges),
        Interlocked.Read(ref _pumpsStoppedBySeek),
        Interlocked.Read(ref _pumpsStoppedIdle),
        Interlocked.Read(ref _pumpsYielded),
        Interlocked.Read(ref _fetchesCancelled),
        Interlocked.Read(ref _fetchesFailed),
        Interlocked.Read(ref _filesChanged));
}
