using System.Globalization;
using System.Net;
using static Switchboard.Rest.Tests.Http;

namespace Switchboard.Rest.Tests;

/// <summary>
/// One client publishing to t-1, t-2, … (or sending to q-1, q-2, …) cannot make the hub hold topics or queues without end:
/// past Switchboard:Topics:MaxCount / Switchboard:Queues:MaxCount a new one is refused with 409 limit-reached naming the
/// setting, by a publish or send as by a PUT, while the existing ones are served as before.
/// </summary>
public sealed class CreationLimitTests
{
    private const int Limit = 50;

    private static Dictionary<string, string?> Limits => new()
    {
        ["Switchboard:Topics:MaxCount"] = Limit.ToString(CultureInfo.InvariantCulture),
        ["Switchboard:Queues:MaxCount"] = Limit.ToString(CultureInfo.InvariantCulture),
    };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Publishing_to_ever_new_topics_stops_at_the_limit_with_409_limit_reached(bool sqlite)
    {
        await using var hub = await TestHub.StartAsync(sqlite, Limits);
        for (var i = 1; i <= Limit; i++)
        {
            await hub.PublishAsync($"t-{i}", """{"payload":1}""");
        }

        using var published = await hub.Http.PostAsync($"/v1/topics/t-{Limit + 1}/messages", Json("""{"payload":1}"""));
        var problem = await published.AssertProblemAsync(HttpStatusCode.Conflict, "limit-reached", $"t-{Limit + 1}", $"{Limit} topics", "Switchboard:Topics:MaxCount");
        Assert.Equal(Limit, problem.GetProperty("limit").GetInt32());
        Assert.False(published.Headers.Contains("Retry-After")); // waiting makes no room: clients must not retry it
        using var put = await hub.Http.PutAsync($"/v1/topics/t-{Limit + 2}", Json("{}"));
        await put.AssertProblemAsync(HttpStatusCode.Conflict, "limit-reached", "Switchboard:Topics:MaxCount");
        Assert.Equal(HttpStatusCode.NotFound, (await hub.Http.GetAsync($"/v1/topics/t-{Limit + 1}")).StatusCode);

        // The topics it has are served as before, and a deleted one makes room for a new one.
        await hub.PublishAsync("t-1", """{"payload":2}""");
        Assert.Equal(HttpStatusCode.NoContent, (await hub.Http.DeleteAsync("/v1/topics/t-2")).StatusCode);
        await hub.PublishAsync($"t-{Limit + 1}", """{"payload":1}""");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Sending_to_ever_new_queues_stops_at_the_limit_with_409_limit_reached(bool sqlite)
    {
        await using var hub = await TestHub.StartAsync(sqlite, Limits);
        for (var i = 1; i <= Limit; i++)
        {
            using var sent = await hub.Http.PostAsync($"/v1/queues/q-{i}/messages", Json("""{"payload":1}"""));
            Assert.Equal(HttpStatusCode.Created, sent.StatusCode);
        }

        using var refused = await hub.Http.PostAsync($"/v1/queues/q-{Limit + 1}/messages", Json("""{"payload":1}"""));
        await refused.AssertProblemAsync(HttpStatusCode.Conflict, "limit-reached", $"q-{Limit + 1}", $"{Limit} queues", "Switchboard:Queues:MaxCount");
        using var request = await hub.Http.PostAsync($"/v1/queues/q-{Limit + 1}/requests?timeout=1s", Json("""{"payload":1}"""));
        await request.AssertProblemAsync(HttpStatusCode.Conflict, "limit-reached", "Switchboard:Queues:MaxCount");
        Assert.Equal(HttpStatusCode.NotFound, (await hub.Http.GetAsync($"/v1/queues/q-{Limit + 1}")).StatusCode);

        using var again = await hub.Http.PostAsync("/v1/queues/q-1/messages", Json("""{"payload":2}"""));
        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
    }
}
