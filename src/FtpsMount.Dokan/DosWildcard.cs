namespace FtpsMount.Dokan;

/// <summary>
/// Windows search-pattern matching with the semantics of FsRtlIsNameInExpression (what NTFS applies to
/// FindFirstFile patterns after Win32 rewrote them):
/// <list type="bullet">
/// <item><c>*</c> zero or more characters; <c>?</c> exactly one character.</item>
/// <item><c>&lt;</c> (DOS_STAR) zero or more characters, but never the name's last '.': it stops before the final
/// dot (a name's extension must be matched by what follows).</item>
/// <item><c>&gt;</c> (DOS_QM) one character; at a '.' or at the end of the name it matches nothing, so a run of them
/// matches "up to that many characters" of a base name.</item>
/// <item><c>"</c> (DOS_DOT) a '.', or nothing at the end of the name.</item>
/// </list>
/// Comparison ignores case (simple upper-casing, as FsRtl's upcase table does) unless asked otherwise.
/// </summary>
internal static class DosWildcard
{
    public static bool IsMatch(string expression, string name, bool ignoreCase = true)
    {
        ArgumentNullException.ThrowIfNull(expression);
        ArgumentNullException.ThrowIfNull(name);
        if (expression.Length == 0)
        {
            return name.Length == 0;
        }

        if (expression == "*")
        {
            return true;
        }

        var lastDot = name.LastIndexOf('.');
        // memo[e, n]: 0 unknown, 1 match, 2 no match. Names are at most a few hundred characters.
        var memo = new byte[expression.Length + 1, name.Length + 1];
        return Match(0, 0);

        bool Match(int e, int n)
        {
            if (memo[e, n] != 0)
            {
                return memo[e, n] == 1;
            }

            bool result;
            if (e == expression.Length)
            {
                result = n == name.Length;
            }
            else
            {
                var atEnd = n == name.Length;
                switch (expression[e])
                {
                    case '*':
                        result = Match(e + 1, n) || (!atEnd && Match(e, n + 1));
                        break;
                    case '<':
                        // The final dot of the name can't be swallowed; an earlier one can.
                        result = Match(e + 1, n) || (!atEnd && n != lastDot && Match(e, n + 1));
                        break;
                    case '?':
                        result = !atEnd && Match(e + 1, n + 1);
                        break;
                    case '>':
                        result = atEnd || name[n] == '.' ? Match(e + 1, n) : Match(e + 1, n + 1);
                        break;
                    case '"':
                        result = atEnd ? Match(e + 1, n) : name[n] == '.' && Match(e + 1, n + 1);
                        break;
                    default:
                        result = !atEnd && Same(expression[e], name[n], ignoreCase) && Match(e + 1, n + 1);
                        break;
                }
            }

            memo[e, n] = result ? (byte)1 : (byte)2;
            return result;
        }
    }

    private static bool Same(char a, char b, bool ignoreCase) =>
        a == b || (ignoreCase && char.ToUpperInvariant(a) == char.ToUpperInvariant(b));
}
