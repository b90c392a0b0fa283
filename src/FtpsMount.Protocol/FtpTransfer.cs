using System.Net.Sockets;
using FtpsMount.Protocol.Control;
using FtpsMount.Protocol.Tls;

namespace FtpsMount.Protocol;

/// <summary>
/// One data transfer (RETR, STOR, APPE, LIST...) as a Stream. It holds its session until
/// <see cref="CompleteAsync"/> or <see cref="AbortAsync"/> returns (DisposeAsync aborts if neither was called).
/// Reads and writes are bounded by the data idle timeout: a stalled server fails the call, never hangs it.
/// </summary>
public sealed class FtpTransfer : Stream
{
    private readonly FtpSession _session;
    private readonly ControlChannel _control;
    private readonly string _command;
    private readonly Socket _socket;
    private readonly Stream _stream;
    private readonly TlsStream? _tls;
    private readonly bool _upload;
    private readonly IFtpLogger _log;
    private Task<FtpReply> _pendingReply;
    private bool _eof;
    private bool _ended;
    private bool _dataClosed;
    private long _bytes;

    internal FtpTransfer(FtpSession session, ControlChannel control, string command, Socket socket, Stream stream, TlsStream? tls,
        Task<FtpReply> pendingReply, bool upload, IFtpLogger log)
    {
        _session = session;
        _control = control;
        _command = command;
        _socket = socket;
        _stream = stream;
        _tls = tls;
        _pendingReply = pendingReply;
        _upload = upload;
        _log = log;
    }

    /// <summary>Bytes read or written so far.</summary>
    public long BytesTransferred => _bytes;

    /// <summary>The transfer's final reply once <see cref="CompleteAsync"/> returned.</summary>
    public FtpReply? FinalReply { get; private set; }

    /// <summary>For TLS data connections: whether the server ended the data with close_notify (a clean end).</summary>
    public bool ReceivedCloseNotify => _tls?.ReceivedCloseNotify ?? false;

    /// <summary>Whether the data connection resumed the control connection's TLS session.</summary>
    public bool TlsSessionReused => _tls?.Info.SessionReused ?? false;

    public override bool CanRead => !_upload;
    public override bool CanWrite => _upload;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _bytes; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_upload)
        {
            throw new NotSupportedException("This transfer is an upload.");
        }

        ObjectDisposedException.ThrowIf(_ended, this);
        if (_eof || buffer.Length == 0)
        {
            return 0;
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(_session.Timeouts.DataIdle);
        try
        {
            var read = await _stream.ReadAsync(buffer, cts.Token).ConfigureAwait(false);
            if (read == 0)
            {
                _eof = true;
            }

            _bytes += read;
            return read;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new FtpTimeoutException($"{ControlChannel.Verb(_command)}: no data for {_session.Timeouts.DataIdle.TotalSeconds:0.#} s; the transfer stalled.");
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            throw new FtpConnectionException($"{ControlChannel.Verb(_command)}: the data connection failed after {_bytes} bytes: {ex.Message}", ex);
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!_upload)
        {
            throw new NotSupportedException("This transfer is a download.");
        }

        ObjectDisposedException.ThrowIf(_ended, this);
        if (_pendingReply.IsCompleted && _pendingReply.Result is { IsSuccess: false } refused)
        {
            throw new FtpReplyException(_command, refused);
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(_session.Timeouts.DataIdle);
        try
        {
            await _stream.WriteAsync(buffer, cts.Token).ConfigureAwait(false);
            _bytes += buffer.Length;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new FtpTimeoutException($"{ControlChannel.Verb(_command)}: the server accepted no data for {_session.Timeouts.DataIdle.TotalSeconds:0.#} s.");
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            throw new FtpConnectionException($"{ControlChannel.Verb(_command)}: the data connection failed after {_bytes} bytes: {ex.Message}", ex);
        }
    }

    public override void Flush() { }

    public override Task FlushAsync(CancellationToken cancellationToken) => _stream.FlushAsync(cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>
    /// Ends the transfer normally: for a download, after the stream returned 0; for an upload, after the last
    /// write. Closes the data connection cleanly (TLS close_notify; vsftpd answers 426/421 without it) and
    /// returns the server's final reply (226/250). Throws <see cref="FtpReplyException"/> when the server
    /// reports the transfer failed: the data read or written must then be treated as incomplete.
    /// A download not yet at its end is stopped early instead (see <see cref="AbortAsync"/>) and this throws.
    /// </summary>
    public async Task<FtpReply> CompleteAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_ended, this);
        if (!_upload && !_eof)
        {
            await AbortAsync(cancellationToken).ConfigureAwait(false);
            throw new InvalidOperationException("CompleteAsync was called before the download reached its end; the transfer was stopped early instead.");
        }

        try
        {
            await CloseDataAsync(clean: true, cancellationToken).ConfigureAwait(false);
            var reply = await ReadFinalReplyAsync(cancellationToken).ConfigureAwait(false);
            FinalReply = reply;
            if (!reply.IsPositiveCompletion)
            {
                throw new FtpReplyException(_command, reply);
            }

            if (_tls is not null && !_upload && !_tls.ReceivedCloseNotify && _log.IsEnabled(FtpLogLevel.Debug))
            {
                _log.Log(FtpLogLevel.Debug, $"{ControlChannel.Verb(_command)}: data connection ended without TLS close_notify; trusting the server's {reply.Code}.");
            }

            return reply;
        }
        catch (OperationCanceledException)
        {
            _control.MarkBroken("cancelled while completing a transfer");
            throw;
        }
        finally
        {
            End();
        }
    }

    /// <summary>
    /// Stops the transfer early (e.g. a ranged read has what it needs). Closes the data connection, then
    /// resynchronises the control connection: whatever the server says about the cut transfer (426, 226,
    /// 225, 450, 451 in any order) is consumed up to the reply to a NOOP, bounded by the abort timeout. If
    /// that fails the session is marked unusable (a pool drops it). Never throws for the server's complaints.
    /// </summary>
    public async Task AbortAsync(CancellationToken cancellationToken = default)
    {
        if (_ended)
        {
            return;
        }

        var seen = new List<int>();
        try
        {
            await CloseDataAsync(clean: false, cancellationToken).ConfigureAwait(false);
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(_session.Timeouts.Abort);
            var first = await _pendingReply.WaitAsync(cts.Token).ConfigureAwait(false);
            seen.Add(first.Code);
            if (_control.IsBroken || first.Code == 421)
            {
                _session.Aborts.Record(kept: false, string.Join(",", seen));
                return;
            }

            // Resynchronise. ABOR makes every server finish the transfer now (some send nothing for a cut transfer
            // until asked); NOOP's 200 is the sentinel that marks the end of what the transfer and ABOR produce.
            // Both the sentinel and at least one final reply must be consumed, in whatever order they come:
            // RFC 959 says 426 then 226; servers also send 226 then 225, a lone 225, 451, or answer NOOP first.
            await _control.SendAsync("ABOR", cts.Token).ConfigureAwait(false);
            await _control.SendAsync("NOOP", cts.Token).ConfigureAwait(false);
            var finalSeen = !first.IsPositivePreliminary;
            var noopSeen = false;
            while (!(finalSeen && noopSeen))
            {
                var reply = await _control.ReadReplyAsync(cts.Token, _session.Timeouts.Abort).ConfigureAwait(false);
                seen.Add(reply.Code);
                if (reply.Code == 421)
                {
                    _session.Aborts.Record(kept: false, string.Join(",", seen));
                    return;
                }

                if (reply.Code == 200 && !noopSeen)
                {
                    noopSeen = true;
                }
                else if (!reply.IsPositivePreliminary)
                {
                    finalSeen = true;
                }

                if (seen.Count > 8)
                {
                    _control.MarkBroken("too many replies after an aborted transfer");
                    break;
                }
            }

            _session.Aborts.Record(kept: !_control.IsBroken, string.Join(",", seen));
        }
        catch (Exception ex) when (ex is FtpException or OperationCanceledException or IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            _control.MarkBroken("could not resynchronise after stopping a transfer early: " + ex.Message);
            _session.Aborts.Record(kept: false, string.Join(",", seen));
            if (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
        }
        finally
        {
            End();
        }
    }

    private async Task<FtpReply> ReadFinalReplyAsync(CancellationToken ct)
    {
        var limit = _session.Timeouts.TransferClose > _control.CommandTimeout ? _session.Timeouts.TransferClose : _control.CommandTimeout;
        FtpReply reply;
        try
        {
            reply = await _pendingReply.WaitAsync(limit, _session.Time, ct).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _control.MarkBroken("no reply after a transfer");
            throw new FtpTimeoutException($"{ControlChannel.Verb(_command)}: the server did not confirm the transfer within {limit.TotalSeconds:0.#} s.");
        }

        if (reply.IsPositivePreliminary)
        {
            reply = await _control.ReadReplyAsync(ct, limit).ConfigureAwait(false);
        }

        return reply;
    }

    private async Task CloseDataAsync(bool clean, CancellationToken ct)
    {
        if (_dataClosed)
        {
            return;
        }

        _dataClosed = true;
        try
        {
            if (_tls is not null)
            {
                // Upload: our close_notify is the end-of-file mark; wait (bounded) for the server's answer so it has
                // read everything. Download at EOF: the server's close_notify already came; send ours and go.
                var wait = clean && _upload ? _session.Timeouts.TransferClose : TimeSpan.Zero;
                await _tls.ShutdownAsync(wait, ct).ConfigureAwait(false);
            }
            else if (clean && _upload)
            {
                _socket.Shutdown(SocketShutdown.Send);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or FtpException or ObjectDisposedException)
        {
            _log.Log(FtpLogLevel.Debug, $"{ControlChannel.Verb(_command)}: closing the data connection: {ex.Message}");
        }
        finally
        {
            if (!clean)
            {
                // Reset rather than FIN: the server's pending writes fail at once instead of filling buffers.
                _socket.LingerState = new LingerOption(true, 0);
            }

            await _stream.DisposeAsync().ConfigureAwait(false);
            _socket.Dispose();
        }
    }

    private void End()
    {
        if (!_ended)
        {
            _ended = true;
            _session.TransferEnded();
        }
    }

    public override async ValueTask DisposeAsync()
    {
        if (!_ended)
        {
            await AbortAsync().ConfigureAwait(false);
        }

        await base.DisposeAsync().ConfigureAwait(false);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_ended)
        {
            // Synchronous disposal cannot resynchronise the control connection: drop the session.
            _control.MarkBroken("transfer disposed synchronously without completion");
            _dataClosed = true;
            _socket.Dispose();
            _stream.Dispose();
            End();
        }

        base.Dispose(disposing);
    }
}
