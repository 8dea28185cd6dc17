using Switchboard.Security.Tests.Support;
using static Switchboard.Security.Tests.Matrix.MatrixHub;

namespace Switchboard.Security.Tests.Matrix;

/// <summary>
/// The authorization matrix over plain WebSockets (/v1/topics/{t}/ws): connecting subscribes (subscribe:TOPIC), each
/// frame sent publishes (publish:TOPIC as well); a refusal closes the socket with 4401 / 4403 and the reason.
/// </summary>
public sealed class PlainWebSocketMatrixTests(MatrixHub hub, ITestOutputHelper output) : IClassFixture<MatrixHub>
{
    [Theory]
    [MemberData(nameof(Principals.Names), MemberType = typeof(Principals))]
    public Task Plain_WebSockets_answer_as_the_policy_says(string principal)
        => Cells.RunAsync("WebSocket plain", Principals.Named(principal), [.. Topics.SelectMany(PlainCells)], output);

    private IEnumerable<Cell> PlainCells(string topic)
    {
        var subscribe = new Requirement(Need.Subscribe, topic);
        yield return new("subscribe", topic, subscribe, async (p, ct) =>
        {
            // From offset 0: an allowed subscription proves itself with the retained history.
            await using var link = await WebSocketLink.ConnectAsync(hub.Hub.WebSocketAddress($"/v1/topics/{topic}/ws?after=0"), null, p.Credential, ct);
            var first = await link.NextAsync(ct);
            return first.Kind == "payload" ? Observed.Allowed : FrameCells.FromEnd(first);
        });
        yield return new("publish", topic, [subscribe, new Requirement(Need.Publish, topic)], async (p, ct) =>
        {
            await using var link = await WebSocketLink.ConnectAsync(hub.Hub.WebSocketAddress($"/v1/topics/{topic}/ws"), null, p.Credential, ct);
            var marker = Cells.Marker();
            await link.SendTextAsync($$"""{"marker": "{{marker}}"}""", ct);
            while (true)
            {
                // The socket is subscribed to the topic: an allowed publish comes back on it.
                var answer = await link.NextAsync(ct);
                if (answer.Kind == "closed")
                {
                    return FrameCells.FromEnd(answer);
                }
                if (answer.Text?.Contains(marker, StringComparison.Ordinal) == true)
                {
                    return Observed.Allowed;
                }
            }
        });
    }
}

/// <summary>
/// The authorization matrix over Server-Sent Events, the credential in <c>?access_token=</c> as EventSource must send
/// it: one topic (/v1/topics/{t}/events) and topics or patterns (/v1/events?topic=…).
/// </summary>
public sealed class SseMatrixTests(MatrixHub hub, ITestOutputHelper output) : IClassFixture<MatrixHub>
{
    [Theory]
    [MemberData(nameof(Principals.Names), MemberType = typeof(Principals))]
    public Task Event_streams_answer_as_the_policy_says(string principal)
        => Cells.RunAsync("SSE", Principals.Named(principal), [.. Topics.Select(OneTopic), .. Subscriptions.Select(ManyTopics)], output);

    private static string Token(Principal principal) => principal.Credential is { } credential ? "access_token=" + Uri.EscapeDataString(credential) : "";

    private Cell OneTopic(string topic) => new("events", topic, new Requirement(Need.Subscribe, topic), async (p, ct) =>
    {
        var (stream, refused) = await SseStream.OpenAsync(hub.Hub.Http, $"/v1/topics/{topic}/events?after=0&{Token(p)}", ct);
        if (stream is null)
        {
            return refused;
        }
        await using (stream)
        {
            return await stream.ReadUntilAsync(line => line.StartsWith("data:", StringComparison.Ordinal), ct) is null
                ? Observed.Broken("the stream ended without an event")
                : Observed.Allowed;
        }
    });

    private Cell ManyTopics(string[] topics) => new("events?topic=", string.Join(" + ", topics), [.. topics.Select(t => new Requirement(Need.Subscribe, t))], async (p, ct) =>
    {
        var query = string.Join('&', topics.Select(t => "topic=" + Uri.EscapeDataString(t)));
        var (stream, refused) = await SseStream.OpenAsync(hub.Hub.Http, $"/v1/events?{query}&{Token(p)}", ct);
        if (stream is null)
        {
            return refused;
        }
        await using (stream)
        {
            // The first block (retry: and the positions) is written once the subscription exists; what is published
            // after it must arrive.
            if (await stream.ReadUntilAsync(line => line.Length == 0, ct) is null)
            {
                return Observed.Broken("the stream ended before its first block");
            }
            var marker = Cells.Marker();
            await hub.PublishAsync(Sample(topics[^1]), marker);
            return await stream.ReadUntilAsync(line => line.StartsWith("data:", StringComparison.Ordinal) && line.Contains(marker, StringComparison.Ordinal), ct) is null
                ? Observed.Broken("the stream ended without the message published")
                : Observed.Allowed;
        }
    });
}
