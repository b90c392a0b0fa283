using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FtpsMount.Protocol;
using FtpsMount.Testing.ReferenceServers;

namespace FtpsMount.Bench.Workloads;

/// <summary>
/// The workload benchmark: one reference vsftpd (explicit FTPS, TLS required, session reuse required) on
/// 127.0.0.1, the data set, and every workload on ftpsmount, rclone mount (cache off / full) and curl, each
/// measurement on a fresh mount (so "cold" means an empty page cache and an empty rclone cache), repeated.
/// Everything it starts is stopped in <c>finally</c>: mounts by <c>fusermount3 -uz</c> and their PIDs, the server by its PID.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class WorkloadRunner(BenchOptions options)
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromMinutes(5);
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;
    private readonly Report _report = new();
    private readonly string _workDir = Path.Combine("/var/tmp", "ftpsmount-bench-" + Environment.ProcessId.ToString(C));
    private ReferenceServer _server = null!;
    private ServerInfo _info = null!;
    private DataSet _data = null!;
    private int _counter;

    private static string FtpsmountDll => Path.Combine(AppContext.BaseDirectory, "ftpsmount.dll");

    public async Task<int> RunAsync(CancellationToken ct)
    {
        if (!string.Equals(Environment.UserName, "root", StringComparison.Ordinal))
        {
            await Console.Error.WriteLineAsync("The workload benchmark needs root (FUSE mounts, the reference server, apt-get).").ConfigureAwait(false);
            return 2;
        }

        var total = Stopwatch.StartNew();
        var versions = await EnsurePeersAsync(ct).ConfigureAwait(false);
        Directory.CreateDirectory(_workDir);
        try
        {
            Log("starting vsftpd (explicit FTPS) on 127.0.0.1");
            _server = await ReferenceServer.StartAsync(ReferenceServerKind.Vsftpd, FtpsMode.Explicit, ct).ConfigureAwait(false);
            _info = await WriteClientConfigAsync(ct).ConfigureAwait(false);
            Log("preparing the data set (2 × 256 MiB, 5000 files, 500-file tree and its tar, 64 MiB upload)");
            _data = await DataSet.PrepareAsync(_server, _workDir, ct).ConfigureAwait(false);
            if (options.ServeOnly)
            {
                // For profiling by hand: the server and data set stay up until Ctrl-C.
                Log($"serving: ftpes://{_info.User}@{_info.Host}:{_info.Port}/ --ca-file {_info.CaFile} --password-file {_info.PasswordFile}; rclone --config {_info.RcloneConfig} bench:; Ctrl-C stops");
                await Task.Delay(Timeout.Infinite, ct).ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).ConfigureAwait(false);
                return 0;
            }

            foreach (var workload in BenchOptions.AllWorkloads.Where(options.Workloads.Contains))
            {
                for (var rep = 1; rep <= options.Reps; rep++)
                {
                    foreach (var tool in ToolsFor(workload).Where(options.Tools.Contains))
                    {
                        ct.ThrowIfCancellationRequested();
                        try
                        {
                            await MeasureAsync(workload, tool, ct).ConfigureAwait(false);
                        }
                        catch (Exception e) when (e is not OperationCanceledException)
                        {
                            var message = $"{workload} on {tool}, repetition {rep}: {e.GetType().Name}: {Shell.Tail(e.Message, 400)}";
                            Log("FAILED " + message);
                            _report.Failures.Add(message.ReplaceLineEndings(" "));
                        }
                    }
                }
            }
        }
        finally
        {
            if (_server is not null)
            {
                await _server.DisposeAsync().ConfigureAwait(false);
            }

            CleanUpWorkDir();
        }

        var header = Header(versions, total.Elapsed);
        var markdown = _report.ToMarkdown(header, 256L * 1024 * 1024);
        var output = options.OutputPath ?? DefaultOutputPath();
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        await File.WriteAllTextAsync(output, markdown, ct).ConfigureAwait(false);
        Console.WriteLine();
        Console.WriteLine(markdown);
        Log($"results written to {output} ({total.Elapsed.TotalMinutes:0.0} min)");
        return _report.Failures.Count == 0 ? 0 : 1;
    }

    private static IEnumerable<string> ToolsFor(string workload) => workload switch
    {
        "seq-read" or "write" => ["ftpsmount", "rclone-off", "rclone-full", "curl"],
        "untar" => ["ftpsmount", "ftpsmount-wb", "rclone-off", "rclone-full"],
        _ => ["ftpsmount", "rclone-off", "rclone-full"],
    };

    private async Task MeasureAsync(string workload, string tool, CancellationToken ct)
    {
        var id = (++_counter).ToString(C);
        if (tool == "curl")
        {
            await MeasureCurlAsync(workload, id, ct).ConfigureAwait(false);
            return;
        }

        if (workload == "rm")
        {
            await _data.SeedSmallCopyAsync(_server, "/rm-" + id, ct).ConfigureAwait(false);
        }

        await using var mount = await LiveMount.StartAsync(tool, _info, _workDir, FtpsmountDll, ct).ConfigureAwait(false);
        if (options.DropCaches)
        {
            await File.WriteAllTextAsync("/proc/sys/vm/drop_caches", "3", ct).ConfigureAwait(false);
        }

        var mp = mount.MountPoint;
        var logStart = ServerLogLength();
        void SampleRss()
        {
            if (tool.StartsWith("ftpsmount", StringComparison.Ordinal) && mount.PeakRssBytes() is { } rss)
            {
                _report.PeakRss.Add(rss);
            }
        }

        var row = workload == "untar" && tool == "ftpsmount-wb" ? "untar-wb" : workload;
        var reportTool = tool == "ftpsmount-wb" ? "ftpsmount-wb" : tool;
        switch (workload)
        {
            case "seq-read":
                Record(row, reportTool, (await Timed($"cat {Shell.Q(mp + "/seq.bin")} > /dev/null", ct).ConfigureAwait(false)).TotalSeconds);
                break;
            case "rand4k":
                Record(row, reportTool, await FioAsync(mp, "4k", jobs: 1, ioSize: "2m", ct).ConfigureAwait(false));
                await Task.Delay(1000, ct).ConfigureAwait(false); // let transfers that outlive the reads end and be logged
                _report.AddServerBytes(row, reportTool, ServerBytesSince(logStart));
                break;
            case "rand4k-4jobs":
                Record(row, reportTool, await FioAsync(mp, "4k", jobs: 4, ioSize: "512k", ct).ConfigureAwait(false));
                await Task.Delay(1000, ct).ConfigureAwait(false);
                _report.AddServerBytes(row, reportTool, ServerBytesSince(logStart));
                break;
            case "rand128k":
                Record(row, reportTool, await FioAsync(mp, "128k", jobs: 1, ioSize: "16m", ct).ConfigureAwait(false));
                await Task.Delay(1000, ct).ConfigureAwait(false);
                _report.AddServerBytes(row, reportTool, ServerBytesSince(logStart));
                break;
            case "ls":
                Record("ls-cold", reportTool, (await Timed($"ls -l {Shell.Q(mp + "/many")} > /dev/null", ct).ConfigureAwait(false)).TotalSeconds);
                Record("ls-warm", reportTool, (await Timed($"ls -l {Shell.Q(mp + "/many")} > /dev/null", ct).ConfigureAwait(false)).TotalSeconds);
                break;
            case "write":
            {
                var name = $"/up-{id}.bin";
                var elapsed = await Timed($"cp {Shell.Q(_data.UploadPath)} {Shell.Q(mp + name)}", ct).ConfigureAwait(false);
                var durable = await OnServerAsync(name, ct).ConfigureAwait(false);
                Record(row, reportTool, elapsed.TotalSeconds, durable ? null : "†");
                SampleRss();
                await mount.DisposeAsync().ConfigureAwait(false);
                TryDelete(_server.GetLocalPath(name));
                break;
            }

            case "untar":
            {
                var dir = "/untar-" + id;
                var elapsed = await Timed($"mkdir {Shell.Q(mp + dir)} && tar -x -m --no-same-owner --no-same-permissions -f {Shell.Q(_data.TarPath)} -C {Shell.Q(mp + dir)}", ct)
                    .ConfigureAwait(false);
                var present = CountFiles(_server.GetLocalPath(dir));
                Record(row, reportTool, elapsed.TotalSeconds, present == DataSet.SmallFiles || tool == "ftpsmount-wb" ? null : "†");
                SampleRss();
                await mount.DisposeAsync().ConfigureAwait(false);
                TryDeleteTree(_server.GetLocalPath(dir));
                break;
            }

            case "stat":
                Record(row, reportTool, (await Timed($"find {Shell.Q(mp + "/small")} -type f -exec stat -c %s {{}} + > /dev/null", ct).ConfigureAwait(false)).TotalSeconds);
                break;
            case "read-small":
                Record(row, reportTool, (await Timed($"find {Shell.Q(mp + "/small")} -type f -exec cat {{}} + > /dev/null", ct).ConfigureAwait(false)).TotalSeconds);
                break;
            case "rm":
            {
                var elapsed = await Timed($"rm -r {Shell.Q(mp + "/rm-" + id)}", ct).ConfigureAwait(false);
                Record(row, reportTool, elapsed.TotalSeconds, Directory.Exists(_server.GetLocalPath("/rm-" + id)) ? "†" : null);
                TryDeleteTree(_server.GetLocalPath("/rm-" + id));
                break;
            }

            default:
                throw new ArgumentException(workload);
        }

        if (workload is not ("write" or "untar"))
        {
            SampleRss();
        }
    }

    private async Task MeasureCurlAsync(string workload, string id, CancellationToken ct)
    {
        var baseUrl = $"ftp://{_info.Host}:{_info.Port.ToString(C)}";
        var common = $"curl -sS --fail --ssl-reqd --cacert {Shell.Q(_info.CaFile)} --netrc-file {Shell.Q(_info.NetrcFile)}";
        if (workload == "seq-read")
        {
            Record("seq-read", "curl", (await Timed($"{common} -o /dev/null {Shell.Q(baseUrl + "/seq.bin")}", ct).ConfigureAwait(false)).TotalSeconds);
        }
        else
        {
            var name = $"/curl-up-{id}.bin";
            var elapsed = await Timed($"{common} -T {Shell.Q(_data.UploadPath)} {Shell.Q(baseUrl + name)}", ct).ConfigureAwait(false);
            Record("write", "curl", elapsed.TotalSeconds, await OnServerAsync(name, ct).ConfigureAwait(false) ? null : "†");
            TryDelete(_server.GetLocalPath(name));
        }
    }

    private void Record(string row, string tool, double value, string? flag = null)
    {
        _report.Add(row, tool, value);
        if (flag is not null)
        {
            _report.Flag(row, tool, flag);
        }

        Log($"{row,-14} {tool,-13} {value.ToString(value >= 100 ? "0" : "0.000", C)}{(flag is null ? "" : " " + flag)}");
    }

    private static async Task<TimeSpan> Timed(string script, CancellationToken ct)
    {
        var result = await Shell.ShAsync(script, StepTimeout, ct).ConfigureAwait(false);
        result.EnsureSuccess(script);
        return result.Elapsed;
    }

    /// <summary>Runs fio random reads on the mount's /rand.bin and returns the IOPS it reports.</summary>
    private static async Task<double> FioAsync(string mountPoint, string blockSize, int jobs, string ioSize, CancellationToken ct)
    {
        var result = await Shell.RunAsync("fio",
            ["--name=randread", "--filename=" + mountPoint + "/rand.bin", "--readonly", "--rw=randread", "--bs=" + blockSize,
             "--ioengine=psync", "--numjobs=" + jobs.ToString(C), "--io_size=" + ioSize, "--size=256m", "--group_reporting",
             "--randrepeat=0", "--runtime=30", "--output-format=json"], StepTimeout, ct).ConfigureAwait(false);
        result.EnsureSuccess("fio");
        var json = result.Stdout[result.Stdout.IndexOf('{', StringComparison.Ordinal)..];
        using var doc = JsonDocument.Parse(json);
        var read = doc.RootElement.GetProperty("jobs")[0].GetProperty("read");
        if (read.GetProperty("io_bytes").GetInt64() == 0)
        {
            throw new InvalidOperationException("fio read nothing: " + Shell.Tail(result.Stderr));
        }

        return read.GetProperty("iops").GetDouble();
    }

    private long ServerLogLength() => File.Exists(_server.LogPath) ? new FileInfo(_server.LogPath).Length : 0;

    /// <summary>Bytes vsftpd reports sending (its "OK DOWNLOAD"/"FAIL DOWNLOAD" log lines) since a log offset: how much
    /// a workload really pulled from the server, read amplification included.</summary>
    private long ServerBytesSince(long offset)
    {
        using var stream = new FileStream(_server.LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        stream.Seek(offset, SeekOrigin.Begin);
        using var reader = new StreamReader(stream);
        long total = 0;
        while (reader.ReadLine() is { } line)
        {
            if (!line.Contains(" DOWNLOAD: ", StringComparison.Ordinal))
            {
                continue;
            }

            // ... OK DOWNLOAD: Client "127.0.0.1", "/rand.bin", 262144 bytes, 1234.56Kbyte/sec
            var end = line.LastIndexOf(" bytes,", StringComparison.Ordinal);
            var start = end < 0 ? -1 : line.LastIndexOf(", ", end, StringComparison.Ordinal);
            if (start >= 0 && long.TryParse(line.AsSpan(start + 2, end - start - 2), NumberStyles.None, C, out var bytes))
            {
                total += bytes;
            }
        }

        return total;
    }

    private async Task<bool> OnServerAsync(string ftpPath, CancellationToken ct)
    {
        var path = _server.GetLocalPath(ftpPath);
        if (!File.Exists(path) || new FileInfo(path).Length != DataSet.UploadBytes)
        {
            return false;
        }

        await using var stream = File.OpenRead(path);
        return (await SHA256.HashDataAsync(stream, ct).ConfigureAwait(false)).AsSpan().SequenceEqual(_data.UploadSha256);
    }

    private static int CountFiles(string dir) => Directory.Exists(dir) ? Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Count() : 0;

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
    }

    private static void TryDeleteTree(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (IOException)
        {
        }
    }

    private async Task<ServerInfo> WriteClientConfigAsync(CancellationToken ct)
    {
        var passwordFile = Path.Combine(_workDir, "password");
        var netrc = Path.Combine(_workDir, "netrc");
        var rcloneConf = Path.Combine(_workDir, "rclone.conf");
        foreach (var f in new[] { passwordFile, netrc, rcloneConf })
        {
            File.WriteAllText(f, string.Empty);
            File.SetUnixFileMode(f, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        await File.WriteAllTextAsync(passwordFile, _server.Password + "\n", ct).ConfigureAwait(false);
        await File.WriteAllTextAsync(netrc, $"machine {_server.Host} login {_server.User} password {_server.Password}\n", ct).ConfigureAwait(false);

        // rclone obscure reads the password from stdin with "-" (never argv).
        var obscured = (await Shell.ShAsync($"rclone obscure - < {Shell.Q(passwordFile)}", TimeSpan.FromSeconds(30), ct).ConfigureAwait(false))
            .EnsureSuccess("rclone obscure").Stdout.Trim();

        // rclone 1.60 cannot reach vsftpd over TLS 1.3 (disable_tls13), and has no option for a CA file, so it does not
        // check the certificate; ftpsmount and curl verify it against the test CA.
        var conf = new StringBuilder()
            .AppendLine("[bench]")
            .AppendLine("type = ftp")
            .AppendLine(C, $"host = {_server.Host}")
            .AppendLine(C, $"port = {_server.Port}")
            .AppendLine(C, $"user = {_server.User}")
            .AppendLine(C, $"pass = {obscured}")
            .AppendLine("explicit_tls = true")
            .AppendLine("disable_tls13 = true")
            .AppendLine("no_check_certificate = true");
        await File.WriteAllTextAsync(rcloneConf, conf.ToString(), ct).ConfigureAwait(false);
        return new ServerInfo(_server.Host, _server.Port, _server.User, passwordFile, _server.CaCertificatePath, rcloneConf, netrc, _server.Password);
    }

    private async Task<Dictionary<string, string>> EnsurePeersAsync(CancellationToken ct)
    {
        var missing = new[] { "rclone", "fio", "curl" }.Where(t => !Shell.Exists(t)).ToList();
        if (missing.Count > 0)
        {
            if (!options.Install)
            {
                throw new InvalidOperationException($"missing peers: {string.Join(", ", missing)} (run without --no-install, or apt-get install them)");
            }

            Log($"installing {string.Join(", ", missing)} from Debian");
            var env = new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" };
            var install = await Shell.RunAsync("apt-get", ["install", "-y", "--no-install-recommends", .. missing], TimeSpan.FromMinutes(10), ct, env).ConfigureAwait(false);
            if (install.ExitCode != 0)
            {
                (await Shell.RunAsync("apt-get", ["update"], TimeSpan.FromMinutes(10), ct, env).ConfigureAwait(false)).EnsureSuccess("apt-get update");
                (await Shell.RunAsync("apt-get", ["install", "-y", "--no-install-recommends", .. missing], TimeSpan.FromMinutes(10), ct, env).ConfigureAwait(false))
                    .EnsureSuccess("apt-get install");
            }
        }

        async Task<string> V(string file, params string[] args) =>
            Shell.FirstLine((await Shell.RunAsync(file, args, TimeSpan.FromSeconds(30), ct).ConfigureAwait(false)).Stdout).Trim();

        return new Dictionary<string, string>
        {
            ["rclone"] = await V("rclone", "version").ConfigureAwait(false),
            ["fio"] = await V("fio", "--version").ConfigureAwait(false),
            ["curl"] = await V("curl", "--version").ConfigureAwait(false),
            ["kernel"] = await V("uname", "-r").ConfigureAwait(false),
        };
    }

    private string Header(Dictionary<string, string> versions, TimeSpan elapsed)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# FtpsMount workload benchmark — latest run").AppendLine();
        sb.AppendLine(C, $"- Run: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {options.Reps} repetitions, {elapsed.TotalMinutes:0.0} min, {Environment.ProcessorCount} CPUs, kernel {versions["kernel"]}.");
        sb.AppendLine(C, $"- Command: `tests/scripts/bench.sh{(options.Reps == 3 ? "" : $" --reps {options.Reps}")}{(options.Workloads.Count == BenchOptions.AllWorkloads.Length ? "" : " --only " + string.Join(',', BenchOptions.AllWorkloads.Where(options.Workloads.Contains)))}{(options.DropCaches ? " --drop-caches" : "")}` (as root).");
        sb.AppendLine(C, $"- Server: vsftpd {_server?.ServerVersion ?? "?"} on 127.0.0.1, explicit FTPS, TLS required on control and data, `require_ssl_reuse=YES`.");
        sb.AppendLine(C, $"- ftpsmount: this tree, defaults (4 connections, 256 KiB blocks, 256 MiB memory cache, certificate verified against the test CA, TLS 1.3).");
        sb.AppendLine(C, $"- Peers: {versions["rclone"]} (`rclone mount --vfs-cache-mode off` / `full`, otherwise defaults; rclone 1.60 needs `disable_tls13 = true` to reach vsftpd at all and has no CA-file option, so it runs with `no_check_certificate = true` on TLS 1.2); {versions["curl"].Split(' ').Take(2).Aggregate((a, b) => a + " " + b)} (one stream, the single-connection limit); {versions["fio"]}.");
        sb.AppendLine("- fio runs stop after 30 s (rclone without cache manages a few random reads per second, with errors and retries in its log); IOPS are over what was done.");
        sb.AppendLine("- Every measurement is on a fresh mount (empty page cache, empty rclone cache dir): \"cold\". `ls` warm is the second `ls -l` on the same mount.");
        sb.AppendLine();
        return sb.ToString();
    }

    private static string DefaultOutputPath()
    {
        for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FtpsMount.sln")))
            {
                return Path.Combine(dir.FullName, "tests", "FtpsMount.Bench", "results", "latest.md");
            }
        }

        return Path.Combine(Environment.CurrentDirectory, "bench-results.md");
    }

    private void CleanUpWorkDir()
    {
        try
        {
            var mnt = Path.Combine(_workDir, "mnt");
            if (Directory.Exists(mnt))
            {
                foreach (var d in Directory.GetDirectories(mnt))
                {
                    if (LiveMount.IsMounted(d))
                    {
                        Shell.RunAsync("fusermount3", ["-uz", d], TimeSpan.FromSeconds(30), CancellationToken.None).GetAwaiter().GetResult();
                    }
                }
            }

            if (Environment.GetEnvironmentVariable("FTPSMOUNT_BENCH_KEEP") != "1")
            {
                Directory.Delete(_workDir, recursive: true);
            }
            else
            {
                Log($"kept {_workDir} (FTPSMOUNT_BENCH_KEEP=1)");
            }
        }
        catch (IOException e)
        {
            Log($"could not remove {_workDir}: {e.Message}");
        }
    }

    private static void Log(string message) => Console.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {message}");
}
