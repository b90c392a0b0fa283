using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using FtpsMount.Testing.ReferenceServers;

namespace FtpsMount.Bench.Workloads;

/// <summary>
/// The data set, made once per run: on the server a 256 MiB file read sequentially (/seq.bin), a separate
/// 256 MiB file for random reads (/rand.bin), a 5000-file directory (/many) and a 500-file source tree (/small);
/// locally a tar of the same 500 files and a 64 MiB file to upload. Contents are random (no compression wins).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class DataSet
{
    public const long BigFileBytes = 256L * 1024 * 1024;
    public const long UploadBytes = 64L * 1024 * 1024;
    public const int ManyFiles = 5000;
    public const int SmallFiles = 500;

    private DataSet(string tarPath, string uploadPath, byte[] uploadSha256, string smallTreeLocal)
    {
        TarPath = tarPath;
        UploadPath = uploadPath;
        UploadSha256 = uploadSha256;
        SmallTreeLocal = smallTreeLocal;
    }

    public string TarPath { get; }
    public string UploadPath { get; }
    public byte[] UploadSha256 { get; }

    /// <summary>Local copy of the 500-file tree ("small/dNN/..."), the source of the tar and of server copies.</summary>
    public string SmallTreeLocal { get; }

    public static async Task<DataSet> PrepareAsync(ReferenceServer server, string workDir, CancellationToken ct)
    {
        WriteRandomFile(server.GetLocalPath("/seq.bin"), BigFileBytes, seed: 1);
        WriteRandomFile(server.GetLocalPath("/rand.bin"), BigFileBytes, seed: 2);

        var many = server.GetLocalPath("/many");
        Directory.CreateDirectory(many);
        for (var i = 0; i < ManyFiles; i++)
        {
            File.WriteAllText(Path.Combine(many, string.Create(CultureInfo.InvariantCulture, $"file-{i:00000}.txt")),
                string.Create(CultureInfo.InvariantCulture, $"entry {i}\n"));
        }

        // 500 small "source files" (1-16 KiB of text) in 10 directories.
        var src = Path.Combine(workDir, "src");
        var random = new Random(3);
        for (var i = 0; i < SmallFiles; i++)
        {
            var dir = Path.Combine(src, "small", string.Create(CultureInfo.InvariantCulture, $"d{i % 10:00}"));
            Directory.CreateDirectory(dir);
            var text = new StringBuilder();
            var length = random.Next(1024, 16 * 1024);
            while (text.Length < length)
            {
                text.Append(CultureInfo.InvariantCulture, $"    int value{random.Next()} = compute({random.Next(1000)}); // line {text.Length}\n");
            }

            File.WriteAllText(Path.Combine(dir, string.Create(CultureInfo.InvariantCulture, $"file{i:000}.c")), text.ToString());
        }

        var tar = Path.Combine(workDir, "small.tar");
        (await Shell.RunAsync("tar", ["-c", "-f", tar, "-C", src, "small"], TimeSpan.FromMinutes(2), ct).ConfigureAwait(false)).EnsureSuccess("tar");
        await CopyTreeToServerAsync(server, "/small", ct).ConfigureAwait(false);
        (await Shell.RunAsync("chown", ["-R", "--reference=" + server.RootDirectory, server.RootDirectory], TimeSpan.FromMinutes(2), ct)
            .ConfigureAwait(false)).EnsureSuccess("chown");

        var upload = Path.Combine(workDir, "up.bin");
        WriteRandomFile(upload, UploadBytes, seed: 4);
        byte[] hash;
        using (var stream = File.OpenRead(upload))
        {
            hash = await SHA256.HashDataAsync(stream, ct).ConfigureAwait(false);
        }

        return new DataSet(tar, upload, hash, Path.Combine(src, "small"));

        async Task CopyTreeToServerAsync(ReferenceServer s, string ftpPath, CancellationToken token) =>
            (await Shell.RunAsync("cp", ["-r", Path.Combine(src, "small"), s.GetLocalPath(ftpPath)], TimeSpan.FromMinutes(2), token)
                .ConfigureAwait(false)).EnsureSuccess("cp -r");
    }

    /// <summary>A fresh server-side copy of the 500-file tree (for rm -r), owned by the FTP user.</summary>
    public async Task SeedSmallCopyAsync(ReferenceServer server, string ftpPath, CancellationToken ct)
    {
        var target = server.GetLocalPath(ftpPath);
        (await Shell.RunAsync("cp", ["-r", SmallTreeLocal, target], TimeSpan.FromMinutes(2), ct).ConfigureAwait(false)).EnsureSuccess("cp -r");
        (await Shell.RunAsync("chown", ["-R", "--reference=" + server.RootDirectory, target], TimeSpan.FromMinutes(2), ct).ConfigureAwait(false)).EnsureSuccess("chown");
    }

    private static void WriteRandomFile(string path, long length, int seed)
    {
        var random = new Random(seed);
        var buffer = new byte[4 * 1024 * 1024];
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 0);
        for (long written = 0; written < length; written += buffer.Length)
        {
            random.NextBytes(buffer);
            stream.Write(buffer, 0, (int)Math.Min(buffer.Length, length - written));
        }
    }
}
