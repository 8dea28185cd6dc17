namespace Switchboard.Core;

/// <summary>
/// Topic naming rules: tokens of <c>[A-Za-z0-9_-]</c> joined by <c>.</c>, at most 255 characters.
/// Names that start with <c>$</c> (for example <c>$sys.stats</c>) belong to the hub itself.
/// </summary>
public static class TopicName
{
    /// <summary>The longest name accepted, in characters.</summary>
    public const int MaxLength = 255;

    /// <summary>The prefix that marks the hub's own topics.</summary>
    public const char SystemPrefix = '$';

    /// <summary>Checks a concrete topic name (no wildcards).</summary>
    /// <param name="name">The name to check.</param>
    /// <param name="error">What is wrong and how to fix it, when the name is not valid.</param>
    /// <param name="allowSystem">Whether a leading <c>$</c> is allowed (only the hub publishes there).</param>
    public static bool IsValid(string? name, out string error, bool allowSystem = false)
        => Check(name, wildcards: false, allowSystem, out error);

    /// <summary>Throws <see cref="SwitchboardException"/> (<see cref="ErrorCode.InvalidTopicName"/>) if the name is not valid.</summary>
    public static void Validate(string? name, bool allowSystem = false)
    {
        if (!IsValid(name, out var error, allowSystem))
        {
            throw new SwitchboardException(ErrorCode.InvalidTopicName, error);
        }
    }

    /// <summary>Whether the name is one of the hub's own topics.</summary>
    public static bool IsSystem(string name) => name.Length > 0 && name[0] == SystemPrefix;

    /// <summary>
    /// The topic where multi-topic streams keep snapshots of their positions (<see cref="Hub.SaveResumeSnapshotAsync"/>).
    /// Unlike <c>$presence.…</c> it is internal: a snapshot is found through its stream's resume id, never read, followed,
    /// listed or written by a client (topic names in it may be private to whoever opened the stream).
    /// </summary>
    public const string ResumeSnapshots = "$resume";

    /// <summary>Whether the name (or a pattern's first token) is a topic only the hub itself reads and writes.</summary>
    public static bool IsInternal(string name) => name.StartsWith(ResumeSnapshots, StringComparison.Ordinal)
        && (name.Length == ResumeSnapshots.Length || name[ResumeSnapshots.Length] == '.');

    internal static bool Check(string? name, bool wildcards, bool allowSystem, out string error)
    {
        const string Rule = "names are tokens of letters, digits, '_' and '-' joined by '.'";
        if (string.IsNullOrEmpty(name))
        {
            error = $"The topic name is empty: {Rule}, e.g. 'orders.created'.";
            return false;
        }
        if (name.Length > MaxLength)
        {
            error = $"The topic name is {name.Length} characters long; the limit is {MaxLength}.";
            return false;
        }

        var tokenStart = 0;
        var tokenIndex = 0;
        for (var i = 0; i <= name.Length; i++)
        {
            if (i < name.Length && name[i] != '.')
            {
                continue;
            }
            var token = name.AsSpan(tokenStart, i - tokenStart);
            if (token.IsEmpty)
            {
                error = $"The topic name '{name}' has an empty token at position {tokenIndex + 1} (two dots in a row, or a leading or trailing dot): {Rule}.";
                return false;
            }
            if (wildcards && token is "*")
            {
                // one-token wildcard
            }
            else if (wildcards && token is ">")
            {
                if (i != name.Length)
                {
                    error = $"The pattern '{name}' has '>' before its last token; '>' matches all remaining tokens, so it must come last (e.g. 'orders.>').";
                    return false;
                }
            }
            else
            {
                for (var j = 0; j < token.Length; j++)
                {
                    var c = token[j];
                    var ok = char.IsAsciiLetterOrDigit(c) || c == '_' || c == '-'
                        || (c == SystemPrefix && allowSystem && tokenIndex == 0 && j == 0 && token.Length > 1);
                    if (!ok)
                    {
                        error = (c is '*' or '>') && !wildcards
                            ? $"The topic name '{name}' contains the wildcard '{c}'; wildcards are allowed in subscriptions, not in the name of a topic you publish to or manage."
                            : c == SystemPrefix
                                ? $"The topic name '{name}' starts with '$', which is reserved for the hub's own topics."
                                : $"The topic name '{name}' contains '{Printable(c)}' at index {tokenStart + j}: {Rule}.";
                        return false;
                    }
                }
            }
            tokenStart = i + 1;
            tokenIndex++;
        }
        if (allowSystem && IsInternal(name))
        {
            error = $"'{name}' is the hub's internal store of stream positions: it cannot be read, followed or written. Resume a stream with its own id (Last-Event-ID).";
            return false;
        }
        error = "";
        return true;
    }

    private static string Printable(char c) => char.IsControl(c) || char.IsWhiteSpace(c) ? $"\\u{(int)c:x4}" : c.ToString();
}
