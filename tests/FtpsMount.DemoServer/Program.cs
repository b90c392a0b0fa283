using System.Runtime.InteropServices;
using System.Text;
using FtpsMount.Protocol;
using FtpsMount.Testing.ReferenceServers;

// Starts a reference vsftpd on 127.0.0.1 with sample files, writes how to reach it to the info file given as the
// first argument (shell-sourceable; no password in it, only the path of the root-only password file), and serves until
// SIGTERM/SIGINT, then stops the server by its process id.
if (args.Length != 1)
{
    Console.Error.WriteLine("usage: FtpsMount.DemoServer INFO_FILE");
    return 2;
}

using var stop = new CancellationTokenSource();
using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });

await using var server = await ReferenceServer.StartAsync(ReferenceServerKind.Vsftpd, FtpsMode.Explicit, stop.Token);
server.SeedFile("/README.txt", Encoding.UTF8.GetBytes(
    "Welcome to the FtpsMount demo.\nThis directory lives on a vsftpd server on 127.0.0.1, reached over FTPS (TLS 1.3).\n"));
server.SeedFile("/docs/notes.md", Encoding.UTF8.GetBytes("# Notes\n\n- files you copy here are uploaded when cp returns\n- try: cp, mv, rm, mkdir\n"));
server.SeedFile("/docs/français/été.txt", Encoding.UTF8.GetBytes("UTF-8 names work.\n"));
var random = new Random(7);
for (var i = 1; i <= 5; i++)
{
    var photo = new byte[200_000 + (i * 1000)];
    random.NextBytes(photo);
    server.SeedFile($"/photos/img_{i:000}.raw", photo);
}

var big = new byte[64 * 1024 * 1024];
random.NextBytes(big);
server.SeedFile("/big/64MiB.bin", big);

var info = new StringBuilder()
    .AppendLine($"FTPS_URL='ftpes://{server.User}@localhost:{server.Port}/'")
    .AppendLine($"FTPS_CA_FILE='{server.CaCertificatePath}'")
    .AppendLine($"FTPS_PASSWORD_FILE='{ReferenceServerInstallation.PasswordFile}'")
    .AppendLine($"FTPS_SERVER_PID='{server.ProcessId}'")
    .AppendLine($"FTPS_SERVER_ROOT='{server.RootDirectory}'");
File.WriteAllText(args[0], info.ToString());
Console.WriteLine($"demo server: {server} (root {server.RootDirectory})");

try
{
    await Task.Delay(Timeout.Infinite, stop.Token);
}
catch (OperationCanceledException)
{
}

File.Delete(args[0]);
return 0;
