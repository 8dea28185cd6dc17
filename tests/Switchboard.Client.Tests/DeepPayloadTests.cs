using System.Net;
using System.Text;

namespace Switchboard.Client.Tests;

/// <summary>
/// How deep a JSON payload may nest is one limit on every protocol (64 levels), and whatever the hub accepts every
/// transport delivers and the client reads: before, REST took 63 levels, gRPC 255, and a payload of 63 reached the
/// client inside a frame 65 deep, which its reader refused — a consumer stuck on that message for good.
/// </summary>
public sealed class DeepPayloadTests(MemoryHub fixture) : IClassFixture<MemoryHub>
{
    private readonly TestHub _hub = fixture.Hub;

    private static string Nested(int depth) => new string('[', depth) + new string(']', depth);

    [Theory]
    [MemberData(nameof(Transports.Data), MemberType = typeof(Transports))]
    public async Task A_payload_as_deep_as_the_hub_accepts_is_published_and_delivered_on_every_transport(ClientTransport transport)
    {
        await using var client = await Tests.ConnectAsync(_hub.Address, transport);
        var topic = Tests.Name("deep");
        var inbox = new Inbox<Message>();
        await using var subscription = client.Subscribe(topic, inbox.Handle);
        await subscription.Ready.WaitAsync(Tests.Limit);

        var deepest = Nested(64);
        await client.PublishAsync(topic, Payload.RawJson(Encoding.UTF8.GetBytes(deepest))); // over this transport's publish path
        var message = Assert.Single(await inbox.CountAsync(1));
        Assert.Equal(deepest, Encoding.UTF8.GetString(message.Payload.Data.Span));
    }

    [Theory]
    [InlineData("""{"payload": DEEP}""")]
    [InlineData("""{"messages": [{"payload": 1}, {"payload": DEEP}]}""")]
    public async Task A_payload_one_level_deeper_is_refused_saying_the_limit_and_nothing_is_stored(string envelope)
    {
        var topic = Tests.Name("deeper");
        using var http = new HttpClient { BaseAddress = _hub.Address };
        using var refused = await http.PostAsync($"/v1/topics/{topic}/messages", new StringContent(envelope.Replace("DEEP", Nested(65), StringComparison.Ordinal), Encoding.UTF8, "application/json"));
        var detail = await refused.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("invalid-json", detail, StringComparison.Ordinal);
        Assert.Contains("more than 64 levels", detail, StringComparison.Ordinal);
        using var absent = await http.GetAsync($"/v1/topics/{topic}");
        Assert.Equal(HttpStatusCode.NotFound, absent.StatusCode);
    }
}
