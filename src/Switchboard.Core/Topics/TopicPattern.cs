namespace Switchboard.Core;

/// <summary>
/// A subscription pattern: a topic name whose tokens may be <c>*</c> (exactly one token) or, as the
/// last token, <c>&gt;</c> (one or more remaining tokens). <c>orders.*</c> matches <c>orders.eu</c>;
/// <c>orders.&gt;</c> matches <c>orders.eu</c> and <c>orders.eu.paid</c> but not <c>orders</c> (as in NATS).
/// A pattern that starts with a wildcard (<c>&gt;</c>, <c>*.created</c>) never matches the hub's own topics
/// (<c>$presence.…</c>): those are named to be followed (<c>$presence.&gt;</c>), as MQTT does with <c>$SYS</c>.
/// </summary>
public sealed class TopicPattern : IEquatable<TopicPattern>
{
    private readonly string[] _tokens;

    private TopicPattern(string text, string[] tokens)
    {
        Text = text;
        _tokens = tokens;
        IsWildcard = text.Contains('*', StringComparison.Ordinal) || text.EndsWith('>');
        var literal = 0;
        while (literal < tokens.Length && tokens[literal] is not ("*" or ">"))
        {
            literal++;
        }
        // "orders.eu.*" -> "orders.eu." : every match starts with it, so stores can narrow a scan by prefix.
        LiteralPrefix = IsWildcard ? string.Join('.', tokens, 0, literal) + (literal > 0 ? "." : "") : text;
    }

    /// <summary>The pattern as written.</summary>
    public string Text { get; }

    /// <summary>Whether the pattern has a wildcard; if not, it names exactly one topic.</summary>
    public bool IsWildcard { get; }

    /// <summary>The literal prefix every matching topic starts with (the whole name when not a wildcard).</summary>
    public string LiteralPrefix { get; }

    /// <summary>The pattern's tokens (<c>*</c> and <c>&gt;</c> as they are), for the dispatcher's index of wildcards.</summary>
    internal ReadOnlySpan<string> Tokens => _tokens;

    /// <summary>Parses a pattern, throwing <see cref="SwitchboardException"/> with what to fix when it is not valid.</summary>
    public static TopicPattern Parse(string? text, bool allowSystem = false)
    {
        if (!TryParse(text, out var pattern, out var error, allowSystem))
        {
            throw new SwitchboardException(ErrorCode.InvalidTopicName, error);
        }
        return pattern;
    }

    /// <summary>Parses a pattern.</summary>
    public static bool TryParse(string? text, out TopicPattern pattern, out string error, bool allowSystem = false)
    {
        if (!TopicName.Check(text, wildcards: true, allowSystem, out error))
        {
            pattern = null!;
            return false;
        }
        pattern = new TopicPattern(text!, text!.Split('.'));
        return true;
    }

    /// <summary>Whether the concrete topic <paramref name="topic"/> matches.</summary>
    public bool Matches(string topic)
    {
        if (!IsWildcard)
        {
            return string.Equals(Text, topic, StringComparison.Ordinal);
        }
        if (topic.Length > 0 && topic[0] == TopicName.SystemPrefix && _tokens[0] is "*" or ">")
        {
            return false; // the hub's own topics are never matched by a leading wildcard
        }
        // Walk the topic's tokens without splitting it (this runs once per message per wildcard subscription).
        var span = topic.AsSpan();
        var position = 0;
        for (var i = 0; i < _tokens.Length; i++)
        {
            if (position > span.Length)
            {
                return false;
            }
            var token = _tokens[i];
            if (token == ">")
            {
                return position < span.Length;
            }
            var rest = span[position..];
            var dot = rest.IndexOf('.');
            var current = dot < 0 ? rest : rest[..dot];
            if (current.IsEmpty || (token != "*" && !current.SequenceEqual(token)))
            {
                return false;
            }
            position += current.Length + 1;
        }
        return position > span.Length;
    }

    /// <summary>
    /// Whether every topic <paramref name="other"/> can match is also matched by this pattern (<c>orders.&gt;</c> covers
    /// <c>orders.*</c> and <c>orders.eu</c>; <c>orders.*</c> does not cover <c>orders.&gt;</c>). A pattern that starts
    /// with a wildcard never covers a system topic (<c>$…</c>): those must be named.
    /// </summary>
    public bool Covers(TopicPattern other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var mine = _tokens;
        var theirs = other._tokens;
        if (theirs[0].StartsWith('$') && mine[0] != theirs[0])
        {
            return false;
        }
        for (var i = 0; i < mine.Length; i++)
        {
            if (mine[i] == ">")
            {
                return i < theirs.Length;
            }
            if (i >= theirs.Length || theirs[i] == ">" || (mine[i] != "*" && (theirs[i] == "*" || mine[i] != theirs[i])))
            {
                return false;
            }
        }
        return mine.Length == theirs.Length;
    }

    /// <inheritdoc />
    public bool Equals(TopicPattern? other) => other is not null && string.Equals(Text, other.Text, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as TopicPattern);

    /// <inheritdoc />
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Text);

    /// <inheritdoc />
    public override string ToString() => Text;
}
