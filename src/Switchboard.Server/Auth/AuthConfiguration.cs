using Microsoft.Extensions.Configuration;
using Switchboard.Core;

namespace Switchboard.Server;

/// <summary>Reads <c>Switchboard:Auth</c>, naming the key and what to write when a value is wrong.</summary>
internal static class AuthConfiguration
{
    public static void Read(IConfigurationSection auth, AuthOptions options)
    {
        foreach (var child in auth.GetSection("ApiKeys").GetChildren())
        {
            options.ApiKeys.Add(ReadKey(child));
        }
        var jwt = auth.GetSection("Jwt");
        if (jwt.Exists())
        {
            options.Jwt = ReadJwt(jwt);
        }
    }

    private static ApiKeyOptions ReadKey(IConfigurationSection child)
    {
        var key = new ApiKeyOptions { Name = child["Name"] ?? child.Key, Hash = child["Hash"], Key = child["Key"] };
        if (key.Hash is null == key.Key is null)
        {
            throw new InvalidOperationException($"{child.Path}: set exactly one of Hash (SHA-256 of the key, 64 hex digits) or Key.");
        }
        if (key.Hash is { } hash && (hash.Length != 64 || !hash.All(char.IsAsciiHexDigit)))
        {
            throw new InvalidOperationException($"{child.Path}:Hash must be the key's SHA-256 as 64 hex digits.");
        }
        if (key.Key is { Length: < 16 })
        {
            throw new InvalidOperationException($"{child.Path}:Key is shorter than 16 characters; use a long random key.");
        }
        foreach (var scope in List(child.GetSection("Scopes")))
        {
            if (!Grants.TryParseScope(scope, out _, out _, out var error))
            {
                throw new InvalidOperationException($"{child.Path}:Scopes: {error}");
            }
            key.Scopes.Add(scope);
        }
        return key;
    }

    private static JwtOptions ReadJwt(IConfigurationSection section)
    {
        var jwt = new JwtOptions { Secret = section["Secret"] is { Length: > 0 } secret ? secret : null, JwksFile = section["JwksFile"] is { Length: > 0 } jwks ? jwks : null };
        if (jwt.Secret is { } s && System.Text.Encoding.UTF8.GetByteCount(s) < 32)
        {
            throw new InvalidOperationException($"{section.Path}:Secret is {System.Text.Encoding.UTF8.GetByteCount(s)} bytes; HS256 needs at least 32 (256 bits) of randomness, e.g. `openssl rand -base64 48`.");
        }
        foreach (var child in section.GetSection("PublicKeys").GetChildren())
        {
            var key = new JwtKeyOptions { File = child["File"], Pem = child["Pem"], Algorithm = child["Algorithm"], KeyId = child["KeyId"] };
            if (key.File is null == key.Pem is null)
            {
                throw new InvalidOperationException($"{child.Path}: set exactly one of File (a PEM file with the public key) or Pem (its text).");
            }
            jwt.PublicKeys.Add(key);
        }
        jwt.Issuers.AddRange(List(section.GetSection("Issuer")).Concat(List(section.GetSection("Issuers"))));
        jwt.Audiences.AddRange(List(section.GetSection("Audience")).Concat(List(section.GetSection("Audiences"))));
        if (section["ClockSkew"] is { Length: > 0 } skew)
        {
            jwt.ClockSkew = DurationText.TryParse(skew, out var value, out _) && value <= TimeSpan.FromMinutes(10)
                ? value
                : throw new InvalidOperationException($"{section.Path}:ClockSkew is '{skew}'; write a duration up to 10m, such as 30s.");
        }
        if (jwt.Secret is null && jwt.PublicKeys.Count == 0 && jwt.JwksFile is null)
        {
            throw new InvalidOperationException($"{section.Path}: set Secret (HS256), PublicKeys (RS256/ES256 PEM files) or JwksFile, or remove the section.");
        }
        return jwt;
    }

    /// <summary>A list written as array children (<c>Scopes:0</c>, <c>Scopes:1</c>) or as one space- or comma-separated value.</summary>
    private static List<string> List(IConfigurationSection section)
    {
        var values = section.Value is { Length: > 0 } single ? [single] : section.GetChildren().Select(c => c.Value ?? "");
        return values.SelectMany(v => v.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
    }
}
