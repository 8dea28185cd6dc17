namespace Switchboard.Core;

/// <summary>What a scope allows. Queue operations use the same patterns over queue names.</summary>
public enum Permission
{
    /// <summary><c>publish:PATTERN</c>: publish to topics, send (and send requests) to queues.</summary>
    Publish,
    /// <summary><c>subscribe:PATTERN</c>: subscribe, read history, long-poll, presence.</summary>
    Subscribe,
    /// <summary><c>consume:PATTERN</c>: receive from queues, ack / nack / extend, reply to their requests, list their dead letters.</summary>
    Consume,
    /// <summary><c>admin</c>: everything, including topic and queue settings, deletes, purges, redrives, bindings and connections.</summary>
    Admin,
}

/// <summary>
/// What one principal may do: OAuth-style scopes (<c>publish:orders.&gt;</c>, <c>subscribe:prices.*</c>,
/// <c>consume:emails</c>, <c>admin</c>) whose patterns use the topic wildcards. Checked the same way by every
/// protocol; a check that fails throws <see cref="ErrorCode.Forbidden"/> naming the scope that would allow it.
/// </summary>
public sealed class Grants
{
    private readonly TopicPattern[][] _patterns;

    private Grants(string? principal, bool admin, TopicPattern[][] patterns, IReadOnlyList<string> scopes, string? owner = null)
    {
        Principal = principal;
        Owner = owner ?? principal;
        IsAdmin = admin;
        _patterns = patterns;
        Scopes = scopes;
    }

    /// <summary>Authentication off: anyone who can reach the hub may do anything.</summary>
    public static Grants Everything { get; } = new(null, admin: true, [[], [], []], ["admin"]);

    /// <summary>No right at all (a connection whose credential has not come yet).</summary>
    public static Grants Nothing { get; } = new(null, admin: false, [[], [], []], []);

    /// <summary>Who (a key's name, a token's subject); null when authentication is off.</summary>
    public string? Principal { get; }

    /// <summary>
    /// Who, without ambiguity, as the owner of what this principal makes (reply slots, idempotency keys): an API key and a
    /// token subject of the same name, or one subject from two issuers, own nothing of each other's. Null when
    /// authentication is off.
    /// </summary>
    public string? Owner { get; }

    /// <summary>Whether the principal holds <c>admin</c>.</summary>
    public bool IsAdmin { get; }

    /// <summary>The scopes granted, as written.</summary>
    public IReadOnlyList<string> Scopes { get; }

    /// <summary>
    /// Builds grants from scopes. Scopes this hub does not know (a token often carries other services' scopes)
    /// are left out and returned in <paramref name="ignored"/>.
    /// </summary>
    public static Grants FromScopes(string principal, IEnumerable<string> scopes, out IReadOnlyList<string> ignored)
        => FromScopes(principal, null, scopes, out ignored);

    /// <summary>
    /// <see cref="FromScopes(string, IEnumerable{string}, out IReadOnlyList{string})"/> for a principal whose
    /// <see cref="Owner"/> is <paramref name="owner"/> (its unambiguous identity; the name when null).
    /// </summary>
    public static Grants FromScopes(string principal, string? owner, IEnumerable<string> scopes, out IReadOnlyList<string> ignored)
    {
        ArgumentNullException.ThrowIfNull(scopes);
        var admin = false;
        var patterns = new List<TopicPattern>[] { [], [], [] };
        var kept = new List<string>();
        var skipped = new List<string>();
        foreach (var scope in scopes)
        {
            if (!TryParseScope(scope, out var permission, out var pattern, out _))
            {
                skipped.Add(scope);
                continue;
            }
            kept.Add(scope);
            if (permission == Permission.Admin)
            {
                admin = true;
            }
            else
            {
                patterns[(int)permission].Add(pattern!);
            }
        }
        ignored = skipped;
        return new Grants(principal, admin, [.. patterns.Select(p => p.ToArray())], kept, owner);
    }

    /// <summary>Parses one scope (<c>admin</c> or <c>publish|subscribe|consume:PATTERN</c>), saying what is wrong when it is not one.</summary>
    public static bool TryParseScope(string? scope, out Permission permission, out TopicPattern? pattern, out string error)
    {
        permission = Permission.Admin;
        pattern = null;
        if (scope == "admin")
        {
            error = "";
            return true;
        }
        var colon = scope?.IndexOf(':', StringComparison.Ordinal) ?? -1;
        var verb = colon > 0 ? scope![..colon] : scope;
        switch (verb)
        {
            case "publish": permission = Permission.Publish; break;
            case "subscribe": permission = Permission.Subscribe; break;
            case "consume": permission = Permission.Consume; break;
            default:
                error = $"'{scope}' is not a scope: use admin, publish:PATTERN, subscribe:PATTERN or consume:PATTERN (e.g. publish:orders.>).";
                return false;
        }
        if (colon < 0)
        {
            error = $"'{scope}' needs a pattern: {verb}:PATTERN, e.g. {verb}:orders.>.";
            return false;
        }
        if (!TopicPattern.TryParse(scope![(colon + 1)..], out var parsed, out var patternError, allowSystem: true))
        {
            error = $"'{scope}': {patternError}";
            return false;
        }
        pattern = parsed;
        error = "";
        return true;
    }

    /// <summary>
    /// Whether <paramref name="name"/> (a topic or queue name, or a subscription pattern) is allowed: one granted
    /// pattern must cover all of it. Admin allows everything.
    /// </summary>
    public bool Allows(Permission permission, string name)
    {
        if (IsAdmin)
        {
            return true;
        }
        if (permission == Permission.Admin || !TopicPattern.TryParse(name, out var wanted, out _, allowSystem: true))
        {
            return false;
        }
        foreach (var granted in _patterns[(int)permission])
        {
            if (granted.Covers(wanted))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Whether any permission but admin covers <paramref name="name"/> (for listings and for reading a topic's or queue's description).</summary>
    public bool AllowsAny(string name)
        => Allows(Permission.Publish, name) || Allows(Permission.Subscribe, name) || Allows(Permission.Consume, name);

    /// <summary>
    /// Throws <see cref="ErrorCode.Forbidden"/> unless <see cref="Allows"/>; the detail names the scope that would. A name
    /// that is not valid passes: the hub refuses it with the naming rule, which says more than a refusal would.
    /// </summary>
    public void Demand(Permission permission, string name)
    {
        if (!Allows(permission, name) && TopicPattern.TryParse(name, out _, out _, allowSystem: true))
        {
            throw Refusal(permission, name);
        }
    }

    /// <summary>Throws <see cref="ErrorCode.Forbidden"/> unless the principal is an admin.</summary>
    public void DemandAdmin(string what)
    {
        if (!IsAdmin)
        {
            throw new SwitchboardException(ErrorCode.Forbidden, $"Needs the scope 'admin' to {what}; {Who} does not have it.");
        }
    }

    /// <summary>The error for a refused <paramref name="permission"/> on <paramref name="name"/>.</summary>
    public SwitchboardException Refusal(Permission permission, string name)
    {
        var verb = permission switch
        {
            Permission.Publish => "publish or send to",
            Permission.Subscribe => "subscribe to or read",
            Permission.Consume => "consume from",
            _ => "administer",
        };
        var scope = permission == Permission.Admin ? "admin" : $"{permission.ToString().ToLowerInvariant()}:{name}";
        // The scope first: a WebSocket close reason holds 123 bytes, and long names would push it out of the part kept.
        return new SwitchboardException(ErrorCode.Forbidden, $"Needs the scope '{scope}' (or a pattern covering it) to {verb} '{name}'; {Who} does not have it.");
    }

    private string Who => Principal is null ? "this caller" : $"'{Principal}'";
}
