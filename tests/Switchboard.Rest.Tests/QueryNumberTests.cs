using System.Net;
using static Switchboard.Rest.Tests.Http;

namespace Switchboard.Rest.Tests;

/// <summary>
/// Numbers in the query string read the same way on every parameter: leading zeros are the number (as ASP.NET Core's
/// binding and most APIs read them), and a form one parameter takes is not refused by another.
/// </summary>
public sealed class QueryNumberTests
{
    [Theory]
    [InlineData("0")]
    [InlineData("00")]
    [InlineData("000")]
    public async Task Presence_counts_without_listing_for_every_spelling_of_zero(string limit)
    {
        await using var hub = await TestHub.StartAsync();

        using var presence = await hub.Http.GetAsync($"/v1/topics/room/presence?limit={limit}");

        Assert.Equal(HttpStatusCode.OK, presence.StatusCode);
        Assert.Equal(0, (await presence.BodyAsync()).GetProperty("subscribers").GetArrayLength());
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("1001")]
    [InlineData("0x1")]
    public async Task A_presence_limit_out_of_range_names_the_range_from_zero(string limit)
    {
        await using var hub = await TestHub.StartAsync();

        using var presence = await hub.Http.GetAsync($"/v1/topics/room/presence?limit={limit}");

        await presence.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-request", "limit", "0 to 1000");
    }

    [Fact]
    public async Task Leading_zeros_are_accepted_on_every_numeric_query_parameter()
    {
        await using var hub = await TestHub.StartAsync();
        using (var published = await hub.Http.PostAsync("/v1/topics/lz/messages", Json("""{"messages":[{"payload":1},{"payload":2}]}""")))
        {
            Assert.Equal(HttpStatusCode.Created, published.StatusCode);
        }

        using (var history = await hub.Http.GetAsync("/v1/topics/lz/messages?after=001&limit=007&wait=00"))
        {
            Assert.Equal(HttpStatusCode.OK, history.StatusCode);
            Assert.Equal(2, (await history.BodyAsync()).GetProperty("messages")[0].GetProperty("offset").GetInt64());
        }
        using (var sent = await hub.Http.PostAsync("/v1/queues/lz/messages?delay=00", Json("""{"payload":1}""")))
        {
            Assert.Equal(HttpStatusCode.Created, sent.StatusCode);
        }
        using (var received = await hub.Http.PostAsync("/v1/queues/lz/receive?max=01&lease=030&wait=00.5", null))
        {
            Assert.Equal(HttpStatusCode.OK, received.StatusCode);
            Assert.Equal(1, (await received.BodyAsync()).GetProperty("messages").GetArrayLength());
        }
        using (var asked = await hub.Http.PostAsync("/v1/queues/lz.rpc/requests?timeout=00", Json("""{"payload":1}""")))
        {
            Assert.Equal(HttpStatusCode.Accepted, asked.StatusCode);
        }
    }

    /// <summary>
    /// Forms that <c>wait</c> refused while <c>lease</c>, <c>delay</c> and <c>timeout</c> read them as numbers (an
    /// exponent, a sign, spaces, Infinity): refused on all four, naming the parameter.
    /// </summary>
    [Theory]
    [InlineData("1e1")]
    [InlineData("%2B5")]
    [InlineData("%205")]
    [InlineData("5%20")]
    [InlineData("Infinity")]
    [InlineData("5%00")]
    public async Task A_duration_form_refused_by_one_parameter_is_refused_by_all(string value)
    {
        await using var hub = await TestHub.StartAsync();

        using var wait = await hub.Http.GetAsync($"/v1/topics/lz/messages?wait={value}");
        await wait.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-request", "wait");
        using var lease = await hub.Http.PostAsync($"/v1/queues/lz/receive?lease={value}", null);
        await lease.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-request", "lease");
        using var delay = await hub.Http.PostAsync($"/v1/queues/lz/messages?delay={value}", Json("""{"payload":1}"""));
        await delay.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-request", "delay");
        using var timeout = await hub.Http.PostAsync($"/v1/queues/lz/requests?timeout={value}", Json("""{"payload":1}"""));
        await timeout.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-request", "timeout");

        using var queue = await hub.Http.GetAsync("/v1/queues/lz");
        Assert.Equal(HttpStatusCode.NotFound, queue.StatusCode); // nothing was sent
    }
}
