using FtpsMount.Tray;

// ftpsmount-tray: the Windows notification-area icon for the FtpsMount service (started at logon next to it).
if (!OperatingSystem.IsWindows())
{
    Console.Error.WriteLine("ftpsmount-tray is for Windows. On Linux, open the dashboard: ftpsmount status --dashboard");
    return 1;
}

using var tray = new TrayIcon();
return tray.Run();
