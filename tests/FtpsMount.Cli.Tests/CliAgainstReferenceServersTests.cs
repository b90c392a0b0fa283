using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using FtpsMount.Protocol;
using FtpsMount.Testing.ReferenceServers;
using Xunit.Abstractions;

namespace FtpsMount.Cli.Tests;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CliServerCollection
{
    public const string Name = "cli against reference servers";
}

/// <summary>
/// The `ftpsmount` executable end to end against each reference server: probe must exit 0 and report a resumed
/// TLS session where the server requires it; cat must reproduce files byte for byte, whole and ranged; bad trust
/// must fail with the certificate's fingerprint and exit code 4. The password reaches the child only through
/// FTPSMOUNT_PASSWORD, never its command line.
/// </summary>
[Collection(CliServerCollection.Name)]
public sealed class CliAgainstReferenceServersTests(ITestOutputHelper output)
{
    public static TheoryData<ReferenceServerKind, FtpsMode> Servers() => new()
    {
        { ReferenceServerKind.Vsftpd, FtpsMode.Explicit },
        { ReferenceServerKind.Vsftpd, FtpsMode.Implicit },
        { ReferenceServerKind.Proftpd, FtpsMode.Explicit },
        { ReferenceServerKind.Proftpd, FtpsMode.Implicit },
        { ReferenceServerKind.PureFtpd, FtpsMode.Explicit },
    };

    private static string Url(ReferenceServer server, string path) =>
        $"{(server.Mode == FtpsMode.Implicit ? "ftps" : "ftpes")}://{server.User}@localhost:{server.Port}{path}";

    [Theory]
    [MemberData(nameof(Servers))]
    public async Task Probe_and_cat_work(ReferenceServerKind kind, FtpsMode mode)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var server = await ReferenceServer.StartAsync(kind, mode, timeout.Token);
        var content = RandomNumberGenerator.GetBytes((5 * 1024 * 1024) + 123);
        server.SeedFile("/data/file.bin", content);

        var probe = await CliRunner.RunAsync(server.Password, timeout.Token, "probe", Url(server, "/data"), "--ca-file", server.CaCertificatePath);
        output.WriteLine(probe.StdoutText);
        Assert.True(probe.ExitCode == 0, probe.StderrText);
        Assert.Contains("file.bin", probe.StdoutText, StringComparison.Ordinal);
        Assert.Contains("result:       OK", probe.StdoutText, StringComparison.Ordinal);
        if (server.RequiresSessionReuse)
        {
            Assert.Contains("TLS session resumed from the control connection", probe.StdoutText, StringComparison.Ordinal);
        }

        var cat = await CliRunner.RunAsync(server.Password, timeout.Token, "cat", Url(server, "/data/file.bin"), "--ca-file", server.CaCertificatePath);
        Assert.True(cat.ExitCode == 0, cat.StderrText);
        Assert.Equal(content, cat.Stdout);

        var ranged = await CliRunner.RunAsync(server.Password, timeout.Token, "cat", Url(server, "/data/file.bin"), "--ca-file", server.CaCertificatePath, "--offset", "1000001", "--length", "77777");
        Assert.True(ranged.ExitCode == 0, ranged.StderrText);
        Assert.Equal(content.AsSpan(1000001, 77777).ToArray(), ranged.Stdout);

        var ls = await CliRunner.RunAsync(server.Password, timeout.Token, "ls", Url(server, "/data"), "--ca-file", server.CaCertificatePath);
        Assert.True(ls.ExitCode == 0, ls.StderrText);
        Assert.Contains(content.Length.ToString(CultureInfo.InvariantCulture) + " ", ls.StdoutText, StringComparison.Ordinal);

        foreach (var run in new[] { probe, cat, ranged, ls })
        {
            Assert.DoesNotContain(server.Password, run.StdoutText + run.StderrText, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Untrusted_certificate_fails_with_its_fingerprint_then_pinning_it_works()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var server = await ReferenceServer.StartAsync(ReferenceServerKind.Vsftpd, FtpsMode.Explicit, timeout.Token);
        var refused = await CliRunner.RunAsync(server.Password, timeout.Token, "probe", Url(server, "/"));
        Assert.Equal(ExitCodes.Security, refused.ExitCode);
        Assert.Contains(server.CertificateFingerprint, refused.StderrText, StringComparison.Ordinal);
        Assert.Contains("--fingerprint", refused.StderrText, StringComparison.Ordinal);

        var pinned = await CliRunner.RunAsync(server.Password, timeout.Token, "probe", Url(server, "/"), "--fingerprint", server.CertificateFingerprint);
        Assert.True(pinned.ExitCode == 0, pinned.StderrText);
        Assert.Contains("pinned fingerprint matches", pinned.StdoutText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wrong_password_exits_with_the_login_code()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var server = await ReferenceServer.StartAsync(ReferenceServerKind.Proftpd, FtpsMode.Explicit, timeout.Token);
        var result = await CliRunner.RunAsync("not-the-password", timeout.Token, "ls", Url(server, "/"), "--ca-file", server.CaCertificatePath);
        Assert.Equal(ExitCodes.Login, result.ExitCode);
        Assert.Contains("Login refused", result.StderrText, StringComparison.Ordinal);
    }

    /// <summary>Not a timed assertion: prints `ftpsmount cat` of 256 MB next to curl fetching the same file in
    /// the same run (figures for the notes and README); it asserts only that both produced the same bytes.</summary>
    [Fact]
    public async Task Cat_of_256_MB_next_to_curl()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await using var server = await ReferenceServer.StartAsync(ReferenceServerKind.Vsftpd, FtpsMode.Explicit, timeout.Token);
        var content = new byte[256 * 1024 * 1024];
        new Random(42).NextBytes(content);
        server.SeedFile("/big.bin", content);
        var expected = Convert.ToHexStringLower(SHA256.HashData(content));
        content = [];

        var netrc = Path.Combine(server.InstanceDirectory, "curl-netrc");
        await File.WriteAllTextAsync(netrc, $"machine localhost login {server.User} password {server.Password}\n", timeout.Token);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(netrc, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        for (var round = 0; round < 2; round++)
        {
            var ours = await CliRunner.RunToHashAsync(server.Password, timeout.Token, "cat", Url(server, "/big.bin"), "--ca-file", server.CaCertificatePath);
            var curl = await CliRunner.RunProcessToHashAsync("curl", timeout.Token, "-sS", "--ssl-reqd", "--cacert", server.CaCertificatePath, "--netrc-file", netrc, $"ftp://localhost:{server.Port}/big.bin");
            Assert.Equal(expected, ours.Sha256);
            Assert.Equal(expected, curl.Sha256);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"round {round}: ftpsmount cat 256 MB {ours.Elapsed.TotalSeconds:0.00} s, curl {curl.Elapsed.TotalSeconds:0.00} s, ratio {ours.Elapsed / curl.Elapsed:0.00}"));
        }
    }
}

/// <summary>Runs the built ftpsmount (the test's output folder holds ftpsmount.dll) as a child process.</summary>
internal static class CliRunner
{
    public sealed record Result(int ExitCode, byte[] Stdout, string StderrText)
    {
        public string StdoutText => System.Text.Encoding.UTF8.GetString(Stdout);
    }

    public sealed record HashResult(int ExitCode, string Sha256, TimeSpan Elapsed);

    private static ProcessStartInfo CliStart(string password, string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ftpsmount.dll"));
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["FTPSMOUNT_PASSWORD"] = password;
        start.Environment["HOME"] = Path.GetTempPath(); // no ~/.netrc or known_hosts of the machine's user
        return start;
    }

    public static Task<Result> RunAsync(string password, CancellationToken ct, params string[] args) =>
        RunWithEnvironmentAsync(password, new Dictionary<string, string>(), ct, args);

    public static async Task<Result> RunWithEnvironmentAsync(string password, IReadOnlyDictionary<string, string> environment, CancellationToken ct, params string[] args)
    {
        var start = CliStart(password, args);
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        try
        {
            using var stdout = new MemoryStream();
            var copy = process.StandardOutput.BaseStream.CopyToAsync(stdout, ct);
            var stderr = process.StandardError.ReadToEndAsync(ct);
            await Task.WhenAll(copy, stderr);
            await process.WaitForExitAsync(ct);
            return new Result(process.ExitCode, stdout.ToArray(), await stderr);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    public static Task<HashResult> RunToHashAsync(string password, CancellationToken ct, params string[] args) =>
        HashOutputAsync(CliStart(password, args), ct);

    public static Task<HashResult> RunProcessToHashAsync(string file, CancellationToken ct, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        return HashOutputAsync(start, ct);
    }

    private static async Task<HashResult> HashOutputAsync(ProcessStartInfo start, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        try
        {
            var stderr = process.StandardError.ReadToEndAsync(ct);
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[1024 * 1024];
            int n;
            while ((n = await process.StandardOutput.BaseStream.ReadAsync(buffer, ct)) > 0)
            {
                sha.AppendData(buffer, 0, n);
            }

            await process.WaitForExitAsync(ct);
            clock.Stop();
            Assert.True(process.ExitCode == 0, $"{start.FileName} failed: {await stderr}");
            return new HashResult(process.ExitCode, Convert.ToHexStringLower(sha.GetHashAndReset()), clock.Elapsed);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }
}
