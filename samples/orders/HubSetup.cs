using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Switchboard.Client;

namespace Switchboard.Samples.Orders;

/// <summary>
/// Where the hub is and how to sign in, from the environment: the <c>switchboard</c> command line's names first
/// (SWITCHBOARD_SERVER, SWITCHBOARD_API_KEY), then the samples' older ones (SWITCHBOARD_URL, SWITCHBOARD_TOKEN).
/// </summary>
internal sealed record HubSettings(Uri Address, string AddressVariable, string? Credential)
{
    public const string DefaultAddress = "http://127.0.0.1:7070";

    public static bool TryRead(out HubSettings settings, out string error)
    {
        var (variable, text) = First("SWITCHBOARD_SERVER", "SWITCHBOARD_URL") ?? ("SWITCHBOARD_SERVER", DefaultAddress);
        settings = new HubSettings(new Uri(DefaultAddress), variable, First("SWITCHBOARD_API_KEY", "SWITCHBOARD_TOKEN")?.Value);
        if (!Uri.TryCreate(text, UriKind.Absolute, out var address) || address.Scheme is not ("http" or "https"))
        {
            error = $"{variable} '{text}' is not an http:// or https:// address (e.g. {DefaultAddress}).";
            return false;
        }
        settings = settings with { Address = address };
        error = "";
        return true;
    }

    /// <summary>A client of its own for one part of the sample (as if each ran in its own process).</summary>
    public Task<SwitchboardClient> ConnectAsync(CancellationToken cancellationToken) =>
        SwitchboardClient.ConnectAsync(new SwitchboardClientOptions
        {
            Url = Address,
            // An API key or a JWT: either goes as "Authorization: Bearer" (and in the WebSocket's auth frame).
            AccessTokenProvider = Credential is null ? null : _ => ValueTask.FromResult<string?>(Credential),
        }, cancellationToken);

    private static (string Name, string Value)? First(params string[] names)
    {
        foreach (var name in names)
        {
            if (Environment.GetEnvironmentVariable(name) is { Length: > 0 } value)
            {
                return (name, value);
            }
        }
        return null;
    }
}

/// <summary>
/// The plumbing, created or updated at every start (PUT is idempotent: a second run finds it as it is). The client has
/// no API for queue settings and bindings (operators' work, like <c>switchboard queues</c>), so these are plain REST
/// calls (docs/queues.md); everything else in this sample goes through <see cref="SwitchboardClient"/>.
/// </summary>
internal static class HubSetup
{
    public static async Task EnsureAsync(HubSettings hub, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = hub.Address, Timeout = TimeSpan.FromSeconds(30) };
        if (hub.Credential is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", hub.Credential);
        }
        // E-mails: 3 attempts with a short backoff (so the story is quick), then the dead letters; fed by the topic.
        await PutAsync(http, $"/v1/queues/{Names.EmailQueue}",
            new { lease = "30s", maxAttempts = Names.EmailMaxAttempts, backoff = new { initial = "1s", max = "2s" } }, cancellationToken);
        await PutAsync(http, $"/v1/queues/{Names.EmailQueue}/bindings/{Uri.EscapeDataString(Names.OrdersTopic)}", null, cancellationToken);
        await PutAsync(http, $"/v1/queues/{Names.StockQueue}", new { lease = "30s", maxAttempts = 3 }, cancellationToken);
    }

    private static async Task PutAsync(HttpClient http, string path, object? body, CancellationToken cancellationToken)
    {
        using var response = await http.PutAsync(new Uri(path, UriKind.Relative), body is null ? null : JsonContent.Create(body), cancellationToken);
        if (response.IsSuccessStatusCode)
        {
            return;
        }
        // The hub's problem+json: its code (a row of GET /v1/errors) and the detail that says what to fix.
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        string code = "", detail = text;
        try
        {
            using var problem = JsonDocument.Parse(text);
            code = problem.RootElement.TryGetProperty("code", out var c) ? c.GetString() ?? "" : "";
            detail = problem.RootElement.TryGetProperty("detail", out var d) ? d.GetString() ?? text : text;
        }
        catch (JsonException)
        {
            // not problem+json (a proxy's page): keep the text
        }
        throw new SwitchboardException(code, $"PUT {path}: {(int)response.StatusCode} {code}: {detail}") { Status = (int)response.StatusCode };
    }
}
