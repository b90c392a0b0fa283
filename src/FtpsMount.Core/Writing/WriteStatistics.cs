namespace FtpsMount.Core.Writing;

/// <summary>Counters of a <see cref="WriteManager"/>, for <c>ftpsmount status</c> and tests.</summary>
/// <param name="BytesUploaded">Bytes sent in upload transfers that ended verified (resent bytes count again).</param>
/// <param name="Uploads">Verified uploads (one per flush or close that had something to upload).</param>
/// <param name="Verifications">Uploads whose size the server confirmed.</param>
/// <param name="ChecksumVerifications">Uploads whose server checksum also matched the staged data.</param>
/// <param name="Resumes">Upload attempts that continued a cut transfer from the size the server had (REST+STOR or APPE).</param>
/// <param name="Failures">Uploads that failed (each reported to a caller or kept for a background retry).</param>
/// <param name="StreamedUploads">Uploads that streamed while the file was being written.</param>
/// <param name="BytesDownloaded">Original bytes fetched for writes into the middle of a file and for reads of unstaged ranges.</param>
/// <param name="PendingUploads">Closed files whose data is not on the server yet (write-back or a failed upload).</param>
/// <param name="OpenFiles">Files with at least one open writer.</param>
/// <param name="StagedBytes">Bytes currently staged (memory and disk).</param>
public sealed record WriteStatistics(
    long BytesUploaded,
    long Uploads,
    long Verifications,
    long ChecksumVerifications,
    long Resumes,
    long Failures,
    long StreamedUploads,
    long BytesDownloaded,
    int PendingUploads,
    int OpenFiles,
    long StagedBytes);

/// <summary>The live counters behind <see cref="WriteStatistics"/> (interlocked).</summary>
internal sealed class WriteCounters
{
    private long _bytesUploaded;
    private long _uploads;
    private long _verifications;
    private long _checksumVerifications;
    private long _resumes;
    private long _failures;
    private long _streamed;
    private long _bytesDownloaded;

    public void Uploaded(long bytes)
    {
        Interlocked.Add(ref _bytesUploaded, bytes);
        Interlocked.Increment(ref _uploads);
    }

    public void Verified() => Interlocked.Increment(ref _verifications);
    public void ChecksumVerified() => Interlocked.Increment(ref _checksumVerifications);
    public void Resumed() => Interlocked.Increment(ref _resumes);
    public void Failed() => Interlocked.Increment(ref _failures);
    public void Streamed() => Interlocked.Increment(ref _streamed);
    public void Downloaded(long bytes) => Interlocked.Add(ref _bytesDownloaded, bytes);

    public WriteStatistics Snapshot(int pending, int open, long staged) => new(
        Interlocked.Read(ref _bytesUploaded),
        Interlocked.Read(ref _uploads),
        Interlocked.Read(ref _verifications),
        Interlocked.Read(ref _checksumVerifications),
        Interlocked.Read(ref _resumes),
        Interlocked.Read(ref _failures),
        Interlocked.Read(ref _streamed),
        Interlocked.Read(ref _bytesDownloaded),
        pending,
        open,
        staged);
}
