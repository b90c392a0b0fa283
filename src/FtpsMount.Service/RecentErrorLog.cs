using FtpsMount.Protocol;

namespace FtpsMount.Service;

/// <summary>
/// A logger that passes everything on and keeps the last few warnings and errors (with their time) for the status
/// file. Log messages never carry passwords (the protocol layer masks PASS), so keeping them is safe.
/// </summary>
public sealed class RecentErrorLog(IFtpLogger inner, int capacity = 8, TimeProvider? time = null) : IFtpLogger
{
    private readonly Queue<StatusError> _recent = new();
    private readonly Lock _gate = new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public bool IsEnabled(FtpLogLevel level) => level >= FtpLogLevel.Warning || inner.IsEnabled(level);

    public void Log(FtpLogLevel level, string message)
    {
        if (level >= FtpLogLevel.Warning)
        {
            lock (_gate)
            {
                _recent.Enqueue(new StatusError(_time.GetUtcNow(), message.Length > 300 ? message[..300] + "…" : message));
                while (_recent.Count > capacity)
                {
                    _recent.Dequeue();
                }
            }
        }

        if (inner.IsEnabled(level))
        {
            inner.Log(level, message);
        }
    }

    public IReadOnlyList<StatusError> Snapshot()
    {
        lock (_gate)
        {
            return _recent.ToArray();
        }
    }
}
