using System.Net;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Switchboard.Protocol.V1;
using static Switchboard.Protocol.V1.Switchboard;

namespace Switchboard.Grpc.Tests;

/// <summary>Request/reply over gRPC as a skeptical client uses it: half-closed Connect streams, missing fields.</summary>
public sealed class RequestReplyReviewTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private static ByteString Json(object value) => ByteString.CopyFromUtf8(JsonSerializer.Serialize(value));

    /// <summary>The replyTo of the next request on <paramref name="queue"/>, received over REST.</summary>
    private static async Task<string> ReceiveReplyToAsync(TestHub hub, string queue, CancellationToken cancellationToken)
    {
        using var received = await hub.Http.PostAsync($"/v1/queues/{queue}/receive?wait=30", null, cancellationToken);
        Assert.True(received.IsSuccessStatusCode, await received.Content.ReadAsStringAsync(cancellationToken));
        using var body = JsonDocument.Parse(await received.Content.ReadAsStringAsync(cancellationToken));
        return body.RootElement.GetProperty("messages")[0].GetProperty("replyTo").GetString()!;
    }

    [Fact]
    public async Task A_Connect_stream_half_closed_after_a_request_still_gets_the_reply_when_it_comes_late()
    {
        await using var hub = await TestHub.StartAsync();
        using var channel = GrpcChannel.ForAddress(hub.Address);
        var client = new SwitchboardClient(channel);
        using var timeout = new CancellationTokenSource(Limit);
        using (var created = await hub.Http.PutAsync("/v1/queues/slow", null, timeout.Token))
        {
            Assert.True(created.IsSuccessStatusCode);
        }
        using var call = client.Connect(cancellationToken: timeout.Token);

        // A requester that has nothing more to send half-closes and reads on: its request is answered "whenever that comes".
        await call.RequestStream.WriteAsync(new ClientFrame { Id = "ask", Request = new RequestRequest { Queue = "slow", Payload = Json("q"), TimeoutSeconds = 30 } });
        await call.RequestStream.CompleteAsync();
        var replyTo = await ReceiveReplyToAsync(hub, "slow", timeout.Token);

        // The responder takes longer than the few seconds the hub gave in-flight operations when a stream ended (5 s);
        // the reply goes out as soon as the call ends, which is what the hub used to do before it came.
        var next = call.ResponseStream.MoveNext(timeout.Token);
        await Task.WhenAny(next, Task.Delay(TimeSpan.FromSeconds(7), timeout.Token));
        using (var answered = await hub.Http.PostAsync($"/v1/replies/{replyTo}", new StringContent("""{"payload":"a"}""", Encoding.UTF8, "application/json"), timeout.Token))
        {
            Assert.Equal(HttpStatusCode.NoContent, answered.StatusCode);
        }

        Assert.True(await next, "the call ended before the reply came: the reply was accepted (204) and lost");
        Assert.Equal("ask", call.ResponseStream.Current.Id);
        Assert.Equal("\"a\"", call.ResponseStream.Current.Reply.Payload.ToStringUtf8());
        Assert.False(await call.ResponseStream.MoveNext(timeout.Token)); // then the call ends cleanly
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task A_reply_without_a_request_id_is_invalid_argument_naming_the_field_not_an_unknown_request()
    {
        await using var hub = await TestHub.StartAsync();
        using var channel = GrpcChannel.ForAddress(hub.Address);
        var client = new SwitchboardClient(channel);
        using var timeout = new CancellationTokenSource(Limit);

        // proto3 cannot tell an unset string from an empty one: "" is the missing field (the JSON frame's missing
        // requestId is invalid-request too), not a request id that no request has.
        var unary = await Assert.ThrowsAsync<RpcException>(() => client.RespondAsync(new ReplyRequest { Payload = Json(1) }, cancellationToken: timeout.Token).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, unary.StatusCode);
        Assert.Equal("invalid-request", unary.Trailers.GetValue("switchboard-error"));
        Assert.Contains("request_id", unary.Status.Detail, StringComparison.Ordinal);

        using var call = client.Connect(cancellationToken: timeout.Token);
        await call.RequestStream.WriteAsync(new ClientFrame { Id = "p", Reply = new ReplyRequest { Payload = Json(1) } });
        Assert.True(await call.ResponseStream.MoveNext(timeout.Token));
        Assert.Equal("p", call.ResponseStream.Current.Id);
        Assert.Equal("invalid-request", call.ResponseStream.Current.Error.Code);
        Assert.Contains("reply.request_id", call.ResponseStream.Current.Error.Message, StringComparison.Ordinal);
        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext(timeout.Token));
    }
}
