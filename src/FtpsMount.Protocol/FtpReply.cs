namespace FtpsMount.Protocol;

/// <summary>One complete server reply: a three-digit code and its text lines (single or multi-line, RFC 959 §4.2).</summary>
public sealed class FtpReply
{
    public FtpReply(int code, IReadOnlyList<string> lines)
    {
        if (code is < 100 or > 599)
        {
            throw new ArgumentOutOfRangeException(nameof(code), code, "FTP reply codes are 100..599.");
        }

        Code = code;
        Lines = lines;
    }

    public int Code { get; }

    /// <summary>The text of each line without the code prefix and without CRLF.</summary>
    public IReadOnlyList<string> Lines { get; }

    public string Message => Lines.Count == 0 ? string.Empty : Lines[Lines.Count - 1];

    public bool IsPositivePreliminary => Code is >= 100 and < 200;
    public bool IsPositiveCompletion => Code is >= 200 and < 300;
    public bool IsPositiveIntermediate => Code is >= 300 and < 400;
    public bool IsTransientNegative => Code is >= 400 and < 500;
    public bool IsPermanentNegative => Code >= 500;
    public bool IsSuccess => Code < 400;

    public override string ToString() => Lines.Count <= 1
        ? $"{Code} {Message}"
        : $"{Code} {string.Join(" | ", Lines)}";
}
