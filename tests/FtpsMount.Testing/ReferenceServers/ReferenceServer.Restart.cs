using System.Diagnostics;
using System.Globalization;

namespace FtpsMount.Testing.ReferenceServers;

/// <summary>
/// A server restart, as clients see one: <see cref="StopAsync"/> kills the daemon and its per-connection children by
/// process id (every open session breaks) and waits until the port is free; <see cref="RestartAsync"/> starts the same
/// server again on the same port, configuration, certificate and root directory (its files survive).
/// </summary>
public sealed partial class ReferenceServer
{
    /// <summary>True between <see cref="StopAsync"/> and <see cref="RestartAsync"/>.</summary>
    public bool IsStopped => _process is null && _disposed == 0;

    public async Task StopAsync(CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (_process is not { } process)
        {
            return;
        }

        var pids = ProcessTree.KillTree(process.Id, TimeSpan.FromSeconds(1));
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            timeout.CancelAfter(s_stopDeadline);
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }

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
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"port {Port} still has a listener after the kill"));
            }

            await Task.Delay(20, ct).ConfigureAwait(false);
        }
    }

    public async Task RestartAsync(CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (_process is not null)
        {
            await StopAsync(ct).ConfigureAwait(false);
        }

        await LaunchAsync(ct).ConfigureAwait(false);
    }
}
