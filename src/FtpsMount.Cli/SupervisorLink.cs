using FtpsMount.Service.Supervision;

namespace FtpsMount.Cli;

/// <summary>
/// A mount started by the service (<see cref="MountLauncher.SupervisedVariable"/> = 1) unmounts when its standard input
/// reaches end-of-file: the service closes the pipe to stop it (Linux and Windows alike), and a service that died closes
/// it too. The returned source is cancelled then, exactly as SIGTERM or Ctrl-C would.
/// </summary>
internal static class SupervisorLink
{
    public static CancellationTokenSource Create(CancellationToken ct)
    {
        var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (Environment.GetEnvironmentVariable(MountLauncher.SupervisedVariable) != "1")
        {
            return stop;
        }

        var watcher = new Thread(() =>
        {
            try
            {
                using var stdin = Console.OpenStandardInput();
                var buffer = new byte[256];
                while (stdin.Read(buffer) > 0)
                {
                    // Nothing is sent on this pipe; only its end matters.
                }
            }
            catch (IOException)
            {
            }

            try
            {
                stop.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The mount already ended.
            }
        })
        { IsBackground = true, Name = "supervisor link" };
        watcher.Start();
        return stop;
    }
}
