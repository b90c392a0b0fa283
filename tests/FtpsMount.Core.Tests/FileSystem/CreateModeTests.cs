using FtpsMount.Core.FileSystem;
using FtpsMount.Core.Tests.Conformance;
using FtpsMount.Protocol;
using FtpsMount.Protocol.Tls;
using FtpsMount.Testing.ReferenceServers;

namespace FtpsMount.Core.Tests.FileSystem;

/// <summary>The mode given to create(2) survives the upload (FTP uploads get the server's umask), e.g. a script's
/// exec bit after `git clone` onto a mount; and the server's file carries it, not only the mount's cache.</summary>
[Collection(CoreConformanceCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class CreateModeTests
{
    [Theory]
    [InlineData(ReferenceServerKind.Vsftpd)]
    [InlineData(ReferenceServerKind.Proftpd)]
    public async Task Mode_given_at_create_is_applied_on_the_server(ReferenceServerKind kind)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var server = await ReferenceServer.StartAsync(kind, FtpsMode.Explicit, timeout.Token);
        await using (var fs = new RemoteFileSystem(server.CreateOptions(TlsVersion.Tls13), server.Credentials, new CoreOptions()))
        {
            var handle = await fs.CreateAsync("/run.sh", 0x1ED /* 0755 */, exclusive: true, timeout.Token);
            await fs.WriteAsync(handle, 0, "#!/bin/sh\necho hi\n"u8.ToArray(), timeout.Token);
            await fs.ReleaseAsync(handle, timeout.Token);
            Assert.Equal(0x1ED, (await fs.GetAttributesAsync("/run.sh", timeout.Token)).Mode);
        }

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute,
            File.GetUnixFileMode(server.GetLocalPath("/run.sh")));
    }
}
