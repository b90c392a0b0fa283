using System.Runtime.Versioning;
using Xunit.Abstractions;

namespace FtpsMount.Service.Tests;

/// <summary>One service per user: a second `ftpsmount service` started while another holds the service lock (running,
/// or still starting and so without an endpoint file yet) refuses to run instead of taking over its socket and mounts.</summary>
[SupportedOSPlatform("linux")]
public sealed class ServiceLockTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_second_service_refuses_while_the_lock_is_held_and_starts_once_it_is_free()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var root = ServiceHarness.CreateRoot([]);
        var runtime = Path.Combine(root, "run", "ftpsmount");
        Directory.CreateDirectory(runtime, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var lockFile = Path.Combine(runtime, "service.lock");

        // Another service "starting": it holds the lock but has written no endpoint file yet.
        using (new FileStream(lockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => ServiceHarness.StartAsync([], timeout.Token, root));
            output.WriteLine(refused.Message);
            Assert.Contains("another ftpsmount service is running or starting", refused.Message, StringComparison.Ordinal);
        }

        root = ServiceHarness.CreateRoot([]);
        await using var service = await ServiceHarness.StartAsync([], timeout.Token, root);
        // While it runs, its lock keeps others out.
        Assert.Throws<IOException>(() => new FileStream(Path.Combine(root, "run", "ftpsmount", "service.lock"), FileMode.Open, FileAccess.ReadWrite, FileShare.None).Dispose());
        Assert.Equal(0, await service.StopAsync(TimeSpan.FromSeconds(30)));
    }
}
