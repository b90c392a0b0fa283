using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;

namespace FtpsMount.Testing.Scripted;

internal sealed partial class ScriptedSession
{
    private const int ChunkSize = 16 * 1024;

    // ---- commands -------------------------------------------------------------------------------

    private async Task RetrAsync(string arg, string line)
    {
        var path = Resolve(arg);
        var offset = _restOffset;
        _restOffset = 0;
        var content = Fs.TryReadFile(path);
        if (content is null)
        {
            await ReplyAsync(550, "Failed to open file.").ConfigureAwait(false);
            return;
        }

        if (offset > content.LongLength)
        {
            await ReplyAsync(554, "Restart position beyond end of file.").ConfigureAwait(false);
            return;
        }

        ReadOnlyMemory<byte> data = content.AsMemory((int)offset);
        if (!_binary)
        {
            data = ToCrLf(data.Span);
        }

        await RunDownloadAsync(line, data,
            $"Opening {(_binary ? "BINARY" : "ASCII")} mode data connection for {path} ({content.Length} bytes).",
            applyFaults: true).ConfigureAwait(false);
    }

    private async Task StoreAsync(string arg, string line, bool append)
    {
        var path = Resolve(arg);
        var offset = append ? 0 : _restOffset;
        _restOffset = 0;
        if (arg.Length == 0 || !Fs.DirectoryExists(ScriptedFileSystem.ParentOf(path)) || Fs.DirectoryExists(path))
        {
            await ReplyAsync(553, "Could not create file.").ConfigureAwait(false);
            return;
        }

        if (offset > 0 && (Fs.GetEntry(path)?.Size ?? 0) < offset)
        {
            await ReplyAsync(554, "Restart position beyond end of file.").ConfigureAwait(false);
            return;
        }

        var d = await BeginTransferAsync(line, "Ok to send data.").ConfigureAwait(false);
        if (d is null)
        {
            return;
        }

        using var sink = new MemoryStream();
        var (outcome, aborConsumed) = await MonitorAsync(d, ct => d.ReceiveIntoAsync(sink, ct), watchPeer: false, total: 0)
            .ConfigureAwait(false);
        var data = sink.ToArray();
        if (!_binary)
        {
            data = FromCrLf(data);
        }

        // Like real servers, what arrived is kept even when the transfer failed.
        var stored = Fs.Write(path, data, offset, append);
        if (stored != ScriptedFileSystem.Result.Ok)
        {
            Server.Write($"#{Info.Id} could not store {path}: {stored}");
        }

        await FinishUploadAsync(d, outcome, aborConsumed).ConfigureAwait(false);
    }

    internal async Task<byte[]?> RunUploadToMemoryAsync(string line)
    {
        var d = await BeginTransferAsync(line, "Ok to send data.").ConfigureAwait(false);
        if (d is null)
        {
            return null;
        }

        using var sink = new MemoryStream();
        var (outcome, aborConsumed) = await MonitorAsync(d, ct => d.ReceiveIntoAsync(sink, ct), watchPeer: false, total: 0)
            .ConfigureAwait(false);
        await FinishUploadAsync(d, outcome, aborConsumed).ConfigureAwait(false);
        return sink.ToArray();
    }

    private async Task ListAsync(string verb, string arg, string line)
    {
        var target = Resolve(verb == "MLSD" ? arg : StripListOptions(arg));
        var entry = Fs.GetEntry(target);
        if (entry is null)
        {
            await ReplyAsync(550, "No such file or directory.").ConfigureAwait(false);
            return;
        }

        if (verb == "MLSD" && !entry.IsDirectory)
        {
            await ReplyAsync(501, "MLSD needs a directory.").ConfigureAwait(false);
            return;
        }

        var lines = ListingLines(verb, target) ?? [];
        var bytes = Encode(string.Concat(lines.Select(l => l + "\r\n")));
        await RunDownloadAsync(line, bytes, "Here comes the directory listing.", applyFaults: false).ConfigureAwait(false);
    }

    /// <summary>Lines of LIST/NLST/MLSD for a path (a directory's children, or the file itself); null if absent.</summary>
    private List<string>? ListingLines(string verb, string path)
    {
        var entry = Fs.GetEntry(path);
        if (entry is null)
        {
            return null;
        }

        IReadOnlyList<ScriptedFileSystemEntry> items = entry.IsDirectory ? Fs.List(path) ?? [] : [entry];
        if (Options.ListingStyle == ScriptedListingStyle.Custom && Options.CustomListing is { } custom
            && custom(new ScriptedListingRequest(verb, path, items, Info.Id)) is { } customLines)
        {
            return customLines.ToList();
        }

        switch (verb)
        {
            case "NLST":
                return items.Select(i => i.Name).ToList();
            case "MLSD":
            {
                var lines = new List<string>();
                if (Options.MlsdIncludesCurrentAndParent)
                {
                    lines.Add(ScriptedListing.MlsxLine(entry, "cdir", ".", _mlstFacts));
                    if (path != "/" && Fs.GetEntry(ScriptedFileSystem.ParentOf(path)) is { } parent)
                    {
                        lines.Add(ScriptedListing.MlsxLine(parent, "pdir", "..", _mlstFacts));
                    }
                }

                lines.AddRange(items.Select(i => ScriptedListing.MlsxLine(i, i.IsDirectory ? "dir" : "file", i.Name, _mlstFacts)));
                return lines;
            }

            default:
                var now = Fs.Clock();
                return Options.ListingStyle == ScriptedListingStyle.Dos
                    ? items.Select(i => ScriptedListing.DosLine(i, Options.ListingTimeZone)).ToList()
                    : items.Select(i => ScriptedListing.UnixLine(i, now, Options.ListingTimeZone)).ToList();
        }
    }

    private async Task MlstAsync(string arg)
    {
        var path = Resolve(arg);
        var entry = Fs.GetEntry(path);
        if (entry is null)
        {
            await ReplyAsync(550, "No such file or directory.").ConfigureAwait(false);
            return;
        }

        var facts = ScriptedListing.MlsxLine(entry, entry.IsDirectory ? "dir" : "file", path, _mlstFacts);
        await ReplyLinesAsync(250, [$"Listing {path}", " " + facts, "End"]).ConfigureAwait(false);
    }

    // ---- the transfer machinery -----------------------------------------------------------------

    /// <summary>Accepts (passive) or opens (active) the data connection, with TLS under PROT P. Null when there is
    /// no PASV/PORT setup, the client did not connect in time, or the TLS handshake failed.</summary>
    internal async Task<ScriptedDataConnection?> OpenDataAsync(string command)
    {
        var d = await OpenDataCoreAsync(command).ConfigureAwait(false);
        return d is { Outcome: ScriptedTransferOutcome.Open } ? d : null;
    }

    private async Task<ScriptedDataConnection?> OpenDataCoreAsync(string command)
    {
        var listener = _passiveListener;
        var target = _activeTarget;
        _passiveListener = null;
        _activeTarget = null;
        if (listener is null && target is null)
        {
            return null;
        }

        var d = Server.NewDataConnection(Info.Id, RedactForRecord(command), passive: listener is not null);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_cts.Token);
        timeout.CancelAfter(Options.DataConnectionTimeout);
        try
        {
            Socket socket;
            if (listener is not null)
            {
                try
                {
                    socket = await listener.AcceptAsync(timeout.Token).ConfigureAwait(false);
                }
                finally
                {
                    listener.Dispose();
                }
            }
            else
            {
                socket = new Socket(target!.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    await socket.ConnectAsync(target, timeout.Token).ConfigureAwait(false);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            }

            socket.NoDelay = true;
            d.Attach(socket);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
        {
            Server.Write($"#{Info.Id} data connection for '{d.Command}' not established: {ex.GetType().Name}");
            d.Outcome = ScriptedTransferOutcome.Failed;
            d.Dispose();
            _cts.Token.ThrowIfCancellationRequested();
            return d;
        }

        if (ProtectData)
        {
            try
            {
                await d.StartTlsAsync(ServerTlsOptions(), Options.DataConnectionTimeout, _cts.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or AuthenticationException or IOException or SocketException)
            {
                Server.Write($"#{Info.Id} data TLS handshake failed: {ex.GetType().Name}: {ex.Message}");
                d.Outcome = ScriptedTransferOutcome.Failed;
                d.Dispose();
                _cts.Token.ThrowIfCancellationRequested();
                return d;
            }
        }

        Server.Write($"#{Info.Id} data connection #{d.Id} up ({(d.IsTls ? $"TLS {d.TlsProtocol}, resumed={d.TlsSessionResumed?.ToString() ?? "?"}" : "clear")})");
        return d;
    }

    private static string RedactForRecord(string command) =>
        command.StartsWith("PASS ", StringComparison.OrdinalIgnoreCase) ? "PASS ****" : command;

    /// <summary>Everything before the data flows: checks, 150 (per timing), connect, TLS, session-reuse policy.</summary>
    private async Task<ScriptedDataConnection?> BeginTransferAsync(string command, string opening)
    {
        if (!HasDataSetup)
        {
            await ReplyAsync(425, "Use PORT or PASV first.").ConfigureAwait(false);
            return null;
        }

        if (Options.RequireProtectedData && !ProtectData)
        {
            await ReplyAsync(521, "Data connections must be encrypted.").ConfigureAwait(false);
            return null;
        }

        var timing = Options.PreliminaryReplyTiming;
        if (timing == ScriptedPreliminaryReply.BeforeDataConnect)
        {
            await ReplyAsync(150, opening).ConfigureAwait(false);
        }

        var d = await OpenDataCoreAsync(command).ConfigureAwait(false);
        if (d is null || !d.Connected)
        {
            await ReplyAsync(425, "Failed to establish connection.").ConfigureAwait(false);
            return null;
        }

        if (d.Outcome == ScriptedTransferOutcome.Failed)
        {
            await ReplyAsync(522, "Data connection TLS negotiation failed.").ConfigureAwait(false);
            return null;
        }

        if (Options.RequireTlsSessionReuse && d.IsTls && d.TlsSessionResumed != true)
        {
            Server.Write($"#{Info.Id} data connection #{d.Id} refused: TLS session not resumed");
            d.Outcome = ScriptedTransferOutcome.Refused;
            d.CloseWithoutCloseNotify();
            await ReplyAsync(425, "Data connection must reuse the TLS session of the control connection.").ConfigureAwait(false);
            return null;
        }

        if (timing == ScriptedPreliminaryReply.AfterDataTlsHandshake)
        {
            await ReplyAsync(150, opening).ConfigureAwait(false);
        }

        return d;
    }

    internal async Task RunDownloadAsync(string command, ReadOnlyMemory<byte> data, string opening, bool applyFaults)
    {
        var d = await BeginTransferAsync(command, opening).ConfigureAwait(false);
        if (d is null)
        {
            return;
        }

        _ = d.WatchPeer();
        long? dropAt = null;
        if (applyFaults && Options.DropDataAfterBytes is { } drop && drop >= 0 && drop <= data.Length && Server.TakeDataDrop())
        {
            dropAt = drop;
        }

        var stallAt = applyFaults ? Options.StallDataAfterBytes : null;
        var (outcome, aborConsumed) = await MonitorAsync(d, ct => SendAsync(d, data, dropAt, stallAt, ct), watchPeer: true, total: data.Length)
            .ConfigureAwait(false);
        await FinishDownloadAsync(d, outcome, aborConsumed).ConfigureAwait(false);
    }

    private static async Task<ScriptedTransferOutcome> SendAsync(
        ScriptedDataConnection d, ReadOnlyMemory<byte> data, long? dropAt, long? stallAt, CancellationToken cancellationToken)
    {
        long pos = 0;
        while (true)
        {
            if (dropAt == pos)
            {
                return ScriptedTransferOutcome.Dropped;
            }

            if (pos >= data.Length)
            {
                return ScriptedTransferOutcome.Completed;
            }

            if (stallAt == pos)
            {
                // Nothing more until ABOR, the client closing, or shutdown cancels us.
                await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
            }

            var limit = (long)data.Length;
            if (dropAt is { } da && da > pos)
            {
                limit = Math.Min(limit, da);
            }

            if (stallAt is { } sa && sa > pos)
            {
                limit = Math.Min(limit, sa);
            }

            var n = (int)Math.Min(ChunkSize, limit - pos);
            await d.WriteAsync(data.Slice((int)pos, n), cancellationToken).ConfigureAwait(false);
            pos += n;
        }
    }

    /// <summary>Runs <paramref name="work"/> while watching the control connection for ABOR and (downloads) the data
    /// connection for the client closing it. A command other than ABOR is left for the command loop.</summary>
    private async Task<(ScriptedTransferOutcome Outcome, bool AborConsumed)> MonitorAsync(
        ScriptedDataConnection d,
        Func<CancellationToken, Task<ScriptedTransferOutcome>> work,
        bool watchPeer,
        long total)
    {
        using var transferCts = CancellationTokenSource.CreateLinkedTokenSource(_cts.Token);
        var workTask = work(transferCts.Token);
        var peerTask = watchPeer ? d.PeerClosed : null;
        Task<ControlLine?>? lineTask = NextLineTask();
        _inTransfer = true;
        try
        {
            while (true)
            {
                var waits = new List<Task>(3) { workTask };
                if (peerTask is not null)
                {
                    waits.Add(peerTask);
                }

                if (lineTask is not null)
                {
                    waits.Add(lineTask);
                }

                var done = await Task.WhenAny(waits).ConfigureAwait(false);
                if (done == workTask)
                {
                    return (await ObserveAsync(workTask).ConfigureAwait(false), false);
                }

                if (done == peerTask)
                {
                    peerTask = null;
                    if (workTask.IsCompleted)
                    {
                        continue;
                    }

                    await transferCts.CancelAsync().ConfigureAwait(false);
                    var r = await ObserveAsync(workTask).ConfigureAwait(false);
                    return (r is ScriptedTransferOutcome.Completed or ScriptedTransferOutcome.Dropped ? r
                        : d.BytesSent >= total ? ScriptedTransferOutcome.Completed : ScriptedTransferOutcome.ClientClosed, false);
                }

                ControlLine? line;
                try
                {
                    line = await lineTask!.ConfigureAwait(false);
                }
                catch
                {
                    _pendingRead = null;
                    await transferCts.CancelAsync().ConfigureAwait(false);
                    await ObserveAsync(workTask).ConfigureAwait(false);
                    throw;
                }

                if (line is null)
                {
                    _pendingRead = null;
                    Server.Write($"#{Info.Id} control connection closed during a transfer");
                    Close(reset: false);
                    await transferCts.CancelAsync().ConfigureAwait(false);
                    await ObserveAsync(workTask).ConfigureAwait(false);
                    return (ScriptedTransferOutcome.Failed, false);
                }

                var text = Decode(line.Bytes);
                var (verb, argument) = Split(text);
                if (line.TooLong || verb != "ABOR")
                {
                    // Handled after the transfer, like servers that do not read commands while transferring.
                    lineTask = null;
                    continue;
                }

                _pendingRead = null;
                Server.RecordCommand(Info.Id, verb, argument, text, Info.IsTls, Info.IsLoggedIn, duringTransfer: true);
                if (Server.ShouldDropControl(verb))
                {
                    Close(Options.DropControlWithReset);
                    await transferCts.CancelAsync().ConfigureAwait(false);
                    await ObserveAsync(workTask).ConfigureAwait(false);
                    return (ScriptedTransferOutcome.Failed, true);
                }

                if (workTask.IsCompletedSuccessfully && workTask.Result == ScriptedTransferOutcome.Completed)
                {
                    return (ScriptedTransferOutcome.Completed, true);
                }

                await transferCts.CancelAsync().ConfigureAwait(false);
                var result = await ObserveAsync(workTask).ConfigureAwait(false);
                return (result == ScriptedTransferOutcome.Completed ? result : ScriptedTransferOutcome.Aborted, true);
            }
        }
        finally
        {
            _inTransfer = false;
        }
    }

    private async Task<ScriptedTransferOutcome> ObserveAsync(Task<ScriptedTransferOutcome> work)
    {
        try
        {
            return await work.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return ScriptedTransferOutcome.Failed;
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or AuthenticationException)
        {
            Server.Write($"#{Info.Id} data transfer ended by the peer: {ex.GetType().Name}");
            return ScriptedTransferOutcome.ClientClosed;
        }
    }

    private async Task FinishDownloadAsync(ScriptedDataConnection d, ScriptedTransferOutcome outcome, bool aborConsumed)
    {
        d.Outcome = outcome;
        switch (outcome)
        {
            case ScriptedTransferOutcome.Completed:
                if (Options.FinalReplyTiming == ScriptedFinalReplyTiming.BeforeDataClose)
                {
                    await ReplyAsync(226, "Transfer complete.").ConfigureAwait(false);
                    await d.CloseAsync(Options.SendDataCloseNotify).ConfigureAwait(false);
                }
                else
                {
                    await d.CloseAsync(Options.SendDataCloseNotify).ConfigureAwait(false);
                    await ReplyAsync(226, "Transfer complete.").ConfigureAwait(false);
                }

                if (aborConsumed)
                {
                    await ReplyAsync(226, "ABOR command successful.").ConfigureAwait(false);
                }

                break;

            case ScriptedTransferOutcome.Dropped:
                Server.Write($"#{Info.Id} dropping data connection #{d.Id} after {d.BytesSent} bytes ({Options.DropDataMode})");
                if (Options.DropDataMode == ScriptedDataDrop.Reset)
                {
                    d.Reset();
                }
                else
                {
                    d.CloseWithoutCloseNotify();
                }

                if (Options.DropDataFinalReply is { } reply)
                {
                    await SendLineAsync(reply).ConfigureAwait(false);
                }

                break;

            case ScriptedTransferOutcome.Aborted or ScriptedTransferOutcome.ClientClosed:
                d.CloseWithoutCloseNotify();
                await SendAbortRepliesAsync(aborReceived: outcome == ScriptedTransferOutcome.Aborted).ConfigureAwait(false);
                break;

            default:
                d.Dispose();
                break;
        }
    }

    private async Task SendAbortRepliesAsync(bool aborReceived)
    {
        if (Options.AbortBehavior == ScriptedAbortBehavior.CloseControlConnection)
        {
            Close(reset: false);
            return;
        }

        var (transferReply, aborReply) = Options.AbortReplies();
        if (transferReply is not null)
        {
            await SendLineAsync(transferReply).ConfigureAwait(false);
        }

        if (aborReceived)
        {
            if (aborReply is not null)
            {
                await SendLineAsync(aborReply).ConfigureAwait(false);
            }
        }
        else
        {
            // The client closed the data connection; its ABOR (if any) is the next command.
            _abortReplyPending = true;
            _pendingAborReply = aborReply;
        }
    }

    private async Task FinishUploadAsync(ScriptedDataConnection d, ScriptedTransferOutcome outcome, bool aborConsumed)
    {
        switch (outcome)
        {
            case ScriptedTransferOutcome.Completed:
                var truncated = Options.RequireCloseNotifyOnUpload && d.IsTls && d.ClientSentCloseNotify != true;
                d.Outcome = truncated ? ScriptedTransferOutcome.Failed : ScriptedTransferOutcome.Completed;
                await d.CloseAsync(Options.SendDataCloseNotify).ConfigureAwait(false);
                await (truncated
                    ? ReplyAsync(426, "Failure reading network stream: data connection ended without TLS close_notify.")
                    : ReplyAsync(226, "Transfer complete.")).ConfigureAwait(false);
                if (aborConsumed)
                {
                    await ReplyAsync(226, "ABOR command successful.").ConfigureAwait(false);
                }

                break;

            case ScriptedTransferOutcome.Aborted:
                d.Outcome = outcome;
                d.CloseWithoutCloseNotify();
                await ReplyAsync(426, "Transfer aborted.").ConfigureAwait(false);
                await ReplyAsync(226, "ABOR command successful.").ConfigureAwait(false);
                break;

            case ScriptedTransferOutcome.ClientClosed:
                d.Outcome = outcome;
                d.Dispose();
                await ReplyAsync(426, "Failure reading network stream.").ConfigureAwait(false);
                break;

            default:
                d.Outcome = outcome;
                d.Dispose();
                break;
        }
    }

    private static byte[] ToCrLf(ReadOnlySpan<byte> data)
    {
        var output = new List<byte>(data.Length + (data.Length / 16));
        for (var i = 0; i < data.Length; i++)
        {
            if (data[i] == (byte)'\n' && (i == 0 || data[i - 1] != (byte)'\r'))
            {
                output.Add((byte)'\r');
            }

            output.Add(data[i]);
        }

        return [.. output];
    }

    private static byte[] FromCrLf(byte[] data)
    {
        var output = new List<byte>(data.Length);
        for (var i = 0; i < data.Length; i++)
        {
            if (data[i] == (byte)'\r' && i + 1 < data.Length && data[i + 1] == (byte)'\n')
            {
                continue;
            }

            output.Add(data[i]);
        }

        return [.. output];
    }
}
