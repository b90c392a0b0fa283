using System.Diagnostics;
using FtpsMount.Service;
using FtpsMount.Tray;

// ftpsmount-tray: the Windows notification-area icon for the FtpsMount service. Registered to start at logon
// (HKCU Run key or the Startup folder), it also starts the service — `ftpsmount.exe service` next to it, without a
// window — when none runs for this user, so one logon entry gives both.
if (!OperatingSystem.IsWindows())
{
    Console.Error.WriteLine("ftpsmount-tray is for Windows. On Linux, open the dashboard: ftpsmount status --dashboard");
    return 1;
}

if (ServiceEndpoint.Read() is null && !args.Contains("--no-service"))
{
    var cli = Path.Combine(AppContext.BaseDirectory, "ftpsmount.exe");
    if (File.Exists(cli))
    {
        var start = new ProcessStartInfo(cli) { UseShellExecute = false, CreateNoWindow = true, WorkingDirectory = AppContext.BaseDirectory };
        start.ArgumentList.Add("service");
        Process.Start(start)?.Dispose();
    }
}

using var tray = new TrayIcon();
return tray.Run();
