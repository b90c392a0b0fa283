using System.Diagnostics;
using FtpsMount.Core;
using FtpsMount.Core.FileSystem;
using FtpsMount.Protocol;
using FtpsMount.Testing.ReferenceServers;
using Xunit.Abstractions;

namespace FtpsMount.Drills.Tests.Security;

/// <summary>
/// Files that hold secrets or other people's data are private: write staging (the data of files being written) 0600 in
/// a 0700 directory, the persistent block cache 0600/0700, and a password file readable by others is warned about. The
/// status files and logs hold no password (MountDrills greps them).
/// </summary>
[Collection(DrillCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class FileModeDrills(ITestOutputHelper output)
{
    private const UnixFileMode GroupOrOther = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
                                              UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    [Fact]
    public async Task Staging_and_cache_files_are_private_and_a_shared_password_file_is_warned_about()
    {
        await using var server = await ReferenceServer.StartAsync(ReferenceServerKind.PureFtpd, FtpsMode.Explicit);
        var data = Drill.RandomBytes(6 * 1024 * 1024, 51);
        server.SeedFile("/cached.bin", data);
        var root = Directory.CreateTempSubdirectory("ftpsmount-drill-modes-").FullName;
        var checkedPaths = 0;
        try
        {
            var cacheDir = Path.Combine(root, "cache");
            var options = Drill.Options() with
            {
                Cache = new CacheOptions { CacheDirectory = cacheDir },
                Write = new WriteOptions { MemoryStagingLimit = 0 }, // default private staging directory, files on disk
            };
            await using (var fs = Drill.Core(server, options))
            {
                Assert.Equal(data.Length, (await Drill.ReadAllAsync(fs, "/cached.bin", 256 * 1024, CancellationToken.None)).Length);

                // A file being written, staged on disk: find its staging file while it is open (written out of order so
                // it is staged, not streamed).
                var handle = await fs.CreateAsync("/staged.bin", 0x1a4, exclusive: false, CancellationToken.None);
                await fs.WriteAsync(handle, 1024 * 1024, data.AsMemory(0, 1024 * 1024), CancellationToken.None);
                await fs.WriteAsync(handle, 0, data.AsMemory(0, 1024 * 1024), CancellationToken.None);
                var staged = Directory.EnumerateDirectories(Path.GetTempPath(), "ftpsmount-staging-*")
                    .SelectMany(d => Directory.EnumerateFiles(d).Select(f => (Dir: d, File: f)))
                    .Where(x => x.File.EndsWith("-staged.bin.staged", StringComparison.Ordinal))
                    .ToList();
                Assert.NotEmpty(staged);
                foreach (var (dir, file) in staged)
                {
                    AssertPrivate(dir);
                    AssertPrivate(file);
                    checkedPaths += 2;
                }

                await fs.ReleaseAsync(handle, CancellationToken.None);
            }

            AssertPrivate(cacheDir);
            foreach (var path in Directory.EnumerateFileSystemEntries(cacheDir, "*", SearchOption.AllDirectories).Where(p => !p.EndsWith("CACHEDIR.TAG", StringComparison.Ordinal)))
            {
                AssertPrivate(path);
                checkedPaths++;
            }

            // A password file others can read: the program warns.
            var passwordFile = Path.Combine(root, "password");
            await File.WriteAllTextAsync(passwordFile, server.Password + "\n");
            File.SetUnixFileMode(passwordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "ftpsmount.dll"), "ls", $"ftpes://{server.User}@localhost:{server.Port}/", "--ca-file", server.CaCertificatePath, "--password-file", passwordFile })
            {
                start.ArgumentList.Add(a);
            }

            using var p = Process.Start(start)!;
            var stderr = p.StandardError.ReadToEndAsync();
            _ = await p.StandardOutput.ReadToEndAsync();
            await p.WaitForExitAsync();
            var text = await stderr;
            Assert.True(p.ExitCode == 0, text);
            Assert.Contains("chmod 600", text, StringComparison.Ordinal);
            Assert.DoesNotContain(server.Password, text, StringComparison.Ordinal);
            output.WriteLine($"FIGURE file modes: {checkedPaths} staging and cache paths checked private (0600 files, 0700 directories); a 0644 password file is warned about");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private void AssertPrivate(string path)
    {
        var mode = File.GetUnixFileMode(path);
        output.WriteLine($"{Convert.ToString((int)mode, 8)} {path}");
        Assert.True((mode & GroupOrOther) == 0, $"{path} is {Convert.ToString((int)mode, 8)}: readable or writable by others");
    }
}
