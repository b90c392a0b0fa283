namespace FtpsMount.Core.Pool;

/// <summary>
/// How a <see cref="SessionPool"/> sizes, keeps and retries its sessions. A small stand-in for the pool group of
/// the Core options (the lead unifies them); the first four members mirror <c>--connections</c> and friends.
/// </summary>
public sealed record PoolSettings
{
    /// <summary>Most control connections open at once, including those still connecting (<c>--connections</c>).</summary>
    public int Connections { get; init; } = 4;

    /// <summary>An idle session above the minimum of one is closed after this long unused.
    /// <see cref="TimeSpan.Zero"/> or <see cref="Timeout.InfiniteTimeSpan"/>: never drain.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>An idle session gets a NOOP after this long without traffic, so servers (vsftpd idle_session_timeout,
    /// proftpd TimeoutIdle, NAT tables) don't drop it. A failed NOOP drops the session. Zero or infinite: off.</summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>With two or more connections, transfers hold at most N-1 sessions so short metadata commands never
    /// queue behind long RETR/STORs.</summary>
    public bool ReserveMetadataSession { get; init; } = true;

    /// <summary>Bound on opening one session: TCP connect, TLS handshake, login, FEAT, PBSZ/PROT, TYPE, PWD.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Retries of <see cref="SessionPool.ExecuteAsync{T}"/> (attempts, back-off, deadline). Its delays also pace
    /// reconnecting after a 421 "too many connections" at login.</summary>
    public RetryOptions Retry { get; init; } = new();

    /// <summary>How long the lowered limit holds after the server refused a login with 421 (too many connections);
    /// then the configured <see cref="Connections"/> is tried again.</summary>
    public TimeSpan TooManyConnectionsHold { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>How long <see cref="SessionPool.DisposeAsync"/> waits for outstanding leases before closing their
    /// sessions under them.</summary>
    public TimeSpan DisposeWait { get; init; } = TimeSpan.FromSeconds(10);

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Connections, 1, nameof(Connections));
        ArgumentNullException.ThrowIfNull(Retry, nameof(Retry));
        Retry.Validate();
    }

    internal static bool IsEnabled(TimeSpan interval) => interval > TimeSpan.Zero && interval != Timeout.InfiniteTimeSpan;
}

/// <summary>What a lease is for; decides which sessions it may take (see <see cref="PoolSettings.ReserveMetadataSession"/>).</summary>
public enum SessionUse
{
    /// <summary>Short commands: MLST, SIZE, MDTM, listings, MKD, DELE, RNFR/RNTO, SITE CHMOD...</summary>
    Metadata,

    /// <summary>Long data transfers (RETR, STOR, APPE) that hold their session for a while.</summary>
    Transfer,
}

/// <summary>A consistent snapshot of a pool, for <c>ftpsmount status</c> and tests.</summary>
/// <param name="Open">Established sessions (idle, leased or being kept alive).</param>
/// <param name="InUse">Leases currently holding an established session.</param>
/// <param name="Waiting">Callers queued for a session.</param>
/// <param name="Connecting">Sessions being opened right now (they count against the limit).</param>
/// <param name="Idle">Established sessions ready to be leased.</param>
/// <param name="Limit">The limit in force: <see cref="PoolSettings.Connections"/>, or lower after 421 at login.</param>
/// <param name="Created">Sessions opened since the pool was made.</param>
/// <param name="Dropped">Sessions closed because they broke, were marked failed, or came back busy.</param>
/// <param name="Drained">Healthy sessions closed for being idle too long.</param>
/// <param name="Retries">Operations re-run by <see cref="SessionPool.ExecuteAsync{T}"/>.</param>
public sealed record SessionPoolStats(
    int Open,
    int InUse,
    int Waiting,
    int Connecting,
    int Idle,
    int Limit,
    long Created,
    long Dropped,
    long Drained,
    long Retries);
