using System.Diagnostics;
using System.IO.Compression;
using FtpsMount.Testing;

namespace FtpsMount.Dokan.Tests;

/// <summary>packaging/windows/build-win-x64.sh (a self-contained `dotnet publish -r win-x64` of the CLI) produces a zip
/// with a Windows x64 ftpsmount.exe, the Dokan binding and the driver install notes. ~25 s.</summary>
public sealed class WindowsPackageTests
{
    [Fact]
    public async Task The_win_x64_zip_is_built_with_the_exe_the_binding_and_the_driver_notes()
    {
        var output = Path.Combine(Path.GetTempPath(), $"ftpsmount-win-package-{Environment.ProcessId}");
        try
        {
            var start = new ProcessStartInfo("/bin/bash") { RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add(RepositoryPaths.File("packaging", "windows", "build-win-x64.sh"));
            start.ArgumentList.Add(output);
            using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start bash");
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail("build-win-x64.sh did not finish within 3 minutes");
            }

            Assert.True(process.ExitCode == 0, $"build-win-x64.sh failed ({process.ExitCode}):\n{await stdout}\n{await stderr}");
            using var zip = ZipFile.OpenRead(Path.Combine(output, "ftpsmount-win-x64.zip"));
            var names = zip.Entries.Select(e => e.FullName.Replace('\\', '/')).ToHashSet(StringComparer.Ordinal);
            foreach (var required in new[] { "ftpsmount.exe", "ftpsmount.dll", "FtpsMount.Dokan.dll", "FtpsMount.Core.dll", "README-DOKAN.txt" })
            {
                Assert.Contains("ftpsmount-win-x64/" + required, names);
            }

            using var exe = zip.GetEntry("ftpsmount-win-x64/ftpsmount.exe")!.Open();
            var header = new byte[4096];
            exe.ReadExactly(header);
            Assert.Equal((byte)'M', header[0]);
            Assert.Equal((byte)'Z', header[1]);
            var pe = BitConverter.ToInt32(header, 0x3C);
            Assert.Equal("PE\0\0", System.Text.Encoding.ASCII.GetString(header, pe, 4));
            Assert.Equal(0x8664, BitConverter.ToUInt16(header, pe + 4)); // IMAGE_FILE_MACHINE_AMD64

            using var notes = new StreamReader(zip.GetEntry("ftpsmount-win-x64/README-DOKAN.txt")!.Open());
            Assert.Contains("https://github.com/dokan-dev/dokany/releases", notes.ReadToEnd(), StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(output))
            {
                Directory.Delete(output, recursive: true);
            }
        }
    }
}
