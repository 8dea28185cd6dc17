using System.Net;
using Switchboard.Server.Tests.Support;

namespace Switchboard.Server.Tests;

/// <summary>The health, error-table, connection and presence descriptions against the wire (with one live SSE subscriber).</summary>
public sealed partial class OpenApiTests
{
    [Fact]
    public async Task Every_system_connection_and_presence_answer_matches_the_schema_documented_for_its_route_and_status()
    {
        await using var hub = await TestHub.StartAsync("memory");
        var http = hub.Http;
        var check = new Conformance(await (await http.GetAsync("/openapi/v1.json")).ReadJsonAsync());

        await check.AnswerAsync(HttpStatusCode.OK, "/healthz", "get", http.GetAsync("/healthz"));
        await check.AnswerAsync(HttpStatusCode.OK, "/readyz", "get", http.GetAsync("/readyz"));
        await check.AnswerAsync(HttpStatusCode.OK, "/v1/errors", "get", http.GetAsync("/v1/errors"));
        await check.AnswerAsync(HttpStatusCode.OK, "/v1/errors/{code}", "get", http.GetAsync("/v1/errors/epoch-mismatch"));
        await check.AnswerAsync(HttpStatusCode.NotFound, "/v1/errors/{code}", "get", http.GetAsync("/v1/errors/no-such-code"));

        // One subscriber over SSE: it shows in the connections and in the topic's presence.
        var topic = Names.Unique("presence");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var stream = await http.GetAsync($"/v1/topics/{topic}/events", HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        while ((await (await http.GetAsync($"/v1/topics/{topic}/presence", timeout.Token)).ReadJsonAsync()).GetProperty("count").GetInt32() == 0)
        {
            await Task.Delay(50, timeout.Token);
        }
        var presence = await check.AnswerAsync(HttpStatusCode.OK, "/v1/topics/{topic}/presence", "get", http.GetAsync($"/v1/topics/{topic}/presence"));
        Assert.Single(presence.GetProperty("subscribers").EnumerateArray());
        await check.AnswerAsync(HttpStatusCode.OK, "/v1/topics/{topic}/presence", "get", http.GetAsync($"/v1/topics/{topic}/presence?limit=0"));
        await check.AnswerAsync(HttpStatusCode.BadRequest, "/v1/topics/{topic}/presence", "get", http.GetAsync($"/v1/topics/{topic}/presence?limit=many"));
        var connections = await check.AnswerAsync(HttpStatusCode.OK, "/v1/connections", "get", http.GetAsync("/v1/connections"));
        Assert.Equal(1, connections.GetProperty("count").GetInt32());

        check.AssertEveryDeclaredMemberSeen("GET /v1/topics/{topic}/presence 200");
        // closing is written only while a connection is being cut (a slow consumer, a drain): not in this session.
        check.AssertEveryDeclaredMemberSeen("GET /v1/connections 200", "$.connections[].closing");
        check.AssertEveryDeclaredMemberSeen("GET /v1/errors 200");
        check.AssertEveryDeclaredMemberSeen("GET /healthz 200");
    }
}
