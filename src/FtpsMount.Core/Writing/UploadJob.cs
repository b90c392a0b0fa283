namespace FtpsMount.Core.Writing;

/// <summary>One upload to perform, and what is known about a partial earlier attempt on the server.</summary>
internal sealed class UploadJob(string path, StagingBuffer data, long length, long planStart)
{
    public string Path { get; } = path;
    public StagingBuffer Data { get; } = data;

    /// <summary>The size the file must have on the server afterwards.</summary>
    public long Length { get; } = length;

    /// <summary>0: the whole file (STOR). Otherwise the server already holds bytes [0, PlanStart) of the content and the
    /// rest is appended (APPE).</summary>
    public long PlanStart { get; } = planStart;

    /// <summary>An upload transfer of this content opened earlier and did not complete: the server may hold a partial
    /// upload (from <see cref="PlanStart"/> for an append, from 0 for a whole-file STOR). Updated by the upload.</summary>
    public bool PartialOnServer { get; set; }

    /// <summary>With <see cref="PartialOnServer"/>: the staged content below this offset is still what was sent, so a
    /// partial upload up to here may be continued rather than redone.</summary>
    public long PartialValidTo { get; set; } = long.MaxValue;
}

/// <summary>The upload completed but the server's size or checksum does not match the staged data.</summary>
internal sealed class UploadVerificationException(string message) : Exception(message);

/// <summary>The server holds something an append cannot continue from (the file shrank, vanished, or grew beyond
/// what was sent): the whole file must be uploaded.</summary>
internal sealed class FullUploadRequiredException(string message) : Exception(message);

/// <summary>A streamed upload never got its transfer started (no session came free before the flush).</summary>
internal sealed class StreamNotStartedException() : Exception("the streamed upload had not started");
