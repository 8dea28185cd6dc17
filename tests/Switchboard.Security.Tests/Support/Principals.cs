using System.Globalization;

namespace Switchboard.Security.Tests.Support;

/// <summary>Who calls: a name, the credential presented (null: none), the scopes it grants, and whether the hub knows it.</summary>
internal sealed record Principal(string Name, string? Credential, IReadOnlyList<string> Scopes, bool Known)
{
    public override string ToString() => Name;
}

/// <summary>The callers of the authorization matrix and the hub settings that configure them.</summary>
internal static class Principals
{
    /// <summary>The HS256 secret the matrix hubs accept (48 bytes: above the 32 the hub demands).</summary>
    public const string JwtSecret = "matrix-hs256-secret-5f0c9a7e1d3b-8e2a4c6f0b9d7e1a";

    public static readonly Principal Admin = new("admin", "sb-admin-key-7d41c0a5e2f9b3", ["admin"], true);
    public static readonly Principal Publisher = new("publisher", "sb-publisher-key-5b8e2c17d3a6", ["publish:orders.>"], true);
    public static readonly Principal Subscriber = new("subscriber", "sb-subscriber-key-c4a91e6f0b72", ["subscribe:orders.*"], true);
    public static readonly Principal Consumer = new("consumer", "sb-consumer-key-8f3d27b5a1c9", ["consume:jobs"], true);
    public static readonly Principal NoScopes = new("noscopes", "sb-noscopes-key-2e6b9d4c8a10", [], true);

    /// <summary>A JWT (HS256, an hour to live) whose scope claim is one space-separated string.</summary>
    public static readonly Principal JwtUser = new("jwt-user",
        Tokens.Create(Tokens.Hs256(JwtSecret), "jwt-user", "publish:a subscribe:a"), ["publish:a", "subscribe:a"], true);

    public static readonly Principal Anonymous = new("anonymous", null, [], false);
    public static readonly Principal BadKey = new("bad-key", "sb-not-a-configured-key-000000", [], false);

    public static readonly IReadOnlyList<Principal> All = [Admin, Publisher, Subscriber, Consumer, JwtUser, NoScopes, Anonymous, BadKey];

    public static Principal Named(string name) => All.Single(p => p.Name == name);

    /// <summary>Theory data: every principal by name (names serialize; xunit then lists one case per principal).</summary>
    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var principal in All)
        {
            data.Add(principal.Name);
        }
        return data;
    }

    /// <summary>The API keys (in plain text, as development configurations have them) and the JWT secret.</summary>
    public static Dictionary<string, string?> Settings()
    {
        var settings = new Dictionary<string, string?> { ["Switchboard:Auth:Jwt:Secret"] = JwtSecret };
        var index = 0;
        foreach (var key in All.Where(p => p.Known && p != JwtUser))
        {
            var prefix = $"Switchboard:Auth:ApiKeys:{index++}:";
            settings[prefix + "Name"] = key.Name;
            settings[prefix + "Key"] = key.Credential;
            for (var i = 0; i < key.Scopes.Count; i++)
            {
                settings[prefix + "Scopes:" + i.ToString(CultureInfo.InvariantCulture)] = key.Scopes[i];
            }
        }
        return settings;
    }
}
