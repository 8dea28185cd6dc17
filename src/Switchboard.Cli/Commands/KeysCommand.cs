using System.CommandLine;
using System.Security.Cryptography;
using System.Text.Json;
using Switchboard.Core;
using Switchboard.Server.Auth;

namespace Switchboard.Cli.Commands;

/// <summary><c>switchboard keys new|hash</c>: make API keys and the hashes the hub's configuration holds instead of them.</summary>
internal static class KeysCommand
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var name = new Option<string>("--name") { Description = "The key's name (in logs and the audit trail).", Required = true };
        var scopes = new Option<string[]>("--scope") { Description = "A scope: admin, publish:PATTERN, subscribe:PATTERN or consume:PATTERN (repeat for several).", AllowMultipleArgumentsPerToken = true };
        var create = new Command("new", "Make a random API key: prints the key once (give it to the service) and the configuration entry with its SHA-256 (give that to the hub).")
        {
            name, scopes,
        };
        create.Validators.Add(result =>
        {
            foreach (var scope in result.GetValue(scopes) ?? [])
            {
                if (!Grants.TryParseScope(scope, out _, out _, out var error))
                {
                    result.AddError(error);
                }
            }
        });
        create.SetAction(parse =>
        {
            // 32 random bytes: 256 bits, as base64url without padding (43 characters, safe in headers and URLs).
            var key = "sb_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            var entry = new Dictionary<string, object>
            {
                ["Name"] = parse.GetValue(name)!,
                ["Hash"] = Authenticator.Hash(key),
                ["Scopes"] = parse.GetValue(scopes) ?? [],
            };
            Console.WriteLine($"key:  {key}");
            Console.WriteLine("add to Switchboard:Auth:ApiKeys:");
            Console.WriteLine(JsonSerializer.Serialize(entry, Indented));
            return 0;
        });

        var keyArgument = new Argument<string?>("key") { Description = "The key (read from standard input when left out, so it stays out of shell history).", Arity = ArgumentArity.ZeroOrOne };
        var hash = new Command("hash", "Print the SHA-256 of a key, as Switchboard:Auth:ApiKeys:N:Hash wants it.") { keyArgument };
        hash.SetAction(parse =>
        {
            var key = parse.GetValue(keyArgument) ?? Console.In.ReadLine()?.Trim();
            if (string.IsNullOrEmpty(key))
            {
                Console.Error.WriteLine("switchboard: no key given: pass it as an argument or on standard input.");
                return 2;
            }
            Console.WriteLine(Authenticator.Hash(key));
            return 0;
        });

        return new Command("keys", "Make API keys and their hashes (the hub stores hashes only).") { create, hash };
    }
}
