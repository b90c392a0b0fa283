namespace FtpsMount.Core.FileSystem;

/// <summary>Conveniences the OS bindings share on top of <see cref="IRemoteFileSystem"/>.</summary>
public static class RemoteFileSystemExtensions
{
    /// <summary>Reads until <paramref name="buffer"/> is full or the file ends: both kernels (FUSE and Dokan) take a short
    /// read as end of file, while one <see cref="IRemoteFileSystem.ReadAsync"/> may return less (a block boundary).</summary>
    public static async Task<int> ReadFullyAsync(this IRemoteFileSystem fs, FsFileHandle handle, long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fs);
        var total = 0;
        while (total < buffer.Length)
        {
            var n = await fs.ReadAsync(handle, offset + total, buffer[total..], cancellationToken).ConfigureAwait(false);
            if (n <= 0)
            {
                break;
            }

            total += n;
        }

        return total;
    }
}
