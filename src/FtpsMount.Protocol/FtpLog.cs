namespace FtpsMount.Protocol;

public enum FtpLogLevel
{
    Trace,
    Debug,
    Information,
    Warning,
    Error,
}

/// <summary>The protocol layer's only logging seam (it depends on the BCL alone; Core adapts this to
/// Microsoft.Extensions.Logging). Messages given to it never contain passwords: PASS is logged as "PASS ****".</summary>
public interface IFtpLogger
{
    bool IsEnabled(FtpLogLevel level);
    void Log(FtpLogLevel level, string message);
}

public sealed class NullFtpLogger : IFtpLogger
{
    public static NullFtpLogger Instance { get; } = new();
    public bool IsEnabled(FtpLogLevel level) => false;
    public void Log(FtpLogLevel level, string message) { }
}
