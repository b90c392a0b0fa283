using FtpsMount.Protocol;

namespace FtpsMount.Core.Pool;

/// <summary>
/// One session on loan from a <see cref="SessionPool"/>. Dispose it to give the session back; before that, complete
/// or abort every <see cref="FtpTransfer"/> opened on it (a session returned with a transfer still open is dropped, not
/// reused). If an operation failed in a way that may leave the connection out of step, call <see cref="Fail"/> so the
/// pool closes the session instead of handing it to the next caller (sessions that report
/// <see cref="FtpSession.IsUsable"/> false are dropped anyway).
/// </summary>
public sealed class SessionLease : IAsyncDisposable
{
    private readonly SessionPool _pool;
    private readonly PooledSession _entry;
    private Exception? _failure;
    private int _returned;

    internal SessionLease(SessionPool pool, PooledSession entry, SessionUse use)
    {
        _pool = pool;
        _entry = entry;
        Use = use;
    }

    /// <summary>The leased session. Throws once the lease was returned: the session may belong to someone else now.</summary>
    public FtpSession Session => Volatile.Read(ref _returned) == 0
        ? _entry.Session
        : throw new ObjectDisposedException(nameof(SessionLease), "This lease was returned to the pool; its session is no longer yours.");

    public SessionUse Use { get; }

    /// <summary>The pool's number for this session (as used in its log lines).</summary>
    public long SessionId => _entry.Id;

    /// <summary>The reason given to <see cref="Fail"/>, if any.</summary>
    public Exception? Failure => Volatile.Read(ref _failure);

    /// <summary>Marks the session as not to be reused: on return it is closed and its slot freed.</summary>
    public void Fail(Exception reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        Interlocked.CompareExchange(ref _failure, reason, null);
    }

    /// <summary>Returns the session (or drops it, see the class remarks). Safe to call more than once.</summary>
    public ValueTask DisposeAsync() =>
        Interlocked.Exchange(ref _returned, 1) != 0 ? ValueTask.CompletedTask : _pool.ReturnAsync(_entry, Use, Volatile.Read(ref _failure));
}

/// <summary>The pool's bookkeeping around one session. Fields other than the session are guarded by the pool's lock,
/// except <see cref="Closing"/> (interlocked).</summary>
internal sealed class PooledSession(FtpSession session, long id)
{
    public FtpSession Session { get; } = session;
    public long Id { get; } = id;

    /// <summary>When it was last given back (idle drain measures from here; keep-alive NOOPs do not reset it).</summary>
    public DateTimeOffset IdleSince { get; set; }

    /// <summary>Set by whoever takes on closing the session, so it is closed (and its slot freed) exactly once.</summary>
    public int Closing;
}
