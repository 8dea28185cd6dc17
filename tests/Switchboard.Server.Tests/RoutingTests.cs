using System.Net;
using Switchboard.Server.Tests.Support;

namespace Switchboard.Server.Tests;

/// <summary>Versioning and routing: 301 from unversioned paths, 404 for unknown routes, 405 for wrong methods, HEAD.</summary>
public sealed class RoutingTests
{
    [Theory]
    [InlineData("/topics", "/v1/topics")]
    [InlineData("/topics/orders.created", "/v1/topics/orders.created")]
    [InlineData("/topics/orders/messages?after=3&limit=2", "/v1/topics/orders/messages?after=3&limit=2")]
    [InlineData("/topics?prefix=ord&cursor=abc", "/v1/topics?prefix=ord&cursor=abc")]
    // A credential in the URL is not carried on into Location, which ends up in the logs and history of whatever follows it.
    [InlineData("/topics/orders/events?after=3&access_token=sb-secret-key-0001", "/v1/topics/orders/events?after=3")]
    [InlineData("/ws?access_token=sb-secret-key-0001", "/v1/ws")]
    [InlineData("/topics?Access_Token=a&prefix=o%26r&access%5Ftoken=b&cursor=c", "/v1/topics?prefix=o%26r&cursor=c")]
    public async Task An_unversioned_path_answers_301_to_the_v1_path_keeping_the_query(string path, string location)
    {
        await using var hub = await TestHub.StartAsync("memory");

        using var response = await hub.Http.GetAsync(path);

        Assert.Equal(HttpStatusCode.MovedPermanently, response.StatusCode);
        Assert.Equal(location, response.Headers.Location?.OriginalString);
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Following_the_301_reaches_the_resource(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");
        await hub.Http.PublishManyAsync(topic, 3);

        using var moved = await hub.Http.GetAsync($"/topics/{topic}/messages?after=1");
        Assert.Equal(HttpStatusCode.MovedPermanently, moved.StatusCode);
        var page = await hub.Http.GetJsonOkAsync(moved.Headers.Location!.OriginalString);

        Assert.Equal([2L, 3L], page.Offsets());
    }

    [Theory]
    [InlineData("/v1/nothing-here")]
    [InlineData("/v1/topics/orders/messages/1/payload/extra")]
    [InlineData("/v2/topics")]
    [InlineData("/favicon.ico")]
    public async Task An_unknown_route_answers_404_route_not_found(string path)
    {
        await using var hub = await TestHub.StartAsync("memory");

        using var response = await hub.Http.GetAsync(path);

        await Problem.AssertAsync(response, 404, "route-not-found", "no resource", "/v1");
    }

    [Theory]
    [InlineData("DELETE", "/v1/topics/orders/messages")]
    [InlineData("POST", "/v1/topics")]
    [InlineData("POST", "/v1/topics/orders")]
    [InlineData("PUT", "/v1/topics/orders/messages/1")]
    [InlineData("DELETE", "/healthz")]
    public async Task A_method_the_resource_does_not_offer_answers_405(string method, string path)
    {
        await using var hub = await TestHub.StartAsync("memory");
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method is "POST" or "PUT")
        {
            request.Content = Http.Json("{}");
        }

        using var response = await hub.Http.SendAsync(request);

        await Problem.AssertAsync(response, 405, "method-not-allowed", method, "not allowed");
    }

    [Theory]
    [MemberData(nameof(Engines.Both), MemberType = typeof(Engines))]
    public async Task Head_answers_like_get_without_a_body(string engine)
    {
        await using var hub = await TestHub.StartAsync(engine);
        var topic = Names.Unique("orders");
        await hub.Http.PublishOkAsync(topic, "1");

        using var head = await hub.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v1/topics/{topic}"));
        using var get = await hub.Http.GetAsync($"/v1/topics/{topic}");

        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(get.Headers.ETag, head.Headers.ETag);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Liveness_and_readiness_answer_200_when_the_hub_is_ready()
    {
        await using var hub = await TestHub.StartAsync("sqlite");

        var live = await hub.Http.GetJsonOkAsync("/healthz");
        var ready = await hub.Http.GetJsonOkAsync("/readyz");

        Assert.Equal("live", live.GetProperty("status").GetString());
        Assert.Equal("ready", ready.GetProperty("status").GetString());
        Assert.Equal(hub.Engine, ready.GetProperty("engine").GetString());
        Assert.Equal(("ok", "single node"), (ready.GetProperty("checks").GetProperty("storage").GetString(), ready.GetProperty("checks").GetProperty("backplane").GetString()));
    }

    [Fact]
    public async Task The_error_table_names_an_unknown_code_with_404()
    {
        await using var hub = await TestHub.StartAsync("memory");

        using var response = await hub.Http.GetAsync("/v1/errors/no-such-code");

        await Problem.AssertAsync(response, 404, "route-not-found", "no-such-code");
    }
}
