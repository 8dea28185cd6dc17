using System.Net;

namespace Switchboard.RealTime.Tests;

/// <summary>
/// The one fan-out path, seen from every side: for each pair (publish over REST, WebSocket or gRPC; receive over
/// WebSocket JSON (full or compact envelope), protobuf or plain, SSE, long polling, polling or gRPC Subscribe) the same 1,000 messages arrive in order, none
/// lost, none duplicated — including across a disconnect and resume in the middle while publishing goes on.
/// </summary>
public sealed class CrossProtocolTests
{
    private const int Count = 1000;

    public static TheoryData<string, string> Pairs()
    {
        var pairs = new TheoryData<string, string>();
        foreach (var publisher in new[] { "rest", "ws", "grpc" })
        {
            foreach (var receiver in new[] { "ws-json", "ws-compact", "ws-proto", "ws-plain", "sse", "longpoll", "poll", "grpc" })
            {
                pairs.Add(publisher, receiver);
            }
        }
        return pairs;
    }

    [Theory]
    [MemberData(nameof(Pairs))]
    public async Task Every_message_arrives_once_in_order_across_a_resume(string publisher, string receiver)
    {
        await using var hub = await TestHub.StartAsync();
        await RunPairAsync(hub, publisher, receiver);
    }

    [Theory]
    [InlineData("rest", "sse")]
    [InlineData("ws", "ws-json")]
    [InlineData("grpc", "grpc")]
    public async Task The_same_holds_on_the_durable_engine(string publisher, string receiver)
    {
        await using var hub = await TestHub.StartAsync(sqlite: true);
        await RunPairAsync(hub, publisher, receiver);
    }

    private static async Task RunPairAsync(TestHub hub, string publisher, string receiver)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var topic = $"matrix.{publisher}.{receiver}";
        Assert.Equal(HttpStatusCode.Created, (await hub.Http.PutAsync($"/v1/topics/{topic}", null, timeout.Token)).StatusCode);
        var epoch = System.Text.Json.JsonDocument.Parse(await hub.Http.GetStringAsync($"/v1/topics/{topic}", timeout.Token)).RootElement.GetProperty("epoch").GetString();

        // The first half is published while the receiver reads; the receiver leaves half-way and comes back while
        // the second half is being published.
        var firstHalf = Publishers.PublishAsync(publisher, hub, topic, 1, Count / 2, timeout.Token);
        var reader = Receiver.Create(receiver, hub);
        var before = await reader.ReadAsync(topic, $"{epoch}:0", Count / 3, timeout.Token);
        await firstHalf;
        var secondHalf = Publishers.PublishAsync(publisher, hub, topic, Count / 2 + 1, Count, timeout.Token);
        var resumeFrom = $"{epoch}:{before[^1].Offset}";
        var after = await Receiver.Create(receiver, hub).ReadAsync(topic, resumeFrom, Count - before.Count, timeout.Token);
        await secondHalf;

        var all = before.Concat(after).ToList();
        Assert.Equal(Enumerable.Range(1, Count).Select(i => (long)i), all.Select(r => r.Offset));
        Assert.Equal(Enumerable.Range(1, Count), all.Select(r => r.Payload.GetProperty("i").GetInt32()));
        if (receiver != "ws-plain")
        {
            Assert.All(all, r => Assert.Equal(epoch, r.Epoch));
        }
    }
}
