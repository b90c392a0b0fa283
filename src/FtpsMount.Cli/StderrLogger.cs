using FtpsMount.Protocol;

namespace FtpsMount.Cli;

/// <summary>Protocol log lines to stderr, with a level threshold. Warnings always show.</summary>
public sealed class StderrLogger(FtpLogLevel minimum, TextWriter? writer = null) : IFtpLogger
{
    private readonly TextWriter _writer = writer ?? Console.Error;
    private readonly Lock _gate = new();

    public bool IsEnabled(FtpLogLevel level) => level >= minimum;

    public void Log(FtpLogLevel level, string message)
    {
        if (!IsEnabled(level))
        {
            return;
        }

        var prefix = level switch
        {
            FtpLogLevel.Trace => "trace: ",
            FtpLogLevel.Debug => "debug: ",
            FtpLogLevel.Warning => "warning: ",
            FtpLogLevel.Error => "error: ",
            _ => string.Empty,
        };
        lock (_gate)
        {
            _writer.WriteLine(prefix + message);
        }
    }
}
