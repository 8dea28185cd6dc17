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

    [Fact]
    public async Task Positions_kept_in_a_snapshot_resume_a_pattern_and_an_expired_one_is_refused_naming_what_to_do()
    {
        // One snapshot kept: the next one written drops it.
        await using var hub = await TestHub.StartAsync(settings: new Dictionary<string, string?> { ["Switchboard:Resume:SnapshotMaxCount"] = "1" });
        using var channel = GrpcChannel.ForAddress(hub.Address);
        var client = new SwitchboardClient(channel);
        for (var i = 0; i < 40; i++)
        {
            await client.PublishAsync(new PublishRequest { Topic = $"snap.t{i:D2}", Payload = ByteString.CopyFromUtf8("0") });
        }
        // A multi-topic event stream of 40 topics: its first id names a snapshot of their positions.
        var id = await FirstIdAsync(hub, "/v1/events?topic=snap.*");
        Assert.StartsWith("p2.", id, StringComparison.Ordinal);
        await client.PublishAsync(new PublishRequest { Topic = "snap.t07", Payload = ByteString.CopyFromUtf8("1") });

        using (var timeout = new CancellationTokenSource(Limit))
        {
            using var call = client.Subscribe(new SubscribeRequest { Topics = { "snap.*" }, Positions = id }, cancellationToken: timeout.Token);
            Assert.True(await call.ResponseStream.MoveNext(timeout.Token));
            Assert.Equal(("snap.t07", 2L), (call.ResponseStream.Current.Topic, call.ResponseStream.Current.Offset));
        }

        await FirstIdAsync(hub, "/v1/events?topic=snap.*"); // another stream's snapshot: the first one is dropped
        using (var timeout = new CancellationTokenSource(Limit))
        {
            using var call = client.Subscribe(new SubscribeRequest { Topics = { "snap.*" }, Positions = id }, cancellationToken: timeout.Token);
            var refused = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(timeout.Token));
            Assert.Equal(StatusCode.NotFound, refused.StatusCode);
            Assert.Contains("retention removed", refused.Status.Detail, StringComparison.Ordinal);
            Assert.Contains("without it", refused.Status.Detail, StringComparison.Ordinal);
        }
    }

    private static async Task<string> FirstIdAsync(TestHub hub, string path)
    {
        using var response = await hub.Http.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                return line["id: ".Length..];
            }
        }
        throw new InvalidOperationException("the stream ended before its first id");
    }
}
