using System.Text.Json;
using System.Text.RegularExpressions;

namespace Switchboard.EndToEnd.Tests;

/// <summary>Security as an operator meets it on the command line: key making, scopes in force, and no open hub on a public address.</summary>
public sealed partial class SecurityCommandLineTests
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);

    private static async Task<(int ExitCode, string Output)> RunAsync(IReadOnlyDictionary<string, string>? environment, params string[] arguments)
    {
        await using var process = HubProcess.Launch(arguments, environment: environment);
        process.StandardInput.Close();
        var code = await process.WaitForExitAsync(CommandTimeout);
        return (code, process.Output);
    }

    [Fact]
    public async Task A_key_made_by_keys_new_works_with_its_scopes_and_nothing_more()
    {
        var (code, output) = await RunAsync(null, "keys", "new", "--name", "cli-publisher", "--scope", "publish:cli.>");
        Assert.Equal(0, code);
        var key = KeyLine().Match(output).Groups[1].Value;
        Assert.StartsWith("sb_", key, StringComparison.Ordinal);
        var entry = JsonDocument.Parse(output[output.IndexOf('{', StringComparison.Ordinal)..]).RootElement;
        Assert.Equal("cli-publisher", entry.GetProperty("Name").GetString());
        Assert.Equal(["publish:cli.>"], entry.GetProperty("Scopes").EnumerateArray().Select(s => s.GetString()));
        var hash = entry.GetProperty("Hash").GetString()!;
        Assert.DoesNotContain(key, hash, StringComparison.Ordinal);

        var environment = new Dictionary<string, string>
        {
            ["Switchboard__Auth__ApiKeys__0__Name"] = "cli-publisher",
            ["Switchboard__Auth__ApiKeys__0__Hash"] = hash,
            ["Switchboard__Auth__ApiKeys__0__Scopes__0"] = "publish:cli.>",
        };
        await using var hub = await HubProcess.StartAsync(environment, "--memory");
        var server = hub.Address.ToString();

        (code, output) = await RunAsync(null, "pub", "--server", server, "--api-key", key, "cli.orders", "{\"n\":1}");
        Assert.True(code == 0, output);
        (code, output) = await RunAsync(null, "pub", "--server", server, "cli.orders", "{\"n\":2}");
        Assert.Equal(1, code);
        Assert.Contains("401 unauthorized", output, StringComparison.Ordinal);
        (code, output) = await RunAsync(null, "pub", "--server", server, "--api-key", key, "payments", "{\"n\":3}");
        Assert.Equal(1, code);
        Assert.Contains("403 forbidden", output, StringComparison.Ordinal);
        Assert.Contains("publish:payments", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keys_hash_prints_the_SHA_256_of_the_key_from_standard_input()
    {
        await using var process = HubProcess.Launch(["keys", "hash"]);
        await process.StandardInput.WriteLineAsync("abc");
        process.StandardInput.Close();
        Assert.Equal(0, await process.WaitForExitAsync(CommandTimeout));
        Assert.Contains("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", process.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_refuses_a_public_address_without_credentials_unless_insecure_is_given()
    {
        // Port 0 on the any-address: nothing is sent to it; the refusal comes before listening.
        var (code, output) = await RunAsync(null, "serve", "--memory", "--urls", "http://0.0.0.0:0");
        Assert.Equal(2, code);
        Assert.Contains("without authentication", output, StringComparison.Ordinal);
        Assert.Contains("--insecure", output, StringComparison.Ordinal);

        await using var insecure = HubProcess.Launch(["serve", "--memory", "--insecure", "--urls", "http://0.0.0.0:0"]);
        await insecure.Listening.WaitAsync(CommandTimeout);
        Assert.Contains("Authentication is off", insecure.Output, StringComparison.Ordinal);
        Assert.Contains("--insecure was given", insecure.Output, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"key:\s+(\S+)")]
    private static partial Regex KeyLine();
}
