using System.Buffers.Text;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Switchboard.Protocol.V1;
using static Switchboard.Protocol.V1.Switchboard;

namespace Switchboard.Grpc.Tests;

/// <summary>SubscribeRequest.positions: a pattern resumes with each topic after its own position (the .NET client relies on it).</summary>
public sealed class PositionsTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    private static string Token(params (string Topic, string Position)[] positions)
        => "p1." + Base64Url.EncodeToString(Encoding.UTF8.GetBytes(string.Concat(positions.Select(p => $"{p.Topic} {p.Position}\n"))));

    [Fact]
    public async Task A_pattern_resumes_each_listed_topic_after_its_position_and_every_other_from_its_start()
    {
        await using var hub = await TestHub.StartAsync();
        using var channel = GrpcChannel.ForAddress(hub.Address);
        var client = new SwitchboardClient(channel);
        var epochA = "";
        for (var i = 1; i <= 3; i++)
        {
            epochA = (await client.PublishAsync(new PublishRequest { Topic = "pos.a", Payload = ByteString.CopyFromUtf8($"{i}") })).Epoch;
        }
        for (var i = 1; i <= 2; i++)
        {
            await client.PublishAsync(new PublishRequest { Topic = "pos.b", Payload = ByteString.CopyFromUtf8($"{10 + i}") });
        }

        using var timeout = new CancellationTokenSource(Limit);
        using var call = client.Subscribe(new SubscribeRequest { Topics = { "pos.*" }, Positions = Token(("pos.a", $"{epochA}:2")) }, cancellationToken: timeout.Token);
        var seen = new List<string>();
        while (seen.Count < 3 && await call.ResponseStream.MoveNext(timeout.Token))
        {
            seen.Add($"{call.ResponseStream.Current.Topic}:{call.ResponseStream.Current.Offset}");
        }
        Assert.Equal(["pos.a:3", "pos.b:1", "pos.b:2"], seen.Order());
    }

    [Fact]
    public async Task Positions_with_after_offset_or_a_token_the_hub_did_not_issue_are_refused_with_invalid_argument()
    {
        await using var hub = await TestHub.StartAsync();
        using var channel = GrpcChannel.ForAddress(hub.Address);
        var client = new SwitchboardClient(channel);
        foreach (var request in new[]
        {
            new SubscribeRequest { Topics = { "pos.*" }, Positions = Token(("pos.a", "1")), AfterOffset = 0 },
            new SubscribeRequest { Topics = { "pos.*" }, Positions = "p1.!!not-base64" },
            new SubscribeRequest { Topics = { "pos.*" }, Positions = "not-a-token" },
        })
        {
            using var timeout = new CancellationTokenSource(Limit);
            using var call = client.Subscribe(request, cancellationToken: timeout.Token);
            var refused = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(timeout.Token));
            Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
            Assert.False(string.IsNullOrWhiteSpace(refused.Status.Detail));
        }
    }
}
