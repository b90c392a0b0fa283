namespace FtpsMount.Cli;

/// <summary>Process exit codes, documented in README.md.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    public const int Failure = 1;
    public const int Usage = 2;
    public const int Connection = 3;
    public const int Security = 4;
    public const int Login = 5;
    public const int DataChannel = 6;
    public const int NotFound = 7;
}

/// <summary>An error meant for the user: printed as is, with its exit code.</summary>
public sealed class CliException : Exception
{
    public CliException(int exitCode, string message) : base(message) => ExitCode = exitCode;
    public int ExitCode { get; }
}
