using System.Diagnostics;
using FtpsMount.Core;
using FtpsMount.Core.FileSystem;
using FtpsMount.Protocol;
using FtpsMount.Protocol.Tls;
using FtpsMount.Testing.Faults;
using FtpsMount.Testing.ReferenceServers;
using Xunit.Abstractions;

namespace FtpsMount.Drills.Tests.Faults;

/// <summary>
/// Connections cut by a test-owned TCP proxy (<see cref="TcpCutProxy"/>, 127.0.0.2 → vsftpd on 127.0.0.1) in the middle
/// of the data channel and of the control channel during reads, uploads and listings, and a server that stops answering
/// (the proxy holds every byte): reads complete with identical bytes, uploads complete or report, a silent server ends
/// in an error within the configured timeouts and the mount recovers once it answers again.
/// </summary>
[Collection(DrillCollection.Name)]
public sealed class ConnectionCutDrills(ITestOutputHelper output) : IAsyncLifetime
{
    private ReferenceServer _server = null!;
    private TcpCutProxy _proxy = null!;
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(4));

    public async Task InitializeAsync()
    {
        _server = await ReferenceServer.StartAsync(ReferenceServerKind.Vsftpd, FtpsMode.Explicit, _timeout.Token);
        _proxy = TcpCutProxy.Start(_server.Port, _server.PassivePortFirst, _server.PassivePortLast);
    }

    public async Task DisposeAsync()
    {
        await _proxy.DisposeAsync();
        await _server.DisposeAsync();
        _timeout.Dispose();
    }

    /// <summary>Client options through the proxy: its address and port, the server's certificate pinned (the name
    /// 127.0.0.2 is not in it).</summary>
    private FtpsOptions ThroughProxy(TimeSpan? timeout = null) => Drill.WithTimeouts(
        _server.CreateOptions(TlsVersion.Tls13, pinFingerprint: true) with { Host = _proxy.Address.ToString(), Port = _proxy.ControlPort },
        timeout);

    [Fact]
    public async Task Reads_with_data_and_control_connections_cut_mid_transfer_return_identical_bytes()
    {
        var size = 32 * 1024 * 1024;
        var data = Drill.RandomBytes(size, 11);
        _server.SeedFile("/cut.bin", data);
        var log = new CollectingLog(output);
        long bytesChecked = 0;
        var rounds = Drill.Soak ? 10 : 2;
        for (var round = 0; round < rounds; round++)
        {
            await using var fs = Drill.Core(_server, Drill.Options(), ThroughProxy(), log);
            var faultsBefore = _proxy.FaultsInjected;
            var cuts = new[] { size / 5, 2 * size / 5, 3 * size / 5 };
            var next = 0;
            var read = await Drill.ReadAllAsync(fs, "/cut.bin", 128 * 1024, _timeout.Token, progress: done =>
            {
                if (next < cuts.Length && done >= cuts[next])
                {
                    // Data cut mid-stream on the first two marks, the control connection of the transfer on the third.
                    if (next < 2)
                    {
                        _proxy.CutAfter(ProxyChannel.Data, 64 * 1024);
                    }
                    else
                    {
                        _proxy.Cut(ProxyChannel.Control);
                    }

                    next++;
                }
            });
            Assert.True(data.AsSpan().SequenceEqual(read), $"round {round}: bytes differ after cuts\n{log.Text()}");
            bytesChecked += read.Length;
            Assert.True(_proxy.FaultsInjected - faultsBefore >= 2, $"round {round}: only {_proxy.FaultsInjected - faultsBefore} cuts landed (the read was faster than the proxy?)");
        }

        output.WriteLine($"FIGURE cut connections during reads: {bytesChecked} bytes checked, {_proxy.FaultsInjected} connections cut, {_proxy.DataConnections} data connections through the proxy");
    }

    [Fact]
    public async Task An_upload_whose_data_connection_is_cut_is_completed_or_reported_never_short()
    {
        var size = 16 * 1024 * 1024;
        var uploads = Drill.Soak ? 10 : 3;
        var log = new CollectingLog(output);
        await using var fs = Drill.Core(_server, Drill.Options(), ThroughProxy(), log);
        var reported = 0;
        for (var i = 0; i < uploads; i++)
        {
            var data = Drill.RandomBytes(size, 20 + i);
            var path = $"/up{i}.bin";
            var armed = false;
            try
            {
                await Drill.WriteAllAsync(fs, path, data, 256 * 1024, _timeout.Token, progress: done =>
                {
                    if (!armed && done >= size / 3)
                    {
                        armed = true;
                        if (i % 2 == 0)
                        {
                            _proxy.CutAfter(ProxyChannel.Data, 512 * 1024);
                        }
                        else
                        {
                            _proxy.Cut(ProxyChannel.Control);
                        }
                    }
                });
            }
            catch (FsException e)
            {
                reported++;
                output.WriteLine($"{path}: reported {e.Error}: {e.Message}");
                Assert.Empty(await fs.DrainAsync(TimeSpan.FromSeconds(60), _timeout.Token));
            }

            Assert.True(data.AsSpan().SequenceEqual(File.ReadAllBytes(_server.GetLocalPath(path))), $"{path}: the server's file differs from what was written\n{log.Text()}");
        }

        output.WriteLine($"FIGURE cut connections during uploads: {uploads} uploads of {size} bytes checked on the server's disk, {_proxy.FaultsInjected} connections cut, {reported} reported from close() then completed by drain");
    }

    [Fact]
    public async Task A_server_that_stops_answering_fails_within_the_timeouts_and_is_used_again_afterwards()
    {
        _server.SeedFile("/s/a.txt", "hello"u8);
        var timeout = TimeSpan.FromSeconds(2);
        await using var fs = Drill.Core(_server, Drill.Options(retryDeadline: TimeSpan.FromSeconds(3)) with
        {
            Cache = new CacheOptions { DirCacheTtl = TimeSpan.Zero, AttrTtl = TimeSpan.Zero, NegativeTtl = TimeSpan.Zero },
        }, ThroughProxy(timeout));
        Assert.Single(await fs.ReadDirectoryAsync("/s", _timeout.Token));

        var sw = Stopwatch.StartNew();
        FsException error;
        using (_proxy.Stall(ProxyChannel.Control))
        {
            error = await Assert.ThrowsAsync<FsException>(() => fs.ReadDirectoryAsync("/s", _timeout.Token));
        }

        var elapsed = sw.Elapsed;
        output.WriteLine($"silent server: {error.Error} after {elapsed.TotalSeconds:F1}s: {error.Message}");
        Assert.True(elapsed < TimeSpan.FromSeconds(40), $"took {elapsed}");
        Assert.Single(await fs.ReadDirectoryAsync("/s", _timeout.Token));
        output.WriteLine($"FIGURE silent server: listing failed with {error.Error} after {elapsed.TotalSeconds:F1}s (timeouts {timeout.TotalSeconds}s, retry deadline 3s), next listing worked");
    }
}
