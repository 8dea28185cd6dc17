using System.Net;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Switchboard.Protocol.V1;
using static Switchboard.Protocol.V1.Switchboard;

namespace Switchboard.Grpc.Tests;

/// <summary>
/// The gRPC adapter fed bad input as a skeptical client would: every refusal is a precise status whose message names the
/// field to fix, and nothing is left half-done.
/// </summary>
public sealed class BadInputReviewTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private static ByteString Json(object value) => ByteString.CopyFromUtf8(JsonSerializer.Serialize(value));

    private static async Task<int> QueueDepthAsync(TestHub hub, string queue)
    {
        using var response = await hub.Http.GetAsync($"/v1/queues/{queue}");
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return 0;
        }
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("stats").GetProperty("ready").GetInt32();
    }

    [Fact]
    public async Task A_send_with_an_oversized_reply_to_or_correlation_id_is_invalid_argument_naming_the_field_and_the_limit_on_every_protocol()
    {
        await using var hub = await TestHub.StartAsync();
        using var channel = GrpcChannel.ForAddress(hub.Address);
        var client = new SwitchboardClient(channel);
        using var timeout = new CancellationTokenSource(Limit);
        var tooLong = new string('r', 256);

        var unary = await Assert.ThrowsAsync<RpcException>(() => client.SendAsync(new SendRequest { Queue = "rt.jobs", Payload = Json(1), ReplyTo = tooLong }, cancellationToken: timeout.Token).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, unary.StatusCode);
        Assert.Contains("reply_to", unary.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("255", unary.Status.Detail, StringComparison.Ordinal);
        var correlation = await Assert.ThrowsAsync<RpcException>(() => client.SendAsync(new SendRequest { Queue = "rt.jobs", Payload = Json(1), CorrelationId = tooLong }, cancellationToken: timeout.Token).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, correlation.StatusCode);
        Assert.Contains("correlation_id", correlation.Status.Detail, StringComparison.Ordinal);

        // The multiplexed protocol (gRPC Connect, the WebSocket's frames) goes through the same rule.
        using (var call = client.Connect(cancellationToken: timeout.Token))
        {
            await call.RequestStream.WriteAsync(new ClientFrame { Id = "s", Send = new SendRequest { Queue = "rt.jobs", Payload = Json(1), ReplyTo = "ctl\u0001" } });
            Assert.True(await call.ResponseStream.MoveNext(timeout.Token));
            Assert.Equal("s", call.ResponseStream.Current.Id);
            Assert.Equal("validation-failed", call.ResponseStream.Current.Error.Code);
            Assert.Contains("reply_to", call.ResponseStream.Current.Error.Message, StringComparison.Ordinal);
            await call.RequestStream.CompleteAsync();
        }

        // The longest allowed one is taken, and nothing of the refused ones was stored.
        var sent = await client.SendAsync(new SendRequest { Queue = "rt.jobs", Payload = Json(1), ReplyTo = tooLong[..255], CorrelationId = tooLong[..255] }, cancellationToken: timeout.Token);
        Assert.False(sent.Replayed);
        Assert.Equal(1, await QueueDepthAsync(hub, "rt.jobs"));
    }

    /// <summary>
    /// Durations out of range named the hub's JSON spelling ("delay", "lease": Extend also has a lease token) and showed
    /// the value clamped to ten years; a negative request timeout was told the ranges of delays and leases.
    /// </summary>
    [Fact]
    public async Task A_duration_out_of_range_is_invalid_argument_naming_the_protobuf_field_and_the_value_sent()
    {
        await using var hub = await TestHub.StartAsync();
        using var channel = GrpcChannel.ForAddress(hub.Address);
        var client = new SwitchboardClient(channel);
        using var timeout = new CancellationTokenSource(Limit);
        await client.SendAsync(new SendRequest { Queue = "rt.leased", Payload = Json(1) }, cancellationToken: timeout.Token);

        async Task RefusedAsync(Func<Task> call, params string[] words)
        {
            var refused = await Assert.ThrowsAsync<RpcException>(call);
            Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
            foreach (var word in words)
            {
                Assert.Contains(word, refused.Status.Detail, StringComparison.Ordinal);
            }
        }
        await RefusedAsync(() => client.SendAsync(new SendRequest { Queue = "rt.jobs", Payload = Json(1), DelaySeconds = 8 * 86400 }, cancellationToken: timeout.Token).ResponseAsync,
            "delay_seconds is 691200", "7d");
        await RefusedAsync(() => client.ExtendAsync(new ExtendRequest { Queue = "rt.leased", Id = "1", Lease = "x", LeaseSeconds = long.MaxValue }, cancellationToken: timeout.Token).ResponseAsync,
            "lease_seconds is 9223372036854775807", "12h");
        await RefusedAsync(() => client.NackAsync(new NackRequest { Queue = "rt.leased", Id = "1", Lease = "x", DelaySeconds = 86400 * 30 }, cancellationToken: timeout.Token).ResponseAsync,
            "delay_seconds is 2592000");
        await RefusedAsync(async () =>
        {
            using var receive = client.Receive(new ReceiveRequest { Queue = "rt.leased", LeaseSeconds = 86400 }, cancellationToken: timeout.Token);
            await receive.ResponseStream.MoveNext(timeout.Token);
        }, "lease_seconds is 86400");
        var negative = await Assert.ThrowsAsync<RpcException>(() => client.RequestAsync(new RequestRequest { Queue = "rt.rpc", Payload = Json(1), TimeoutSeconds = -1 }, cancellationToken: timeout.Token).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, negative.StatusCode);
        Assert.Contains("timeout_seconds is -1", negative.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("lease", negative.Status.Detail, StringComparison.Ordinal);

        // Connect (and the WebSocket's protobuf frames) name the frame's field the same way.
        using (var call = client.Connect(cancellationToken: timeout.Token))
        {
            await call.RequestStream.WriteAsync(new ClientFrame { Id = "d", Send = new SendRequest { Queue = "rt.jobs", Payload = Json(1), DelaySeconds = long.MaxValue } });
            await call.RequestStream.WriteAsync(new ClientFrame { Id = "e", Extend = new ExtendRequest { Queue = "rt.leased", Id = "1", Lease = "x", LeaseSeconds = 43201 } });
            foreach (var (id, words) in new[] { ("d", "send.delay_seconds is "), ("e", "extend.lease_seconds is ") })
            {
                Assert.True(await call.ResponseStream.MoveNext(timeout.Token));
                Assert.Equal(id, call.ResponseStream.Current.Id);
                Assert.Equal("invalid-request", call.ResponseStream.Current.Error.Code);
                Assert.Contains(words, call.ResponseStream.Current.Error.Message, StringComparison.Ordinal);
            }
            await call.RequestStream.CompleteAsync();
        }

        // Nothing was sent, and the leased queue's message is untouched.
        Assert.Equal(0, await QueueDepthAsync(hub, "rt.jobs"));
        Assert.Equal(1, await QueueDepthAsync(hub, "rt.leased"));
    }

    /// <summary>
    /// Receive is a stream that waits for messages while it is open: wait_seconds ("for unary receives", of which gRPC has
    /// none) was silently ignored there. It is refused, naming the field, before anything is leased.
    /// </summary>
    [Fact]
    public async Task A_receive_stream_with_a_wait_is_invalid_argument_naming_wait_seconds_and_leases_nothing()
    {
        await using var hub = await TestHub.StartAsync();
        using var channel = GrpcChannel.ForAddress(hub.Address);
        var client = new SwitchboardClient(channel);
        using var timeout = new CancellationTokenSource(Limit);
        await client.SendAsync(new SendRequest { Queue = "rt.waited", Payload = Json(1) }, cancellationToken: timeout.Token);

        var refused = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            using var receive = client.Receive(new ReceiveRequest { Queue = "rt.waited", WaitSeconds = 5 }, cancellationToken: timeout.Token);
            await receive.ResponseStream.MoveNext(timeout.Token);
        });
        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.StartsWith("wait_seconds is 5;", refused.Status.Detail, StringComparison.Ordinal);

        using (var call = client.Connect(cancellationToken: timeout.Token))
        {
            await call.RequestStream.WriteAsync(new ClientFrame { Id = "r", Receive = new ReceiveRequest { Queue = "rt.waited", Max = 1, WaitSeconds = 5 } });
            Assert.True(await call.ResponseStream.MoveNext(timeout.Token));
            Assert.Equal("r", call.ResponseStream.Current.Id);
            Assert.Equal("invalid-request", call.ResponseStream.Current.Error.Code);
            Assert.StartsWith("receive.wait_seconds is 5;", call.ResponseStream.Current.Error.Message, StringComparison.Ordinal);
            await call.RequestStream.CompleteAsync();
        }
        Assert.Equal(1, await QueueDepthAsync(hub, "rt.waited"));
    }
}
