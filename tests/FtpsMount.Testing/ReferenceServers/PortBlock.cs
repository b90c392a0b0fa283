using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace FtpsMount.Testing.ReferenceServers;

/// <summary>A block of <see cref="Size"/> consecutive loopback ports owned by one server instance: the first
/// is left unused (proftpd and others may bind "control port - 1" for active-mode data), then the control
/// port, then the passive range. Blocks lie below the kernel's ephemeral range, so outgoing connections do
/// not take them, and each is held with an exclusive lock file so that several test processes (the test
/// assemblies run in parallel) never hand out the same block.</summary>
internal sealed class PortBlock : IDisposable
{
    /// <summary>pure-ftpd caps its client count at half the passive range, so keep the range wide.</summary>
    public const int Size = 100;

    private const int LowestPort = 20000;
    private static readonly string s_lockDirectory = Path.Combine(Path.GetTempPath(), "ftpsmount-ref-ports");

    private readonly FileStream _lock;

    private PortBlock(int first, FileStream lockFile)
    {
        First = first;
        _lock = lockFile;
    }

    public int First { get; }
    public int ControlPort => First + 1;
    public int PassiveFirst => First + 2;
    public int PassiveLast => First + Size - 1;
    public int PassiveCount => PassiveLast - PassiveFirst + 1;

    public static PortBlock Allocate()
    {
        System.IO.Directory.CreateDirectory(s_lockDirectory);
        var highest = Math.Min(EphemeralRangeStart() - 1, 65535);
        var blocks = (highest - LowestPort + 1) / Size;
        if (blocks <= 0)
        {
            throw new InvalidOperationException($"no room for test port blocks below the ephemeral range (starts at {highest + 1})");
        }

        var start = Random.Shared.Next(blocks);
        for (var i = 0; i < blocks; i++)
        {
            var first = LowestPort + ((start + i) % blocks * Size);
            var lockPath = Path.Combine(s_lockDirectory, first.ToString(CultureInfo.InvariantCulture) + ".lock");
            FileStream lockFile;
            try
            {
                // On Unix, FileShare.None takes an exclusive advisory lock (flock) that other processes honour
                // and that the kernel drops if this process dies.
                lockFile = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                continue;
            }

            if (Enumerable.Range(first, Size).All(IsBindable))
            {
                return new PortBlock(first, lockFile);
            }

            lockFile.Dispose();
        }

        throw new InvalidOperationException($"no free block of {Size} loopback ports between {LowestPort} and {highest}");
    }

    /// <summary>True when nothing at all uses the port (no listener, no connection, no TIME_WAIT).</summary>
    public static bool IsBindable(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>True when no socket listens on the port (connections in TIME_WAIT may remain).</summary>
    public static bool IsFreeForListening(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            socket.Listen(1);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public void Dispose() => _lock.Dispose();

    private static int EphemeralRangeStart()
    {
        try
        {
            var text = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range");
            var parts = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return int.Parse(parts[0], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException or UnauthorizedAccessException)
        {
            return 32768;
        }
    }
}
