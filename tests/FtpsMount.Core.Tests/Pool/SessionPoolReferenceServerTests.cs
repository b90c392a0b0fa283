using System.Security.Cryptography;
using FtpsMount.Core.Pool;
using FtpsMount.Protocol;
using FtpsMount.Protocol.Tls;
using FtpsMount.Testing.ReferenceServers;
using Xunit.Abstractions;

namespace FtpsMount.Core.Tests.Pool;

/// <summary>Reference-server tests run one class at a time: each server forks per connection on small machines.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PoolReferenceServerCollection
{
    public const string Name = "pool reference servers";
}

/// <summary>
/// The pool over real servers: several control connections at once, each with its own TLS session that its data
/// connections must resume (vsftpd require_ssl_reuse, proftpd's default) — on TLS 1.3, where a per-host session
/// cache (SslStream on Linux) fails proftpd.
/// </summary>
[Collection(PoolReferenceServerCollection.Name)]
public sealed class SessionPoolReferenceServerTests(ITestOutputHelper output)
{
    private const int Connections = 3;
    private const int Files = 12;

    [Theory]
    [InlineData(ReferenceServerKind.Vsftpd, TlsVersion.Tls13)]
    [InlineData(ReferenceServerKind.Proftpd, TlsVersion.Tls13)]
    [InlineData(ReferenceServerKind.Proftpd, TlsVersion.Tls12)]
    [InlineData(ReferenceServerKind.PureFtpd, TlsVersion.Tls13)]
    public async Task Parallel_listings_and_downloads_share_N_sessions(ReferenceServerKind kind, TlsVersion tls)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var ct = timeout.Token;
        // A missing server is a failure, not a skip: the test command installs them (tests/scripts/install-test-deps.sh).
        var server = await ReferenceServer.StartAsync(kind, FtpsMode.Explicit, ct).WaitAsync(TimeSpan.FromSeconds(60), ct);

        await using (server)
        {
            var contents = new Dictionary<string, byte[]>();
            for (var i = 0; i < Files; i++)
            {
                var path = $"/pool/f{i:00}.bin";
                contents[path] = RandomNumberGenerator.GetBytes(48 * 1024 + i);
                server.SeedFile(path, contents[path]);
            }

            var log = new ListLogger();
            var options = server.CreateOptions(tls, pinFingerprint: true);
            var pool = new SessionPool(options, server.Credentials, new PoolSettings { Connections = Connections }, log);
            try
            {
                var work = new List<Task>();
                for (var round = 0; round < 2; round++)
                {
                    foreach (var (path, expected) in contents)
                    {
                        work.Add(Task.Run(async () =>
                        {
                            var data = await pool.ExecuteAsync(SessionUse.Transfer, (s, c) => DownloadAsync(s, path, c), idempotent: true, ct);
                            Assert.Equal(expected, data);
                        }, ct));
                    }

                    work.Add(Task.Run(async () =>
                    {
                        var listing = await pool.ExecuteAsync(SessionUse.Metadata, (s, c) => s.ListAsync("/pool", c), idempotent: true, ct);
                        Assert.Equal(Files, listing.Entries.Count(e => e.Name.EndsWith(".bin", StringComparison.Ordinal)));
                    }, ct));
                }

                output.WriteLine($"started after {clock.ElapsedMilliseconds} ms");
                await Task.WhenAll(work).WaitAsync(ct);
                output.WriteLine($"work done after {clock.ElapsedMilliseconds} ms");

                var stats = pool.Stats;
                output.WriteLine($"{server}: {stats}");
                Assert.Equal(Connections, stats.Created); // all N used (N callers arrived at once), none replaced
                Assert.Equal(0, stats.Dropped);
                Assert.Equal(0, stats.Retries);
            }
            catch
            {
                output.WriteLine(log.ToString());
                output.WriteLine(server.ReadLogs());
                throw;
            }
            finally
            {
                await pool.DisposeAsync();
                output.WriteLine($"pool disposed after {clock.ElapsedMilliseconds} ms");
            }
        }
    }

    private static async Task<byte[]> DownloadAsync(FtpSession session, string path, CancellationToken ct)
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
}
