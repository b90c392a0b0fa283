using System.Globalization;
using System.Text;

namespace FtpsMount.Protocol.Tests.Fuzz;

/// <summary>
/// A seeded mutation generator for the fuzz tests: starts from realistic inputs (replies and listing lines as the three
/// reference servers, IIS and hostile servers send them) and mutates them with the edits that broke parsers elsewhere —
/// truncation, control characters, NUL, path separators, "../", huge numbers, duplicated or spliced fragments, and raw
/// random bytes. Everything is drawn from one <see cref="Random"/>, so a seed reproduces a run exactly.
/// </summary>
internal sealed class FuzzInputs(int seed)
{
    private readonly Random _random = new(seed);

    public static readonly string[] ReplySeeds =
    [
        "220 (vsFTPd 3.0.3)\r\n",
        "220 ProFTPD Server (Debian) [127.0.0.1]\r\n",
        "220---------- Welcome to Pure-FTPd [privsep] [TLS] ----------\r\n220-You are user number 1 of 50 allowed.\r\n220 This is a private system\r\n",
        "211-Features:\r\n EPRT\r\n EPSV\r\n MDTM\r\n MLST type*;size*;modify*;UNIX.mode*;\r\n PASV\r\n REST STREAM\r\n SIZE\r\n UTF8\r\n211 End\r\n",
        "227 Entering Passive Mode (127,0,0,1,195,80).\r\n",
        "229 Entering Extended Passive Mode (|||50000|)\r\n",
        "150 Opening BINARY mode data connection for big.bin (1048576 bytes).\r\n226 Transfer complete.\r\n",
        "250-Listing /dir\r\n type=file;size=10;modify=20260101120000; a.txt\r\n250 End\r\n",
        "213 20260101120000\r\n",
        "421 Too many connections (4) from this IP\r\n",
        "552 Disk full - please upload later\r\n",
        "230-Welcome\r\n230-second\r\n123 not the end\r\n230 done\r\n",
        "257 \"/home/user\" is the current directory\r\n",
    ];

    public static readonly string[] MlsdSeeds =
    [
        "type=file;size=1048576;modify=20260101120000;UNIX.mode=0644;unique=801g4804045; big.bin",
        "type=dir;modify=20251231235959;perm=flcdmpe; sub dir",
        "type=cdir;modify=20260101000000; .",
        "type=pdir;modify=20260101000000; ..",
        "type=OS.unix=symlink;size=3; link",
        "Type=File;Size=0;Modify=20260101120000.123; empty",
        "type=file;size=12;modify=19700101000000;UNIX.owner=1000;UNIX.group=1000; ünïcode näme.txt",
    ];

    public static readonly string[] UnixSeeds =
    [
        "-rw-r--r--    1 1000     1000      1048576 Jan 01 12:00 big.bin",
        "drwxr-xr-x    2 ftp      ftp          4096 Dec 31  2025 sub dir",
        "lrwxrwxrwx    1 0        0               7 Jan 02 08:15 link -> target",
        "-rw-------   1 owner group 12 Feb 29  2024 leap.txt",
        "total 12",
        "crw-rw-rw- 1 root root 1, 3 Jan 1 2020 null",
        "-rw-r--r-- 1 user 12 Jan 01 12:00 no-group",
        "drwxr-xr-x+ 3 user group 4096 2026-01-01 12:00 iso-date",
    ];

    public static readonly string[] DosSeeds =
    [
        "01-02-26  12:00PM                 1024 file.txt",
        "12-31-25  11:59PM       <DIR>          Sub Dir",
        "2026-01-02  08:15                 12 iso.bin",
        "01-02-2026  00:00AM      0 zero",
    ];

    public static readonly string[] PassiveSeeds =
    [
        "Entering Passive Mode (127,0,0,1,195,80).",
        "Entering Passive Mode 127,0,0,1,195,80",
        "Entering Extended Passive Mode (|||50000|)",
        "Entering Extended Passive Mode (!!!50000!)",
    ];

    // Fragments that hostile or broken servers have sent, spliced into inputs at random.
    private static readonly string[] Fragments =
    [
        "../", "..", "/", "\\", "\0", "\r", "\n", "\r\n", "\x1b[2J", "\x07", "\t", " ", ";", "=", "->", "|||",
        "(", ")", ",", "-", "999999999999999999999999", "-1", "18446744073709551616", "99991231235959",
        "00000000000000", "Feb 30", "<DIR>", "type=", "size=", "modify=", "/etc/passwd", "%s%n", "\uFFFD", "\uD800",
        "211-", "211 ", "227 ", "229 ", "\u202E", "\u00A0",
    ];

    public int Next(int max) => _random.Next(max);

    public string Pick(string[] seeds) => seeds[_random.Next(seeds.Length)];

    /// <summary>A mutated copy of <paramref name="text"/>: 1–4 random edits.</summary>
    public string Mutate(string text)
    {
        var s = new StringBuilder(text);
        var edits = 1 + _random.Next(4);
        for (var e = 0; e < edits; e++)
        {
            var at = s.Length == 0 ? 0 : _random.Next(s.Length + 1);
            switch (_random.Next(10))
            {
                case 0: // truncate
                    s.Length = at;
                    break;
                case 1: // delete a run
                    if (at < s.Length)
                    {
                        s.Remove(at, Math.Min(s.Length - at, 1 + _random.Next(8)));
                    }

                    break;
                case 2: // insert a fragment
                case 3:
                    s.Insert(at, Fragments[_random.Next(Fragments.Length)]);
                    break;
                case 4: // random character, any plane
                    s.Insert(at, (char)_random.Next(0x20));
                    break;
                case 5:
                    s.Insert(at, (char)_random.Next(0x10000));
                    break;
                case 6: // duplicate a slice
                    if (s.Length > 0)
                    {
                        var from = _random.Next(s.Length);
                        var len = Math.Min(s.Length - from, 1 + _random.Next(40));
                        s.Insert(at, s.ToString(from, len));
                    }

                    break;
                case 7: // replace a digit run by a huge or negative number
                    s.Insert(at, _random.Next(3) switch
                    {
                        0 => long.MaxValue.ToString(CultureInfo.InvariantCulture),
                        1 => "-" + _random.Next().ToString(CultureInfo.InvariantCulture),
                        _ => new string('9', 1 + _random.Next(40)),
                    });
                    break;
                case 8: // flip one character
                    if (at < s.Length)
                    {
                        s[at] = (char)(s[at] ^ (1 << _random.Next(8)));
                    }

                    break;
                default: // a long run of one character (over-long fields and names)
                    s.Insert(at, new string((char)('a' + _random.Next(26)), 1 + _random.Next(_random.Next(10) == 0 ? 5000 : 300)));
                    break;
            }
        }

        return s.ToString();
    }

    /// <summary>Random bytes, sometimes with line ends sprinkled in.</summary>
    public byte[] Garbage()
    {
        var bytes = new byte[_random.Next(1, 600)];
        _random.NextBytes(bytes);
        if (_random.Next(2) == 0)
        {
            for (var i = 0; i < bytes.Length; i += 1 + _random.Next(60))
            {
                bytes[i] = (byte)'\n';
            }
        }

        return bytes;
    }

    /// <summary>Wire bytes of a reply: a mutated seed, garbage, or a seed with garbage appended; Latin-1 or UTF-8.</summary>
    public byte[] ReplyBytes()
    {
        switch (_random.Next(6))
        {
            case 0:
                return Garbage();
            case 1:
                return [.. Encoding.UTF8.GetBytes(Pick(ReplySeeds)), .. Garbage()];
            default:
                var text = Mutate(Pick(ReplySeeds));
                return _random.Next(2) == 0 ? Encoding.UTF8.GetBytes(text) : Encoding.Latin1.GetBytes(text);
        }
    }

    /// <summary>Splits reads at random points, as TCP may.</summary>
    public Stream Chunked(byte[] bytes) => new ChunkedStream(bytes, new Random(_random.Next()));

    private sealed class ChunkedStream(byte[] data, Random random) : Stream
    {
        private int _position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => data.Length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = Math.Min(Math.Min(buffer.Length, data.Length - _position), 1 + random.Next(64));
            data.AsSpan(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Task.FromResult(Read(buffer.AsSpan(offset, count)));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
