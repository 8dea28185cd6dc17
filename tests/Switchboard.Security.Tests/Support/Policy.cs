namespace Switchboard.Security.Tests.Support;

/// <summary>What an operation needs on a name: a scope's verb, <c>admin</c>, or any of publish / subscribe / consume.</summary>
internal enum Need
{
    Publish,
    Subscribe,
    Consume,
    Admin,
    Any,
}

/// <summary>One thing an operation needs: <see cref="Need"/> on a topic, queue or pattern.</summary>
internal readonly record struct Requirement(Need Need, string Name = "")
{
    public static Requirement Admin { get; } = new(Need.Admin);

    /// <summary>The scope a refusal should name: <c>publish:orders.x</c>, <c>admin</c>; for <see cref="Need.Any"/> the name.</summary>
    public string Scope => Need switch
    {
        Need.Admin => "'admin'",
        Need.Any => $"'{Name}'",
        _ => $"{Need.ToString().ToLowerInvariant()}:{Name}",
    };
}

/// <summary>How a cell turned out (or should).</summary>
internal enum Verdict
{
    Allowed,
    Unauthenticated,
    Forbidden,
    /// <summary>Anything else: a wrong status, a missing message, a hang.</summary>
    Broken,
}

/// <summary>What the protocol answered, with the detail it gave (the refusal's text, or what went wrong).</summary>
internal readonly record struct Observed(Verdict Verdict, string Detail)
{
    public static Observed Allowed { get; } = new(Verdict.Allowed, "");

    public static Observed Broken(string detail) => new(Verdict.Broken, detail);
}

/// <summary>What the policy says a cell must answer: allowed, 401-like, or 403-like naming <see cref="Scope"/>.</summary>
internal readonly record struct Expected(Verdict Verdict, string Scope)
{
    public override string ToString() => Verdict == Verdict.Forbidden ? $"Forbidden naming {Scope}" : Verdict.ToString();
}

/// <summary>
/// The policy of issue 6, written out again independently of the hub's code: no known credential → unauthenticated;
/// otherwise each requirement in turn must be granted (admin grants everything; a pattern grants a name or a
/// narrower pattern only when it covers all of it), and the first one that is not is the scope the refusal names.
/// </summary>
internal static class Policy
{
    public static Expected Expect(Principal principal, IReadOnlyList<Requirement> needs)
    {
        if (!principal.Known)
        {
            return new(Verdict.Unauthenticated, "");
        }
        foreach (var need in needs)
        {
            if (!Grants(principal, need))
            {
                return new(Verdict.Forbidden, need.Scope);
            }
        }
        return new(Verdict.Allowed, "");
    }

    public static bool Grants(Principal principal, Requirement need)
    {
        if (principal.Scopes.Contains("admin"))
        {
            return true;
        }
        if (need.Need == Need.Admin)
        {
            return false;
        }
        foreach (var scope in principal.Scopes)
        {
            var colon = scope.IndexOf(':', StringComparison.Ordinal);
            var verb = scope[..colon];
            var matchesVerb = need.Need == Need.Any || string.Equals(verb, need.Need.ToString(), StringComparison.OrdinalIgnoreCase);
            if (matchesVerb && Covers(scope[(colon + 1)..], need.Name))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Whether granted pattern <paramref name="granted"/> covers all of <paramref name="wanted"/> (a name or a pattern):
    /// <c>*</c> covers one token but not <c>&gt;</c>; <c>&gt;</c> covers one or more tokens of anything.
    /// </summary>
    public static bool Covers(string granted, string wanted)
    {
        var mine = granted.Split('.');
        var theirs = wanted.Split('.');
        for (var i = 0; i < mine.Length; i++)
        {
            if (mine[i] == ">")
            {
                return theirs.Length > i;
            }
            if (i >= theirs.Length || theirs[i] == ">")
            {
                return false;
            }
            if (mine[i] != "*" && mine[i] != theirs[i])
            {
                return false;
            }
        }
        return mine.Length == theirs.Length;
    }
}
