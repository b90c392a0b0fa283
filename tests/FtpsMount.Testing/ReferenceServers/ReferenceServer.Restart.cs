using System.Diagnostics;

namespace FtpsMount.Testing.ReferenceServers;

// Fault drills: kill the server abruptly (SIGKILL of the daemon and every per-connection child, by pid, as a crash or
// an OOM kill would) and start it again on the same port with the same configuration, certificate and root.
public sealed partial class ReferenceServer
{
    /// <summary>How many times <see cref="KillAsync"/> killed this instance.</summary>
    public int KillCount { get; private set; }

    /// <summary>Whether the daemon is running (false between <see cref="KillAsync"/> and <see cref="RestartAsync"/>).</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>SIGKILLs the daemon and its per-connection children by process id (every session is cut without a
    /// reply), waits until they are gone and the control port is free. <see cref="RestartAsync"/> starts it again.</summary>
    public async Task KillAsync(CancellationToken ct = default)
    {
        var process = _process ?? throw new InvalidOperationException($"{this} is not running");
        var pids = ProcessTree.KillTree(process.Id, TimeSpan.FromSeconds(1));
        KillCount++;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(s_stopDeadline);
        await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        if (!await ProcessTree.WaitAllDeadAsync(pids, s_stopDeadline, ct).ConfigureAwait(false))
        {
            throw new InvalidOperationException("still alive after SIGKILL: " + string.Join(", ", pids.Where(ProcessTree.IsAlive)));
        }

        process.Dispose();
        _process = null;
        var sw = Stopwatch.StartNew();
        while (!PortBlock.IsFreeForListening(Port))
        {
            if (sw.Elapsed > s_stopDeadline)
            {
                throw new TimeoutException($"port {I(Port)} still has a listener {s_stopDeadline.TotalSeconds}s after the kill");
            }

            await Task.Delay(20, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Starts the daemon again on the same port, configuration, certificate and root directory (killing it
    /// first when it still runs, as a crash-and-restart would), and waits until it accepts connections.</summary>
    public async Task RestartAsync(CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (_process is not null)
        {
            await KillAsync(ct).ConfigureAwait(false);
        }

        await LaunchAsync(ct).ConfigureAwait(false);
    }
}
