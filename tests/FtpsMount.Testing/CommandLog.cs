using System.Collections.Concurrent;
using FtpsMount.Protocol;

namespace FtpsMount.Testing;

/// <summary>Records every command the sessions send ("SIZE /x", from the protocol trace), in order, so tests can count
/// round trips on the wire instead of timing them.</summary>
public sealed class CommandLog : IFtpLogger
{
    private readonly ConcurrentQueue<string> _commands = new();

    public bool IsEnabled(FtpLogLevel level) => true;

    public void Log(FtpLogLevel level, string message)
    {
        if (level == FtpLogLevel.Trace && message.StartsWith("> ", StringComparison.Ordinal))
        {
            _commands.Enqueue(message[2..]);
        }
    }

    /// <summary>The commands whose text ends with <paramref name="name"/> (a path or a file name).</summary>
    public string[] Naming(string name) => _commands.Where(c => c.EndsWith(name, StringComparison.Ordinal)).ToArray();

    /// <summary>How many times <paramref name="path"/> was downloaded (RETR).</summary>
    public int Retrievals(string path) => _commands.Count(c => c == "RETR " + path);

    public override string ToString() => string.Join(Environment.NewLine, _commands);
}
