using System.Text.Json;

namespace Switchboard.EndToEnd.Tests;

/// <summary>
/// The logs an operator reads: JSON lines with event ids, a level tuned per category by configuration, and the
/// connection in scope of what is logged while it is served — never a payload.
/// </summary>
public sealed class LoggingTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_category_turned_to_debug_logs_each_connection_with_its_id_in_scope_and_no_payload()
    {
        // Per category, as an operator tunes one noisy or interesting part: only the connections' category goes to Debug.
        await using var hub = await HubProcess.StartAsync(new Dictionary<string, string>
        {
            ["Logging__LogLevel__Switchboard.Server.Connections"] = "Debug",
        }, "--memory", "--log-format", "json");
        using var http = new HttpClient { BaseAddress = hub.Address, Timeout = Limit };
        const string secret = "the-payload-must-not-be-logged";
        using (var published = await http.PostAsync("/v1/topics/logged/messages", new StringContent($$"""{"payload":"{{secret}}"}""", System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.True(published.IsSuccessStatusCode);
        }
        using var events = await http.GetAsync("/v1/topics/logged/events?after=0", HttpCompletionOption.ResponseHeadersRead);

        var opened = await hub.LineAsync(line => line.Contains("\"EventId\":3101", StringComparison.Ordinal), Limit);
        using var entry = JsonDocument.Parse(opened);
        var root = entry.RootElement;
        Assert.Equal("Debug", root.GetProperty("LogLevel").GetString());
        Assert.StartsWith("Switchboard.Server.Connections", root.GetProperty("Category").GetString(), StringComparison.Ordinal);
        var connectionId = root.GetProperty("State").GetProperty("ConnectionId").GetString();
        Assert.False(string.IsNullOrEmpty(connectionId));
        // The scope carries the connection to every line logged while it is served.
        // ("Connection": ASP.NET Core's own scopes already say "ConnectionId" for the TCP connection.)
        var scope = Assert.Single(root.GetProperty("Scopes").EnumerateArray(), s => s.TryGetProperty("Connection", out _));
        Assert.Equal(connectionId, scope.GetProperty("Connection").GetString());
        Assert.Equal("sse", scope.GetProperty("Transport").GetString());

        // Other categories stayed at their default (Information): no Debug line from elsewhere.
        Assert.DoesNotContain(hub.Output.Split('\n'), line => line.Contains("\"LogLevel\":\"Debug\"", StringComparison.Ordinal)
            && !line.Contains("\"Category\":\"Switchboard.Server.Connections", StringComparison.Ordinal));
        Assert.DoesNotContain(secret, hub.Output, StringComparison.Ordinal);
    }
}
