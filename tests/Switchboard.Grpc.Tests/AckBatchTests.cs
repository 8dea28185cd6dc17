using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Switchboard.Protocol.V1;
using static Switchboard.Protocol.V1.Switchboard;

namespace Switchboard.Grpc.Tests;

/// <summary>
/// The AckBatch call with the generated .NET client: a received batch settled in one call, each ack standing alone,
/// and a malformed batch refused whole (nothing acked).
/// </summary>
public sealed class AckBatchTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_batch_acks_what_it_can_frees_the_stream_credits_and_reports_each_failure_alone()
    {
        await using var hub = await TestHub.StartAsync(sqlite: true);
        using var channel = GrpcChannel.ForAddress(hub.Address);
        var client = new SwitchboardClient(channel);
        for (var i = 1; i <= 6; i++)
        {
            await client.SendAsync(new SendRequest { Queue = "g.batch", Payload = ByteString.CopyFromUtf8(JsonSerializer.Serialize(i)) });
        }
        using var timeout = new CancellationTokenSource(Limit);
        using var consumer = client.Receive(new ReceiveRequest { Queue = "g.batch", Max = 4, LeaseSeconds = 60 }, cancellationToken: timeout.Token);
        var taken = new List<QueueMessage>();
        while (taken.Count < 4 && await consumer.ResponseStream.MoveNext(timeout.Token))
        {
            taken.Add(consumer.ResponseStream.Current);
        }
        Assert.Equal(["1", "2", "3", "4"], taken.Select(m => m.Id));

        // 1 and 2 with their leases, 3 with 4's lease, and an id that was never sent.
        var reply = await client.AckBatchAsync(new AckBatchRequest
        {
            Queue = "g.batch",
            Messages =
            {
                new AckBatchItem { Id = "1", Lease = taken[0].Lease },
                new AckBatchItem { Id = "2", Lease = taken[1].Lease },
                new AckBatchItem { Id = "3", Lease = taken[3].Lease },
                new AckBatchItem { Id = "99", Lease = taken[3].Lease },
            },
        }, cancellationToken: timeout.Token);
        Assert.Equal("g.batch", reply.Queue);
        Assert.Equal(["1", "2"], reply.Acked);
        Assert.Equal([("3", "lease-mismatch", 409), ("99", "message-not-found", 404)], reply.Failed.Select(f => (f.Id, f.Error.Code, f.Error.Status)));
        var single = await Assert.ThrowsAsync<RpcException>(() => client.AckAsync(new AckRequest { Queue = "g.batch", Id = "3", Lease = taken[3].Lease }, cancellationToken: timeout.Token).ResponseAsync);
        Assert.Contains(reply.Failed[0].Error.Message, single.Status.Detail, StringComparison.Ordinal); // the words its own Ack answers

        // Two credits came back: 5 and 6 arrive on the same stream.
        for (var expected = 5; expected <= 6; expected++)
        {
            Assert.True(await consumer.ResponseStream.MoveNext(timeout.Token));
            Assert.Equal(expected.ToString(System.Globalization.CultureInfo.InvariantCulture), consumer.ResponseStream.Current.Id);
        }
        var stats = (await JsonDocument.ParseAsync(await hub.Http.GetStreamAsync("/v1/queues/g.batch"))).RootElement.GetProperty("stats");
        Assert.Equal((0, 4), (stats.GetProperty("ready").GetInt32(), stats.GetProperty("leased").GetInt32())); // 3, 4, 5, 6
    }

    [Fact]
    public async Task A_malformed_batch_is_refused_whole_and_acks_nothing()
    {
        await using var hub = await TestHub.StartAsync();
        using var channel = GrpcChannel.ForAddress(hub.Address);
        var client = new SwitchboardClient(channel);
        await client.SendAsync(new SendRequest { Queue = "g.bad", Payload = ByteString.CopyFromUtf8("1") });
        await client.SendAsync(new SendRequest { Queue = "g.bad", Payload = ByteString.CopyFromUtf8("2") });
        using var timeout = new CancellationTokenSource(Limit);
        using var consumer = client.Receive(new ReceiveRequest { Queue = "g.bad", Max = 2, LeaseSeconds = 60 }, cancellationToken: timeout.Token);
        var taken = new List<QueueMessage>();
        while (taken.Count < 2 && await consumer.ResponseStream.MoveNext(timeout.Token))
        {
            taken.Add(consumer.ResponseStream.Current);
        }
        AckBatchItem Good(int i) => new() { Id = taken[i].Id, Lease = taken[i].Lease };

        var cases = new (AckBatchRequest Request, StatusCode Status, string Says)[]
        {
            (new() { Queue = "g.bad" }, StatusCode.InvalidArgument, "1 to 1000"),
            (new() { Queue = "g.bad", Messages = { Good(0), new AckBatchItem { Id = "x", Lease = taken[1].Lease } } }, StatusCode.InvalidArgument, "messages[1].id 'x' is not a message id"),
            (new() { Queue = "g.bad", Messages = { Good(0), new AckBatchItem { Id = taken[1].Id } } }, StatusCode.InvalidArgument, "lease"),
            (new() { Queue = "g.bad", Messages = { Good(0), Good(0) } }, StatusCode.InvalidArgument, "twice"),
            (new() { Queue = "g.bad", Messages = { Enumerable.Range(1, 1001).Select(i => new AckBatchItem { Id = i.ToString(System.Globalization.CultureInfo.InvariantCulture), Lease = taken[0].Lease }) } }, StatusCode.InvalidArgument, "1 to 1000"),
            (new() { Queue = "no.such.queue", Messages = { Good(0) } }, StatusCode.NotFound, "no.such.queue"),
            (new() { Queue = "bad name!", Messages = { Good(0) } }, StatusCode.InvalidArgument, "bad name!"),
            (new() { Queue = "g.bad", Messages = { new AckBatchItem { Id = new string('x', 200_000), Lease = taken[0].Lease } } }, StatusCode.InvalidArgument, "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…' is not a message id"),
        };
        foreach (var (request, status, says) in cases)
        {
            var refused = await Assert.ThrowsAsync<RpcException>(() => client.AckBatchAsync(request, cancellationToken: timeout.Token).ResponseAsync);
            Assert.True(refused.StatusCode == status && refused.Status.Detail.Contains(says, StringComparison.Ordinal), $"{request}: {refused.StatusCode} {refused.Status.Detail}");
        }
        var stats = (await JsonDocument.ParseAsync(await hub.Http.GetStreamAsync("/v1/queues/g.bad"))).RootElement.GetProperty("stats");
        Assert.Equal(2, stats.GetProperty("leased").GetInt32()); // nothing was acked by a refused batch

        var good = await client.AckBatchAsync(new AckBatchRequest { Queue = "g.bad", Messages = { Good(0), Good(1) } }, cancellationToken: timeout.Token);
        Assert.Equal((2, 0), (good.Acked.Count, good.Failed.Count));
    }
}
