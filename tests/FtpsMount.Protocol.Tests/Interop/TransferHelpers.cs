namespace FtpsMount.Protocol.Tests.Interop;

/// <summary>Whole-file and ranged transfers over one session, shared by the interop and scripted tests.</summary>
internal static class TransferHelpers
{
    public static async Task UploadAsync(FtpSession session, string path, byte[] content, FtpWriteMode mode, CancellationToken ct, long offset = 0)
    {
        var transfer = await session.OpenWriteAsync(path, mode, offset, ct);
        await using (transfer)
        {
            for (var i = 0; i < content.Length; i += 100_000)
            {
                await transfer.WriteAsync(content.AsMemory(i, Math.Min(100_000, content.Length - i)), ct);
            }

            var reply = await transfer.CompleteAsync(ct);
            Assert.True(reply.IsPositiveCompletion, reply.ToString());
        }
    }

    public static async Task<byte[]> DownloadAsync(FtpSession session, string path, CancellationToken ct)
    {
        var transfer = await session.OpenReadAsync(path, 0, ct);
        await using (transfer)
        {
            using var buffer = new MemoryStream();
            await transfer.CopyToAsync(buffer, ct);
            await transfer.CompleteAsync(ct);
            return buffer.ToArray();
        }
    }

    public static async Task<byte[]> ReadRangeAsync(FtpSession session, string path, long offset, int length, CancellationToken ct)
    {
        var transfer = await session.OpenReadAsync(path, offset, ct);
        await using (transfer)
        {
            var result = new byte[length];
            var got = 0;
            while (got < length)
            {
                var n = await transfer.ReadAsync(result.AsMemory(got), ct);
                Assert.NotEqual(0, n);
                got += n;
            }

            await transfer.AbortAsync(ct);
            return result;
        }
    }
}
