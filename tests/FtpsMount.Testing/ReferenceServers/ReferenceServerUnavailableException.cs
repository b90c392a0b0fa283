namespace FtpsMount.Testing.ReferenceServers;

/// <summary>A reference server cannot be started on this machine: binaries, test account or privileges are
/// missing. The message says what to do (usually: run tests/scripts/install-test-deps.sh as root).</summary>
public sealed class ReferenceServerUnavailableException : Exception
{
    public ReferenceServerUnavailableException()
    {
    }

    public ReferenceServerUnavailableException(string message)
        : base(message)
    {
    }

    public ReferenceServerUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
