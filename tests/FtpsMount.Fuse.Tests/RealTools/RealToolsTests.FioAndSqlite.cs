using System.Globalization;
using System.Text.Json;

namespace FtpsMount.Fuse.Tests.RealTools;

// fio random reads, sqlite3 database on the mount.
public sealed partial class RealToolsTests
{
    [Fact]
    public Task Fio_random_4k_reads_of_a_16_MB_file_finish_without_errors() => RunAsync(TimeSpan.FromMinutes(4), async () =>
    {
        // The file comes from the server (seeded behind the mount): the reads go to vsftpd, not to a page cache filled by
        // our own writes.
        var (onMount, onServer) = await MountDirectoryAsync("fio");
        var data = new byte[16 * 1024 * 1024];
        new Random(5).NextBytes(data);
        mount.Server.SeedFile("/" + Path.GetFileName(onMount) + "/data.bin", data);
        await mount.Host.RefreshMetadataAsync(MountIoDeadline); // the mount knows the new directory as empty until its TTL

        var result = await Tool("fio", TimeSpan.FromMinutes(2),
            "--name=randread", "--filename=" + Path.Combine(onMount, "data.bin"), "--readonly", "--rw=randread", "--bs=4k",
            "--size=16m", "--ioengine=psync", "--iodepth=1", "--runtime=2", "--time_based", "--randrepeat=1",
            "--output-format=json");
        var json = result.StandardOutput[result.StandardOutput.IndexOf('{', StringComparison.Ordinal)..];
        using var document = JsonDocument.Parse(json);
        var job = document.RootElement.GetProperty("jobs")[0];
        var read = job.GetProperty("read");
        var error = job.GetProperty("error").GetInt32();
        var ios = read.GetProperty("total_ios").GetInt64();
        var bytes = read.GetProperty("io_bytes").GetInt64();
        var iops = read.GetProperty("iops").GetDouble();
        var meanLatencyUs = read.GetProperty("clat_ns").GetProperty("mean").GetDouble() / 1000;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"fio randread psync 4k on a 16 MiB file over the mount: {ios} reads, {bytes} bytes, {iops:F0} IOPS, mean completion latency {meanLatencyUs:F1} µs, runtime {job.GetProperty("job_runtime").GetInt64()} ms"));
        Assert.True(error == 0, $"fio reported error {error}:\n{result}");
        Assert.True(ios > 0 && bytes == ios * 4096, $"fio read {ios} times, {bytes} bytes:\n{result}");
        Assert.Equal(data.Length, new FileInfo(Path.Combine(onServer, "data.bin")).Length);
    });

    /// <summary>
    /// sqlite3 on the mount, in its default rollback-journal mode (the database and its -journal are ordinary files
    /// written with pwrite and fsync'ed; the journal is deleted at commit) and in WAL mode (-wal appended to, -shm mapped
    /// MAP_SHARED). Both work on one machine. The limit, by design of the binding: sqlite's POSIX advisory locks
    /// (fcntl F_SETLK) are kept by this machine's kernel (the binding leaves the FUSE lock operation empty, and FTP has
    /// no locks), so they serialise processes on this machine only; two machines mounting the same server, or another
    /// FTP client writing the file, are not excluded and could corrupt the database. WAL's shared memory is likewise
    /// local to the machine.
    /// </summary>
    [Fact]
    public Task Sqlite3_creates_and_queries_a_database_on_the_mount() => RunAsync(TimeSpan.FromMinutes(5), async () =>
    {
        var (onMount, onServer) = await MountDirectoryAsync("sqlite");
        var db = Path.Combine(onMount, "test.db");
        var timeout = TimeSpan.FromMinutes(2);

        var created = await ExternalTool.CheckedAsync(output, "sqlite3", ["-bail", "-batch", db], timeout, standardInput: """
            PRAGMA journal_mode;
            CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT NOT NULL, payload BLOB NOT NULL);
            BEGIN;
            WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000)
              INSERT INTO t(name, payload) SELECT 'row ' || x, zeroblob(100 + x % 300) FROM c;
            COMMIT;
            CREATE INDEX t_name ON t(name);
            SELECT count(*), sum(length(payload)) FROM t;
            """, diagnostics: HostDiagnostics);
        Assert.Equal("delete\n5000|1237700\n", created.StandardOutput);

        // A second process: updates and deletes in one transaction, then queries and an integrity check.
        var changed = await ExternalTool.CheckedAsync(output, "sqlite3", ["-bail", "-batch", db], timeout, standardInput: """
            BEGIN;
            UPDATE t SET name = 'even ' || id WHERE id % 2 = 0;
            DELETE FROM t WHERE id % 5 = 0;
            COMMIT;
            SELECT count(*) FROM t;
            SELECT count(*) FROM t WHERE name LIKE 'even %';
            SELECT name FROM t WHERE id = 4998;
            PRAGMA integrity_check;
            """, diagnostics: HostDiagnostics);
        Assert.Equal("4000\n2000\neven 4998\nok\n", changed.StandardOutput);

        // The committed database is on the server and consistent there; no journal was left behind.
        string[] names = await OnMountAsync(() => Directory.GetFiles(onMount).Select(p => Path.GetFileName(p)!).Order(StringComparer.Ordinal).ToArray());
        Assert.Equal(["test.db"], names);
        var copy = Path.Combine(LocalDirectory("sqlite-copy"), "copy.db");
        File.Copy(Path.Combine(onServer, "test.db"), copy);
        var stored = await ExternalTool.CheckedAsync(output, "sqlite3", ["-bail", "-batch", copy, "PRAGMA integrity_check; SELECT count(*) FROM t;"], timeout);
        Assert.Equal("ok\n4000\n", stored.StandardOutput);

        // WAL mode as well: the -wal file is appended to, the -shm index is shared memory (a MAP_SHARED mapping of a
        // file on the mount); the last connection checkpoints into the database and removes both.
        var wal = Path.Combine(onMount, "wal.db");
        var walCreated = await ExternalTool.CheckedAsync(output, "sqlite3", ["-bail", "-batch", wal], timeout, standardInput: """
            PRAGMA journal_mode = WAL;
            CREATE TABLE k(key TEXT PRIMARY KEY, value INTEGER);
            WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000)
              INSERT INTO k SELECT 'key ' || x, x * x FROM c;
            SELECT count(*), max(value) FROM k;
            """, diagnostics: HostDiagnostics);
        Assert.Equal("wal\n2000|4000000\n", walCreated.StandardOutput);
        var walQueried = await ExternalTool.CheckedAsync(output, "sqlite3", ["-bail", "-batch", wal,
            "UPDATE k SET value = -value WHERE value % 3 = 0; SELECT count(*) FROM k WHERE value < 0; PRAGMA integrity_check;"], timeout, diagnostics: HostDiagnostics);
        Assert.Equal("666\nok\n", walQueried.StandardOutput);
        names = await OnMountAsync(() => Directory.GetFiles(onMount).Select(p => Path.GetFileName(p)!).Order(StringComparer.Ordinal).ToArray());
        Assert.Equal(["test.db", "wal.db"], names);
    });
}
