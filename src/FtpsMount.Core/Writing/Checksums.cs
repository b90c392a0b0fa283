using System.Buffers;
using System.Security.Cryptography;

namespace FtpsMount.Core.Writing;

/// <summary>
/// Local checksums of staged data in the algorithms servers offer for upload verification (HASH, XSHA256/XSHA1,
/// XMD5, XCRC), as lowercase hex like <see cref="Protocol.FtpSession.GetChecksumAsync"/> returns. These detect
/// transfer damage, not tampering, so MD5 and SHA-1 are fine here.
/// </summary>
internal static class Checksums
{
    /// <summary>Whether <paramref name="algorithm"/> (as named by <see cref="Protocol.FtpSession.ChecksumAlgorithms"/>) can
    /// be computed locally.</summary>
    public static bool IsSupported(string algorithm) => algorithm is "SHA-512" or "SHA-256" or "SHA-1" or "MD5" or "CRC32";

    /// <summary>The checksum of bytes [0, <paramref name="length"/>) of <paramref name="data"/> (which must hold them all).</summary>
    public static string Compute(StagingBuffer data, long length, string algorithm, CancellationToken cancellationToken)
    {
        using var hash = Create(algorithm);
        var buffer = ArrayPool<byte>.Shared.Rent(1024 * 1024);
        try
        {
            for (long position = 0; position < length;)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var want = (int)Math.Min(buffer.Length, length - position);
                var (count, missing) = data.Read(position, buffer.AsSpan(0, want));
                if (count == 0 || missing > 0)
                {
                    throw new InvalidOperationException($"the staged data of {data.Name} ends or starts early at {position}");
                }

                hash.Append(buffer.AsSpan(0, count));
                position += count;
            }

            return hash.HexDigest();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The checksum of a byte span (tests and small data).</summary>
    public static string Compute(ReadOnlySpan<byte> data, string algorithm)
    {
        using var hash = Create(algorithm);
        hash.Append(data);
        return hash.HexDigest();
    }

    private static Hasher Create(string algorithm) => algorithm switch
    {
        "SHA-512" => new IncrementalHasher(IncrementalHash.CreateHash(HashAlgorithmName.SHA512)),
        "SHA-256" => new IncrementalHasher(IncrementalHash.CreateHash(HashAlgorithmName.SHA256)),
#pragma warning disable CA5350, CA5351 // integrity check against what the server offers, not a security use
        "SHA-1" => new IncrementalHasher(IncrementalHash.CreateHash(HashAlgorithmName.SHA1)),
        "MD5" => new IncrementalHasher(IncrementalHash.CreateHash(HashAlgorithmName.MD5)),
#pragma warning restore CA5350, CA5351
        "CRC32" => new Crc32Hasher(),
        _ => throw new NotSupportedException($"checksum algorithm {algorithm}"),
    };

    private abstract class Hasher : IDisposable
    {
        public abstract void Append(ReadOnlySpan<byte> data);
        public abstract string HexDigest();
        public virtual void Dispose()
        {
        }
    }

    private sealed class IncrementalHasher(IncrementalHash hash) : Hasher
    {
        public override void Append(ReadOnlySpan<byte> data) => hash.AppendData(data);
        public override string HexDigest() => Convert.ToHexStringLower(hash.GetHashAndReset());
        public override void Dispose() => hash.Dispose();
    }

    /// <summary>CRC-32 as XCRC reports it (IEEE 802.3: reflected polynomial 0xEDB88320, initial and final XOR all ones).</summary>
    private sealed class Crc32Hasher : Hasher
    {
        private static readonly uint[] Table = BuildTable();
        private uint _crc = 0xFFFFFFFFu;

        public override void Append(ReadOnlySpan<byte> data)
        {
            var crc = _crc;
            foreach (var b in data)
            {
                crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
            }

            _crc = crc;
        }

        public override string HexDigest() => (_crc ^ 0xFFFFFFFFu).ToString("x8", System.Globalization.CultureInfo.InvariantCulture);

        private static uint[] BuildTable()
        {
            var table = new uint[256];
            for (uint i = 0; i < 256; i++)
            {
                var entry = i;
                for (var bit = 0; bit < 8; bit++)
                {
                    entry = (entry & 1) != 0 ? (entry >> 1) ^ 0xEDB88320u : entry >> 1;
                }

                table[i] = entry;
            }

            return table;
        }
    }
}
