using System.Globalization;
using System.Net;
using System.Net.Sockets;
using FtpsMount.Protocol.Data;

namespace FtpsMount.Protocol;

/// <summary>How an upload lands on the server.</summary>
public enum FtpWriteMode
{
    /// <summary>STOR: create or replace.</summary>
    Create,
    /// <summary>APPE: append to the end (creates the file if missing).</summary>
    Append,
    /// <summary>REST offset + STOR: overwrite from an offset (resume); needs REST STREAM.</summary>
    Resume,
}

public sealed partial class FtpSession
{
    /// <summary>Starts a download (RETR), optionally from <paramref name="offset"/> (REST). Read the returned
    /// stream, then call <see cref="FtpTransfer.CompleteAsync"/> at its end or <see cref="FtpTransfer.AbortAsync"/>
    /// to stop early. The session is busy until one of them returns.</summary>
    public Task<FtpTransfer> OpenReadAsync(string path, long offset = 0, CancellationToken cancellationToken = default)
    {
        FtpPath.Validate(path);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        return StartTransferAsync("RETR " + path, offset, upload: false, cancellationToken);
    }

    /// <summary>Starts an upload: STOR, APPE, or REST+STOR from <paramref name="offset"/>. Write, then
    /// <see cref="FtpTransfer.CompleteAsync"/> returns once the server confirmed the whole file (226/250).</summary>
    public Task<FtpTransfer> OpenWriteAsync(string path, FtpWriteMode mode = FtpWriteMode.Create, long offset = 0, CancellationToken cancellationToken = default)
    {
        FtpPath.Validate(path);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        return mode switch
        {
            FtpWriteMode.Create => StartTransferAsync("STOR " + path, 0, upload: true, cancellationToken),
            FtpWriteMode.Append => StartTransferAsync("APPE " + path, 0, upload: true, cancellationToken),
            FtpWriteMode.Resume => StartTransferAsync("STOR " + path, offset, upload: true, cancellationToken),
            _ => throw new ArgumentOutOfRangeException(nameof(mode)),
        };
    }

    /// <summary>Reads a whole listing data transfer (MLSD/LIST/NLST) into lines.</summary>
    private async Task<IReadOnlyList<string>> ReadListingLinesAsync(string command, CancellationToken ct)
    {
        var transfer = await StartTransferAsync(command, 0, upload: false, ct, alreadyEntered: true).ConfigureAwait(false);
        await using (transfer.ConfigureAwait(false))
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[64 * 1024];
            int read;
            while ((read = await transfer.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
            {
                buffer.Write(chunk, 0, read);
                if (buffer.Length > MaxListingBytes)
                {
                    await transfer.AbortAsync(ct).ConfigureAwait(false);
                    throw new FtpProtocolException($"Directory listing is larger than {MaxListingBytes / (1024 * 1024)} MB; refusing to buffer it.");
                }
            }

            await transfer.CompleteAsync(ct).ConfigureAwait(false);
            return SplitLines(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
        }
    }

    internal const int MaxListingBytes = 256 * 1024 * 1024;

    private List<string> SplitLines(ReadOnlySpan<byte> data)
    {
        var lines = new List<string>();
        var decoder = new LineDecoder(_control.Encoding, _control.Reader.FallbackEncoding);
        while (data.Length > 0)
        {
            var lf = data.IndexOf((byte)'\n');
            var line = lf < 0 ? data : data[..lf];
            if (line.Length > 0 && line[^1] == (byte)'\r')
            {
                line = line[..^1];
            }

            if (line.Length > 0)
            {
                lines.Add(decoder.Decode(line));
            }

            data = lf < 0 ? default : data[(lf + 1)..];
        }

        return lines;
    }

    private async Task<FtpTransfer> StartTransferAsync(string command, long offset, bool upload, CancellationToken ct, bool alreadyEntered = false)
    {
        var lease = alreadyEntered ? default(Lease?) : Enter();
        var handedOver = false;
        Socket? dataSocket = null;
        Socket? listener = null;
        try
        {
            await EnsureTypeAsync("I", ct).ConfigureAwait(false);
            if (_options.Data.Type == DataConnectionType.Active)
            {
                listener = await OpenActiveListenerAsync(ct).ConfigureAwait(false);
            }
            else
            {
                dataSocket = await OpenPassiveAsync(ct).ConfigureAwait(false);
            }

            if (offset > 0)
            {
                var rest = await _control.ExecuteAsync("REST " + offset.ToString(CultureInfo.InvariantCulture), ct).ConfigureAwait(false);
                if (rest.Code != 350)
                {
                    throw new FtpReplyException("REST " + offset.ToString(CultureInfo.InvariantCulture), rest);
                }
            }

            await _control.SendAsync(command, ct).ConfigureAwait(false);

            // The preliminary reply (150/125) and the data connection race: pure-ftpd sends 150 only after the
            // data connection's TLS handshake, most servers send it first, a few send no 1xx at all. So the reply
            // is read concurrently with connecting; a negative reply cancels the connection attempt.
            using var connectCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var replyTask = _control.ReadReplyAsync(CancellationToken.None, Timeout.InfiniteTimeSpan);
            var connectTask = ConnectDataAsync(dataSocket, listener, connectCts.Token);
            var commandDeadline = Task.Delay(_control.CommandTimeout, _time, ct);

            // PROT C passive sockets are "connected" at once; wait for the verdict on the command first there.
            var first = await Task.WhenAny(replyTask, connectTask, commandDeadline).ConfigureAwait(false);
            if (first == commandDeadline)
            {
                _control.MarkBroken($"no reply to {Control.ControlChannel.Verb(command)} and no data connection");
                await connectCts.CancelAsync().ConfigureAwait(false);
                throw new FtpTimeoutException($"{Control.ControlChannel.Verb(command)}: neither a reply nor a data connection within {_control.CommandTimeout.TotalSeconds:0.#} s.");
            }

            if (first == replyTask || (connectTask.IsCompletedSuccessfully && !Security.DataProtected && _options.Data.Type == DataConnectionType.Passive))
            {
                var reply = await AwaitWithDeadline(replyTask, commandDeadline, command, ct).ConfigureAwait(false);
                if (!reply.IsPositivePreliminary && !reply.IsPositiveCompletion)
                {
                    await connectCts.CancelAsync().ConfigureAwait(false);
                    await ObserveQuietly(connectTask).ConfigureAwait(false);
                    throw new FtpReplyException(command, reply);
                }

                DataConnection stream;
                try
                {
                    stream = await AwaitWithDeadline(connectTask, commandDeadline, command, ct).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or (FtpException and not FtpTimeoutException))
                {
                    // The server accepted the command (1xx) but the data connection failed: its final reply (425/426)
                    // is still to come at some point, so this conversation is out of step. Drop the session.
                    _control.MarkBroken("data connection failed after the server accepted " + Control.ControlChannel.Verb(command));
                    throw ex as FtpException ?? DataConnectionFailure(command, ex, null);
                }

                handedOver = true;
                return new FtpTransfer(this, _control, command, stream.Socket, stream.Stream, stream.Tls, Task.FromResult(reply), upload, _log);
            }

            DataConnection connection;
            try
            {
                connection = await connectTask.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is FtpException or IOException or SocketException or OperationCanceledException && !ct.IsCancellationRequested)
            {
                // The data connection failed: the server will report that on the control connection (425/426).
                FtpReply? verdict = null;
                try
                {
                    verdict = await AwaitWithDeadline(replyTask, commandDeadline, command, ct).ConfigureAwait(false);
                    if (verdict.IsPositivePreliminary)
                    {
                        verdict = await _control.ReadReplyAsync(ct).ConfigureAwait(false);
                    }
                }
                catch (FtpException)
                {
                    // Timed out or broken: already marked; report the data-connection failure below.
                }

                throw DataConnectionFailure(command, ex, verdict);
            }

            handedOver = true;
            return new FtpTransfer(this, _control, command, connection.Socket, connection.Stream, connection.Tls, replyTask, upload, _log);
        }
        catch (OperationCanceledException)
        {
            _control.MarkBroken("cancelled while starting a transfer");
            throw;
        }
        finally
        {
            if (!handedOver)
            {
                dataSocket?.Dispose();
                if (lease is { } l)
                {
                    l.Dispose();
                }
            }

            listener?.Dispose();
        }
    }

    private FtpException DataConnectionFailure(string command, Exception ex, FtpReply? verdict)
    {
        var hint = _options.Data.Type == DataConnectionType.Passive
            ? "The data connection (passive mode) could not be set up. A firewall or NAT between you and the server may block the server's passive port range, or the server may require TLS session reuse. Try --active, or ask the administrator to open the passive ports."
            : "The server could not connect back (active mode). A firewall or NAT on your side probably blocks incoming connections; passive mode (the default) usually works better.";
        if (verdict is { IsSuccess: false } && verdict.Code is not (425 or 426))
        {
            // The server refused the command itself (550 no such file, 553 bad name...): that is the real cause;
            // the failed data connection is only its consequence.
            return new FtpReplyException(command, verdict);
        }

        var message = $"{Control.ControlChannel.Verb(command)}: {ex.Message}" + (verdict is null ? string.Empty : $" Server said: {verdict}.") + " " + hint;
        return verdict is { IsSuccess: false }
            ? new FtpConnectionException(message, new FtpReplyException(Control.ControlChannel.Verb(command), verdict))
            : new FtpConnectionException(message, ex);
    }

    private async Task<T> AwaitWithDeadline<T>(Task<T> task, Task deadline, string command, CancellationToken ct)
    {
        if (await Task.WhenAny(task, deadline).ConfigureAwait(false) == deadline)
        {
            ct.ThrowIfCancellationRequested();
            _control.MarkBroken("transfer start timed out");
            throw new FtpTimeoutException($"{Control.ControlChannel.Verb(command)} did not start within {_control.CommandTimeout.TotalSeconds:0.#} s.");
        }

        return await task.ConfigureAwait(false);
    }

    private static async Task ObserveQuietly(Task<DataConnection> task)
    {
        try
        {
            var connection = await task.ConfigureAwait(false);
            await connection.Stream.DisposeAsync().ConfigureAwait(false);
            connection.Socket.Dispose();
        }
        catch (Exception)
        {
            // Expected: we cancelled it because the command was refused.
        }
    }

    private sealed record DataConnection(Socket Socket, Stream Stream, Tls.TlsStream? Tls);

    private async Task<DataConnection> ConnectDataAsync(Socket? passive, Socket? listener, CancellationToken ct)
    {
        Socket socket;
        if (listener is not null)
        {
            socket = await listener.AcceptAsync(ct).ConfigureAwait(false);
            var caller = (IPEndPoint)socket.RemoteEndPoint!;
            if (!caller.Address.Equals(_control.RemoteEndPoint.Address))
            {
                socket.Dispose();
                throw new FtpSecurityException($"Refused an active-mode data connection from {caller.Address}: only the server ({_control.RemoteEndPoint.Address}) may connect.");
            }

            socket.NoDelay = true;
        }
        else
        {
            socket = passive!;
        }

        // Read the peer before the handshake: once the server resets the connection, RemoteEndPoint throws.
        var remote = (IPEndPoint)socket.RemoteEndPoint!;
        var network = new NetworkStream(socket, ownsSocket: false);
        if (!Security.DataProtected)
        {
            RecordDataConnection(new DataConnectionInfo(_lastDataMode, remote, null));
            return new DataConnection(socket, network, null);
        }

        try
        {
            var tls = await _tls!.ConnectDataAsync(network, _control.Tls!, ServerName, ct).ConfigureAwait(false);
            RecordDataConnection(new DataConnectionInfo(_lastDataMode, remote, tls.Info));
            return new DataConnection(socket, tls, tls);
        }
        catch
        {
            await network.DisposeAsync().ConfigureAwait(false);
            if (listener is not null)
            {
                socket.Dispose();
            }

            throw;
        }
    }

    private async Task<Socket> OpenPassiveAsync(CancellationToken ct)
    {
        var peer = _control.RemoteEndPoint;
        IPEndPoint target;
        if (!_epsvFailed && !_options.Data.DisableEpsv)
        {
            var epsv = await _control.ExecuteAsync("EPSV", ct).ConfigureAwait(false);
            if (epsv.Code == 229)
            {
                target = new IPEndPoint(peer.Address, PassiveReplyParser.ParseEpsv(epsv));
                _lastDataMode = "EPSV";
                return await ConnectPassiveAsync(target, ct).ConfigureAwait(false);
            }

            if (epsv.Code == 421)
            {
                throw new FtpReplyException("EPSV", epsv);
            }

            _epsvFailed = true;
            _log.Log(FtpLogLevel.Debug, $"EPSV refused ({epsv}); using PASV from now on.");
        }

        var pasv = await _control.ExecuteAsync("PASV", ct).ConfigureAwait(false);
        if (pasv.Code != 227)
        {
            throw new FtpReplyException("PASV", pasv);
        }

        var named = PassiveReplyParser.ParsePasv(pasv);
        _lastDataMode = "PASV";
        if (_options.Data.TrustPassiveAddress)
        {
            target = named;
        }
        else
        {
            // Bounce safety: connect to the host we already talk to, whatever address PASV names (it is often a
            // private address behind NAT, and a hostile server could name a third party).
            if (!named.Address.Equals(peer.Address) && _log.IsEnabled(FtpLogLevel.Debug))
            {
                _log.Log(FtpLogLevel.Debug, $"PASV named {named.Address}; connecting to the control peer {peer.Address} instead (use --trust-pasv to follow it).");
            }

            target = new IPEndPoint(peer.Address, named.Port);
        }

        return await ConnectPassiveAsync(target, ct).ConfigureAwait(false);
    }

    private async Task<Socket> ConnectPassiveAsync(IPEndPoint target, CancellationToken ct)
    {
        if (target.Port < 1024 && target.Port != _control.RemoteEndPoint.Port - 1)
        {
            // A passive port below 1024 is never legitimate for a data connection (except the classic L-1 for
            // active mode, not passive); refusing stops a server from aiming us at SMTP, SSH and the like.
            _control.MarkBroken("passive reply named a privileged port");
            throw new FtpProtocolException($"The server asked for a data connection to privileged port {target.Port}; refused.");
        }

        var socket = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(_options.Timeouts.Connect);
        try
        {
            await socket.ConnectAsync(target, cts.Token).ConfigureAwait(false);
            return socket;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            socket.Dispose();
            // The server is now waiting for a connection that won't come; the next command resets that on every
            // server we know, so the session stays usable.
            throw new FtpConnectionException(
                $"Cannot open the passive data connection to {target}: {(ex is SocketException se ? se.Message : "timed out")}. " +
                "A firewall may block the server's passive port range; try --active, or ask the administrator to open those ports.", ex);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task<Socket> OpenActiveListenerAsync(CancellationToken ct)
    {
        var local = _options.Data.ActiveAddress ?? _control.LocalEndPoint.Address;
        var listener = new Socket(local.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(new IPEndPoint(_control.LocalEndPoint.Address, 0));
            listener.Listen(1);
            var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
            if (!_eprtFailed)
            {
                var family = local.AddressFamily == AddressFamily.InterNetworkV6 ? 2 : 1;
                var eprt = await _control.ExecuteAsync(string.Create(CultureInfo.InvariantCulture, $"EPRT |{family}|{local}|{port}|"), ct).ConfigureAwait(false);
                if (eprt.IsPositiveCompletion)
                {
                    _lastDataMode = "EPRT";
                    return listener;
                }

                _eprtFailed = true;
                _log.Log(FtpLogLevel.Debug, $"EPRT refused ({eprt}); using PORT from now on.");
            }

            if (local.AddressFamily != AddressFamily.InterNetwork)
            {
                throw new FtpProtocolException("The server refused EPRT and PORT cannot express an IPv6 address.");
            }

            var b = local.GetAddressBytes();
            var portReply = await _control.ExecuteAsync(string.Create(CultureInfo.InvariantCulture, $"PORT {b[0]},{b[1]},{b[2]},{b[3]},{port >> 8},{port & 0xff}"), ct).ConfigureAwait(false);
            if (!portReply.IsPositiveCompletion)
            {
                throw new FtpReplyException("PORT", portReply);
            }

            _lastDataMode = "PORT";
            return listener;
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    /// <summary>What the most recent data connection negotiated (for diagnostics such as <c>ftpsmount probe</c>).</summary>
    public DataConnectionInfo? LastDataConnection { get; private set; }

    private string _lastDataMode = "PASV";

    internal void RecordDataConnection(DataConnectionInfo info) => LastDataConnection = info;

    /// <summary>Called by <see cref="FtpTransfer"/> when it has finished (cleanly or not).</summary>
    internal void TransferEnded() => Leave();

    internal TimeoutOptions Timeouts => _options.Timeouts;
    internal TimeProvider Time => _time;
}

/// <summary>How one data connection was made.</summary>
/// <param name="Mode">"EPSV", "PASV", "EPRT" or "PORT".</param>
/// <param name="Remote">The server end of the data connection.</param>
/// <param name="Tls">Null for PROT C.</param>
public sealed record DataConnectionInfo(string Mode, System.Net.IPEndPoint Remote, Tls.TlsSessionInfo? Tls);

/// <summary>Decodes listing lines as UTF-8, falling back per line for bytes that are not.</summary>
internal sealed class LineDecoder(System.Text.Encoding primary, System.Text.Encoding fallback)
{
    private static readonly System.Text.UTF8Encoding StrictUtf8 = new(false, true);

    public string Decode(ReadOnlySpan<byte> line)
    {
        if (primary is System.Text.UTF8Encoding)
        {
            try
            {
                return StrictUtf8.GetString(line);
            }
            catch (System.Text.DecoderFallbackException)
            {
                return fallback.GetString(line);
            }
        }

        return primary.GetString(line);
    }
}
