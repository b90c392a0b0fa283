using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using FtpsMount.Core.FileSystem;
using FtpsMount.Core.Tests.Conformance;
using FtpsMount.Protocol;
using FtpsMount.Protocol.Tls;
using FtpsMount.Testing.ReferenceServers;
using Xunit.Abstractions;

namespace FtpsMount.Core.Tests.Figures;

/// <summary>
/// The Core alone over loopback vsftpd (explicit FTPS, TLS 1.3): sequential read of 256 MB next to curl in the same
/// run, cold random 4 KiB reads per second, and `ls` of a 5000-file directory cold and warm. Figures are printed for
/// the notes, never asserted (shared 2-core machines); what is asserted is that every byte and entry is right.
/// </summary>
[Collection(CoreConformanceCollection.Name)]
public sealed class CoreFiguresTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Sequential_random_and_listing_figures()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var ct = timeout.Token;
        await using var server = await ReferenceServer.StartAsync(ReferenceServerKind.Vsftpd, FtpsMode.Explicit, ct);

        var big = new byte[256 * 1024 * 1024];
        new Random(1).NextBytes(big);
        server.SeedFile("/big.bin", big);
        var expected = SHA256.HashData(big);
        var random = new byte[64 * 1024 * 1024];
        new Random(2).NextBytes(random);
        server.SeedFile("/random.bin", random);
        for (var i = 0; i < 5000; i++)
        {
            server.SeedFile($"/many/file{i:0000}.txt", [(byte)(i % 251)]);
        }

        // Sequential: 128 KiB reads, as the kernel issues them through FUSE.
        await using (var fs = new RemoteFileSystem(server.CreateOptions(TlsVersion.Tls13), server.Credentials, new CoreOptions()))
        {
            var clock = Stopwatch.StartNew();
            var handle = await fs.OpenAsync("/big.bin", FsOpenMode.Read, truncate: false, ct);
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[128 * 1024];
            long offset = 0;
            int n;
            while ((n = await fs.ReadAsync(handle, offset, buffer, ct)) > 0)
            {
                sha.AppendData(buffer, 0, n);
                offset += n;
            }

            await fs.ReleaseAsync(handle, ct);
            var ours = clock.Elapsed;
            Assert.Equal(expected, sha.GetHashAndReset());
            var curl = await CurlAsync(server, "/big.bin", ct);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"sequential 256 MB: core {ours.TotalSeconds:0.00} s, curl {curl.TotalSeconds:0.00} s, ratio {ours / curl:0.00}"));
        }

        // Cold random 4 KiB reads (fresh mount, so nothing cached).
        await using (var fs = new RemoteFileSystem(server.CreateOptions(TlsVersion.Tls13), server.Credentials, new CoreOptions()))
        {
            var handle = await fs.OpenAsync("/random.bin", FsOpenMode.Read, truncate: false, ct);
            var rng = new Random(3);
            var buffer = new byte[4096];
            const int reads = 300;
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < reads; i++)
            {
                var at = (long)rng.Next(0, (random.Length / 4096) - 1) * 4096;
                Assert.Equal(4096, await fs.ReadAsync(handle, at, buffer, ct));
                Assert.True(buffer.AsSpan().SequenceEqual(random.AsSpan((int)at, 4096)));
            }

            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"cold random 4 KiB reads, 1 reader: {reads / clock.Elapsed.TotalSeconds:0} reads/s"));
            await fs.ReleaseAsync(handle, ct);
        }

        // Listing 5000 files: cold (fresh mount), then warm (cached).
        await using (var fs = new RemoteFileSystem(server.CreateOptions(TlsVersion.Tls13), server.Credentials, new CoreOptions()))
        {
            var clock = Stopwatch.StartNew();
            var cold = await fs.ReadDirectoryAsync("/many", ct);
            var coldTime = clock.Elapsed;
            clock.Restart();
            var warm = await fs.ReadDirectoryAsync("/many", ct);
            foreach (var entry in warm)
            {
                await fs.GetAttributesAsync("/many/" + entry.Name, ct);
            }

            var warmTime = clock.Elapsed;
            Assert.Equal(5000, cold.Count);
            Assert.Equal(5000, warm.Count);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"list 5000 files: cold {coldTime.TotalMilliseconds:0} ms, warm (list + 5000 stats) {warmTime.TotalMilliseconds:0} ms"));
        }
    }

    private static async Task<TimeSpan> CurlAsync(ReferenceServer server, string path, CancellationToken ct)
    {
        var netrc = Path.Combine(server.InstanceDirectory, "figures-netrc");
        await File.WriteAllTextAsync(netrc, $"machine localhost login {server.User} password {server.Password}\n", ct);
        var start = new ProcessStartInfo("curl") { RedirectStandardError = true };
        foreach (var a in new[] { "-sS", "--ssl-reqd", "--cacert", server.CaCertificatePath, "--netrc-file", netrc, "-o", "/dev/null", $"ftp://localhost:{server.Port}{path}" })
        {
            start.ArgumentList.Add(a);
        }

        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var stderr = await process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        Assert.True(process.ExitCode == 0, "curl failed: " + stderr);
        return clock.Elapsed;
    }
}
